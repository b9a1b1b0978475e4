"""No index that the database maintains on every write and never needs.

Django gives every foreign key an index of its own, and on PostgreSQL every unique or
indexed text column a second, ``varchar_pattern_ops`` index for ``LIKE 'x%'``. Where a
composite index or a unique constraint already starts with the foreign key, its own index
only costs: each insert updates it, each backup copies it; and nothing here looks up a
case reference, a key's version or an audit hash by prefix. The other way round, no
foreign key may be left without an index that starts with it. Read from the migrated database
itself, on SQLite and on PostgreSQL, so an index added later (by a model or by hand in a
migration) is caught.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

#: Pattern indexes (PostgreSQL ``LIKE`` prefix look-ups) kept, with why: Django's default
#: on small or slow-growing tables, never on a table written on every intake or every read.
PATTERN_INDEXES_KEPT = {
    ("accounts_apiauththrottle", "key_digest"): "one row per failing client address",
    ("accounts_apitoken", "prefix"): "one row per API token",
    ("accounts_user", "username"): "one row per staff member (Django's user model)",
    ("accounts_usersession", "session_key"): "one row per sign-in",
    ("cases_evidence", "blob_name"): "one row per uploaded file",
    ("core_formsubmission", "key"): "one row per form post, swept",
    ("geo_commune", "code"): "reference data",
    ("geo_province", "code"): "reference data",
    ("geo_region", "code"): "reference data",
    ("network_agency", "code"): "reference data (the demo selects agencies by code prefix)",
    ("portal_codename", "lookup"): "one row per online report",
    ("portal_portalsession", "token_digest"): "one row per follow-up visit, swept",
}

#: Foreign keys with no index of their own, with why.
FOREIGN_KEYS_UNINDEXED = {
    ("cases_intakedraft", "submitted_case_id"): (
        "NULL until the draft is submitted; intake_draft_one_per_case, partial on NOT NULL, "
        "serves every look-up of a case's draft"
    ),
}


@dataclass(frozen=True, slots=True)
class IndexInfo:
    table: str
    name: str
    #: Column names in index order; ``None`` for an expression.
    columns: tuple[str | None, ...]
    unique: bool
    partial: bool
    pattern_ops: bool

    def serves(self, other: IndexInfo) -> bool:
        """Does this index answer every look-up ``other`` answers (same leading columns,
        same operator class, every row)?"""
        width = len(other.columns)
        return (
            self.name != other.name
            and not self.partial
            and self.pattern_ops == other.pattern_ops
            and None not in self.columns
            and self.columns[:width] == other.columns
        )


def our_tables() -> list[str]:
    """Tables of Himaya's own models (Django's and the auto-created many-to-many tables of
    its user model are Django's business)."""
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if model.__module__.startswith("himaya.")
        and model._meta.managed
        and not model._meta.auto_created
    )


_POSTGRESQL_INDEXES = """
SELECT t.relname, i.relname,
       ARRAY(SELECT a.attname
             FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
             LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
             ORDER BY k.n),
       x.indisunique,
       x.indpred IS NOT NULL,
       EXISTS (SELECT 1 FROM unnest(x.indclass) AS c(oid)
               JOIN pg_opclass o ON o.oid = c.oid
               WHERE o.opcname LIKE '%%pattern_ops')
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname = ANY(%s)
"""


def indexes() -> list[IndexInfo]:
    tables = our_tables()
    found = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRESQL_INDEXES, [tables])
            for table, name, columns, unique, partial, pattern in cursor.fetchall():
                found.append(IndexInfo(table, name, tuple(columns), unique, partial, pattern))
            return found
        for table in tables:
            cursor.execute(f"PRAGMA index_list({connection.ops.quote_name(table)})")
            for _seq, name, unique, _origin, partial in cursor.fetchall():
                cursor.execute(f"PRAGMA index_info({connection.ops.quote_name(name)})")
                columns = tuple(row[2] for row in sorted(cursor.fetchall()))
                found.append(IndexInfo(table, name, columns, bool(unique), bool(partial), False))
    return found


def test_the_catalogue_is_read() -> None:
    """The checks below would pass on an empty list: the catalogue must show the indexes
    we know are there (a composite one and a unique one)."""
    found = {(i.table, i.columns) for i in indexes()}
    assert ("core_blindindexentry", ("content_type_id", "object_id")) in found
    assert ("cases_unitcounter", ("unit_id", "year")) in found
    redundant = IndexInfo("t", "a", ("x",), False, False, False)
    wider = IndexInfo("t", "b", ("x", "y"), True, False, False)
    assert wider.serves(redundant)
    assert not redundant.serves(wider)
    assert not IndexInfo("t", "c", ("x", "y"), False, True, False).serves(redundant)


def test_no_index_is_served_by_another() -> None:
    every = indexes()
    redundant = sorted(
        f"{index.table}.{index.name} {index.columns} (served by {other.name})"
        for index in every
        if not index.unique and not index.partial and None not in index.columns
        for other in every
        if other.table == index.table and other.serves(index)
    )
    assert not redundant, "\n".join(redundant)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's pattern indexes")
def test_no_prefix_index_on_a_table_that_grows_with_the_work() -> None:
    unexpected = sorted(
        f"{index.table}.{index.name}"
        for index in indexes()
        if index.pattern_ops and (index.table, index.columns[0]) not in PATTERN_INDEXES_KEPT
    )
    assert not unexpected, unexpected


def test_every_foreign_key_leads_an_index() -> None:
    """Dropping a foreign key's own index is safe only where another index starts with it:
    look-ups by the key, and the checks a delete of the row it points to makes, use it."""
    leading = {(i.table, i.columns[0]) for i in indexes() if not i.partial}
    tables = set(our_tables())
    missing = sorted(
        f"{model._meta.db_table}.{field.column}"
        for model in apps.get_models()
        if model._meta.db_table in tables
        for field in model._meta.concrete_fields
        if field.is_relation
        and field.many_to_one
        and (model._meta.db_table, field.column) not in leading
        and (model._meta.db_table, field.column) not in FOREIGN_KEYS_UNINDEXED
    )
    assert not missing, missing
