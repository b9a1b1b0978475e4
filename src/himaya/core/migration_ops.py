"""Migration operations that drop an index without touching the table.

Django turns ``db_index=False`` on a foreign key into a whole-table operation: SQLite copies
the table into a new one (every row of the blind index, the timeline…), PostgreSQL drops
the foreign key constraint and adds it back, checking every row under an exclusive lock.
Only the index needs to go. ``drop_field_index`` changes the field in Django's state and,
in the database, drops the field's own index and nothing else; ``drop_pattern_index`` drops
the second, ``varchar_pattern_ops`` index Django's PostgreSQL backend adds to an indexed
text column for ``LIKE 'x%'``, which Himaya never asks of those columns. Both can be
reversed. ``tests/core/test_indexes.py`` reads the catalogue after migrating.

These use the schema editor's index-naming methods, the ones Django used to create the
indexes, so the names match whatever Django release built the database.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from django.db import migrations, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

__all__ = ["drop_field_index", "drop_pattern_index"]


class _Editor(Protocol):
    """The schema editor's own index helpers (private to Django, absent from its stubs)."""

    connection: BaseDatabaseWrapper

    def execute(self, sql: Any, params: Any = ()) -> None: ...
    def _create_index_name(
        self, table_name: str, column_names: list[str], suffix: str = ""
    ) -> str: ...
    def _delete_index_sql(self, model: Any, name: str) -> Any: ...
    def _create_index_sql(self, model: Any, *, fields: list[Any]) -> Any: ...


def _own_index_name(schema_editor: BaseDatabaseSchemaEditor, model: Any, field: Any) -> str:
    """The name Django gave ``field``'s ``db_index`` index."""
    return _editor(schema_editor)._create_index_name(model._meta.db_table, [field.column])


def _editor(schema_editor: BaseDatabaseSchemaEditor) -> _Editor:
    return cast(_Editor, schema_editor)


def _index_names(schema_editor: BaseDatabaseSchemaEditor, table: str) -> set[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def drop_field_index(
    *, app_label: str, model_name: str, name: str, field: models.Field[Any, Any]
) -> migrations.SeparateDatabaseAndState:
    """``AlterField`` to ``field`` (the same field with ``db_index=False``) in the state; in
    the database only ``DROP INDEX`` of the index ``db_index`` had made (if it is there)."""

    def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        model = apps.get_model(app_label, model_name)
        index = _own_index_name(schema_editor, model, model._meta.get_field(name))
        if index in _index_names(schema_editor, model._meta.db_table):
            editor = _editor(schema_editor)
            editor.execute(editor._delete_index_sql(model, index))

    def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        model = apps.get_model(app_label, model_name)
        old = model._meta.get_field(name)
        index = _own_index_name(schema_editor, model, old)
        if index not in _index_names(schema_editor, model._meta.db_table):
            editor = _editor(schema_editor)
            editor.execute(editor._create_index_sql(model, fields=[old]))

    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
        database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
    )


def drop_pattern_index(*, app_label: str, model_name: str, name: str) -> migrations.RunPython:
    """On PostgreSQL, drop the ``LIKE`` prefix index of the text field ``name`` (Django
    adds it beside the field's unique or ``db_index`` index); elsewhere nothing. The state
    is unchanged: Django drops such an index with ``IF EXISTS`` when it alters the field,
    and adds it back if the column's type changes (``tests/core/test_indexes.py`` would
    then fail)."""

    def like_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> tuple[Any, str]:
        model = apps.get_model(app_label, model_name)
        column = model._meta.get_field(name).column
        return model, _editor(schema_editor)._create_index_name(
            model._meta.db_table, [column], suffix="_like"
        )

    def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model, index = like_index(apps, schema_editor)
        if index in _index_names(schema_editor, model._meta.db_table):
            editor = _editor(schema_editor)
            editor.execute(editor._delete_index_sql(model, index))

    def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model, index = like_index(apps, schema_editor)
        if index not in _index_names(schema_editor, model._meta.db_table):
            create = schema_editor._create_like_index_sql  # type: ignore[attr-defined]
            schema_editor.execute(create(model, model._meta.get_field(name)))

    return migrations.RunPython(forwards, backwards, elidable=False)
