"""New rows in one plain INSERT: the statement ``bulk_create`` writes, without the ORM.

``insert(objs)`` writes unsaved instances of one model the way ``QuerySet.bulk_create``
does — every value prepared by its own field (``pre_save`` with ``add=True``, then
``get_db_prep_save``), so sealed fields are sealed, ``auto_now_add`` is stamped and JSON is
adapted exactly as through the ORM — but it builds the SQL text once per database vendor,
model, columns and number of rows and keeps it, instead of compiling it through the query
machinery on every call. On a hot path that compiling cost more than running the statement:
an intake writes eight or so rows of as many models, and building those INSERTs through
``Model.save`` and ``bulk_create`` was a sixth of its CPU (bench/README.md, session 7).

What it does not do, on purpose: send signals (``pre_save``/``post_save``; Himaya
connects none to its models), handle conflicts, or write what it would write differently
from the ORM: expressions as values (``F()``, ``Now()``), saved or mixed instances, a given
auto-incremented key and multi-table inheritance are refused with ``TypeError``, and a
relation to an unsaved row with ``ValueError``, as ``bulk_create`` refuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

__all__ = ["insert", "insert_sql", "names"]

#: (vendor, model label, columns, rows, returning) → SQL text.
_SQL: dict[tuple[str, str, tuple[str, ...], int, bool], str] = {}


def names(model: type[models.Model]) -> tuple[str, dict[str, str]]:
    """The model's table and its fields' columns (by field name), quoted for this
    database: for the few hot statements written by hand (``cases.services``,
    ``accounts.tokens``), so that no table or column name is spelled twice."""
    qn = connection.ops.quote_name
    meta = model._meta
    return qn(meta.db_table), {f.name: qn(str(f.column)) for f in meta.concrete_fields}


def _pk(model: type[models.Model]) -> models.Field[Any, Any]:
    pk = model._meta.pk
    if pk is None:  # never for a concrete model; said to the type checker
        raise TypeError(f"{model._meta.label} has no primary key")
    return pk


def _columns(model: type[models.Model], *, with_pk: bool) -> list[models.Field[Any, Any]]:
    return [
        f
        for f in model._meta.concrete_fields
        if (with_pk or not f.primary_key) and not getattr(f, "generated", False)
    ]


def insert_sql(
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    rows: int,
    *,
    returning: bool = False,
) -> str:
    """``INSERT INTO <model's table> (<fields' columns>) VALUES (%s, …), …`` for ``rows``
    rows, ``RETURNING`` the primary key if asked; built once, then kept."""
    columns = tuple(str(f.column) for f in fields)
    key = (connection.vendor, model._meta.label, columns, rows, returning)
    sql = _SQL.get(key)
    if sql is None:
        qn = connection.ops.quote_name
        row = f"({', '.join(['%s'] * len(fields))})"
        sql = (
            f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(map(qn, columns))}) "  # noqa: S608  # nosec B608
            f"VALUES {', '.join([row] * rows)}"
        )
        if returning:
            sql += f" RETURNING {qn(str(_pk(model).column))}"
        sql = _SQL.setdefault(key, sql)
    return sql


def insert[M: models.Model](objs: Sequence[M]) -> Sequence[M]:
    """INSERT ``objs`` (unsaved instances of one concrete model) in one statement, in the
    caller's transaction, and mark them saved; an auto-incremented primary key is read back
    (``RETURNING``) and set on each instance, in order. Returns ``objs``.

    The instances' values are prepared as ``bulk_create`` prepares them, so what lands in
    the row is what the ORM would have written (tests/core/test_rows.py compares both)."""
    if not objs:
        return objs
    model = type(objs[0])
    meta = model._meta
    if meta.parents or meta.proxy or meta.abstract:
        raise TypeError(f"{meta.label}: rows.insert writes plain concrete models only")
    if any(type(obj) is not model for obj in objs):
        raise TypeError("rows.insert writes instances of one model at a time")
    pk = _pk(model)
    auto_pk = isinstance(pk, models.AutoField | models.BigAutoField | models.SmallAutoField)
    if auto_pk and any(obj.pk is not None for obj in objs):
        raise TypeError(f"{meta.label}: an auto-incremented key is the database's to give")
    fields = _columns(model, with_pk=not auto_pk)
    batch = max(1, connection.ops.bulk_batch_size(fields, objs))
    for start in range(0, len(objs), batch):
        _insert_batch(objs[start : start + batch], fields, auto_pk=auto_pk)
    return objs


def _insert_batch(
    objs: Sequence[models.Model], fields: Sequence[models.Field[Any, Any]], *, auto_pk: bool
) -> None:
    model = type(objs[0])
    meta, pk = model._meta, _pk(model)
    params: list[Any] = []
    for obj in objs:
        if not obj._state.adding:
            raise TypeError(f"{meta.label}: rows.insert writes new instances only")
        # What bulk_create does first: a relation to an unsaved row is refused (ValueError),
        # one to a row saved since the instance was made gets its key.
        obj._prepare_related_fields_for_save(operation_name="rows.insert")  # type: ignore[attr-defined]
        for field in fields:
            value = field.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"{meta.label}.{field.name}: expressions are not written here")
            params.append(field.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(insert_sql(model, fields, len(objs), returning=auto_pk), params)
        if auto_pk:
            # RETURNING gives the rows in the VALUES order on both databases (as
            # bulk_create relies on).
            for obj, (value,) in zip(objs, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, pk.to_python(value))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
