"""``core.rows.insert``: the row bulk_create would write, in one statement, without the ORM."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F, signals
from django.test.utils import CaptureQueriesContext

from himaya.cases.models import (
    AgeRange,
    Alert,
    CaseFile,
    Consent,
    Dependant,
    Incident,
    Perpetrator,
    Survivor,
    TimelineEntry,
)
from himaya.core import rows
from himaya.core.actor import SYSTEM
from himaya.core.crypto import data_key_create
from himaya.core.models import DataKey
from tests.sealedapp.factories import fresh
from tests.sealedapp.models import Note, Person

pytestmark = pytest.mark.django_db


def person(name: str, **fields: object) -> Person:
    key = data_key_create(actor=SYSTEM, kind=DataKey.Kind.SURVIVOR)
    return Person(data_key=key, full_name=name, **fields)


def raw_row(model: type[Person] | type[Survivor], pk: object) -> tuple[object, ...]:
    table = connection.ops.quote_name(model._meta.db_table)
    column = model._meta.pk
    assert column is not None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {table} WHERE id = %s",  # noqa: S608 - test, fixed table
            [column.get_db_prep_value(pk, connection)],
        )
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


def test_rows_are_written_in_one_statement_and_read_back_as_the_orm_wrote_them() -> None:
    people = [
        person("Fatima Zahra Benali", phone="+212612345678", details={"a": [1, "ب"]}),
        person("Khadija Ait Lahcen", narrative="Her account, in her words.", label="x"),
        person("Nadia El Idrissi"),
    ]
    with CaptureQueriesContext(connection) as captured:
        rows.insert(people)
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["INSERT"]
    # The keys came back in the order of the instances, each one the row it names.
    assert all(p.pk is not None and not p._state.adding for p in people)
    for written in people:
        back = fresh(Person.objects.get(pk=written.pk))
        assert back.full_name == written.full_name
        assert back.phone == written.phone
        assert back.narrative == written.narrative
        assert back.details == written.details
        assert back.label == written.label
        assert back.data_key_id == written.data_key_id
    # Compared with the ORM's own row: the same columns hold the same kinds of values.
    orm = person("Nadia El Idrissi")
    Person.objects.bulk_create([orm])
    ours, theirs = raw_row(Person, people[2].pk), raw_row(Person, orm.pk)
    assert [type(v) for v in ours] == [type(v) for v in theirs]


def test_sealed_values_are_sealed_in_the_row() -> None:
    canary = "Canaryname Rowsinsert"
    (written,) = rows.insert([person(canary, phone="+212699887766")])
    stored = raw_row(Person, written.pk)
    as_text = repr(stored)
    assert "Canaryname" not in as_text
    assert "699887766" not in as_text


def test_a_uuid_key_and_auto_now_add_are_set_as_the_orm_sets_them() -> None:
    key = data_key_create(actor=SYSTEM, kind=DataKey.Kind.SURVIVOR)
    survivor = Survivor(data_key=key, full_name="Salma", age_range=AgeRange.UNKNOWN)
    chosen = survivor.pk
    rows.insert([survivor])
    assert survivor.pk == chosen  # given by the model's default, not by the database
    assert survivor.created_at is not None
    back = Survivor.objects.get(pk=chosen)
    assert back.created_at == survivor.created_at
    assert back.full_name == "Salma"


def test_a_relation_to_a_row_written_just_before_is_followed() -> None:
    (her,) = rows.insert([person("Hanane")])
    note = Note(person=her, body="sealed under her key")
    rows.insert([note])
    assert Note.objects.get(pk=note.pk).body == "sealed under her key"


def test_nothing_to_write_costs_no_statement() -> None:
    with CaptureQueriesContext(connection) as captured:
        assert rows.insert([]) == []
    assert captured.captured_queries == []


@pytest.mark.parametrize(
    "problem",
    ["saved", "mixed", "expression", "key given", "unsaved relation"],
)
def test_what_it_would_write_differently_from_the_orm_is_refused(problem: str) -> None:
    subject = person("Imane")
    batch: list[Person | Note] = [subject]
    if problem == "saved":
        subject.save()
    elif problem == "mixed":
        (other,) = rows.insert([person("Other")])
        batch.append(Note(person=other, body="x"))
    elif problem == "expression":
        subject.label = F("label")
    elif problem == "key given":
        subject.pk = 10**9
    else:
        batch = [Note(person=person("Unsaved"), body="x")]
    before = (Person.objects.count(), Note.objects.count())
    with pytest.raises(TypeError if problem != "unsaved relation" else ValueError):
        rows.insert(batch)
    assert (Person.objects.count(), Note.objects.count()) == before


def test_no_signal_waits_on_the_models_it_writes() -> None:
    """rows.insert sends no pre_save/post_save: connecting one to a model it writes would
    be silently skipped, so this fails first (change the writers, then this list)."""
    written = [Survivor, CaseFile, Incident, Perpetrator, Dependant, Consent]
    written += [TimelineEntry, Alert, DataKey]
    for model in written:
        assert not signals.pre_save.has_listeners(model), model
        assert not signals.post_save.has_listeners(model), model
