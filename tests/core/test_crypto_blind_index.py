"""Blind indexes: exact search over sealed values, one indexed lookup, nothing in clear."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from himaya.core.blind_index import (
    CIN,
    NAME,
    NAME_TOKEN,
    PHONE,
    BlindIndex,
    index_clear,
    index_lookup,
    index_new,
    index_replace,
    index_replace_all,
    normalize_phone,
    normalize_text,
)
from himaya.core.keystore import encode_secret, generate_secret
from himaya.core.models import BlindIndexEntry
from tests.sealedapp.factories import make_note, make_person
from tests.sealedapp.models import Note, Person


def matches(index: BlindIndex, value: str) -> set[int]:
    return set(
        Person.objects.filter(
            pk__in=index_lookup(index=index, value=value, model=Person)
        ).values_list("pk", flat=True)
    )


def indexed(name: str, *, phone: str = "", cin: str = "") -> Person:
    person = make_person(name=name, phone=phone or None, cin=cin or None)
    index_replace(index=PHONE, obj=person, data_key_id=person.data_key_id, values=[phone])
    index_replace(index=CIN, obj=person, data_key_id=person.data_key_id, values=[cin])
    index_replace(index=NAME, obj=person, data_key_id=person.data_key_id, values=[name])
    return person


def test_phone_numbers_typed_nationally_or_internationally_normalize_alike() -> None:
    assert normalize_phone("06 12-34 56 78") == "+212612345678"
    assert normalize_phone("+212 6 12 34 56 78") == "+212612345678"
    assert normalize_phone("00212612345678") == "+212612345678"


def test_text_normalization_folds_case_accents_and_arabic_diacritics() -> None:
    assert normalize_text("  Fâtima   ZAHRA ") == "fatima zahra"
    assert normalize_text("فَاطِمَة") == normalize_text("فاطمة")
    assert normalize_text("فاطـــمة") == normalize_text("فاطمة")


@pytest.mark.django_db
def test_a_phone_finds_her_record_however_it_was_typed() -> None:
    amina = indexed("Amina Tazi", phone="0612345678")
    indexed("Salma Idrissi", phone="0687654321")
    assert matches(PHONE, "+212 612 345 678") == {amina.pk}
    assert matches(PHONE, "0699999999") == set()


@pytest.mark.django_db
def test_a_cin_finds_her_record_with_spaces_dashes_or_lower_case() -> None:
    amina = indexed("Amina Tazi", cin="BK418273")
    assert matches(CIN, "bk 418-273") == {amina.pk}


@pytest.mark.django_db
def test_a_name_in_arabic_finds_the_record_written_in_latin_letters() -> None:
    fatima = indexed("Fatima Tazi")
    assert matches(NAME, "فاطمة التازي") == {fatima.pk}
    assert matches(NAME, "Tazi Fatema") == {fatima.pk}


@pytest.mark.django_db
def test_an_expanded_index_matches_any_token() -> None:
    fatima = make_person(name="Fatima Tazi")
    index_replace(
        index=NAME_TOKEN, obj=fatima, data_key_id=fatima.data_key_id, values=[fatima.full_name]
    )
    assert BlindIndexEntry.objects.filter(purpose="name_token").count() == 2
    assert matches(NAME_TOKEN, "Fadma") == {fatima.pk}


def test_each_purpose_has_its_own_key() -> None:
    assert PHONE.digest_term("12345678") != CIN.digest_term("12345678")
    assert len(PHONE.digest_term("12345678")) == 16


def test_digests_depend_on_the_blind_index_key(settings: Any) -> None:
    first = PHONE.digests("0612345678")
    settings.HIMAYA_MASTER_KEY = encode_secret(generate_secret())
    settings.HIMAYA_BLIND_INDEX_KEY = encode_secret(generate_secret())
    assert PHONE.digests("0612345678") != first


def test_a_purpose_can_only_be_defined_once() -> None:
    with pytest.raises(ValueError, match="already defined"):
        BlindIndex("phone")
    with pytest.raises(ValueError, match="snake_case"):
        BlindIndex("Not A Purpose")


@pytest.mark.django_db
def test_replacing_entries_keeps_only_the_current_values() -> None:
    amina = indexed("Amina", phone="0611111111")
    index_replace(
        index=PHONE, obj=amina, data_key_id=amina.data_key_id, values=["0622222222", None, ""]
    )
    assert matches(PHONE, "0611111111") == set()
    assert matches(PHONE, "0622222222") == {amina.pk}
    index_clear(obj=amina)
    assert not BlindIndexEntry.objects.filter(object_id=str(amina.pk)).exists()


@pytest.mark.django_db
def test_entries_hold_no_plaintext() -> None:
    indexed("Amina Tazi", phone="0612345678", cin="BK418273")
    for purpose, digest, object_id in BlindIndexEntry.objects.values_list(
        "purpose", "digest", "object_id"
    ):
        assert len(bytes(digest)) == 16
        assert b"0612345678" not in bytes(digest)
        assert purpose in {"phone", "cin", "name"}
        assert object_id.isdigit()


@pytest.mark.django_db
def test_lookups_are_scoped_to_the_model_asked_for() -> None:
    amina = make_person(name="Amina")
    note = make_note(amina, "text")
    index_replace(index=PHONE, obj=note, data_key_id=amina.data_key_id, values=["0611111111"])
    assert matches(PHONE, "0611111111") == set()
    notes = Note.objects.filter(pk__in=index_lookup(index=PHONE, value="0611111111", model=Note))
    assert list(notes) == [note]
    assert set(index_lookup(index=PHONE, value="0611111111")) == {str(note.pk)}


@pytest.mark.django_db
def test_a_search_is_one_query_walking_the_lookup_index() -> None:
    amina = indexed("Amina", phone="0611111111")
    # Many entries of the same kind of record, so the planner sees what a real table looks
    # like: the content type alone selects nearly everything, the digest almost nothing.
    BlindIndexEntry.objects.bulk_create(
        BlindIndexEntry(
            purpose="phone",
            digest=index.to_bytes(16, "big"),
            data_key_id=amina.data_key_id,
            content_type=ContentType.objects.get_for_model(Person),
            object_id=str(10_000 + index),
        )
        for index in range(500)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with CaptureQueriesContext(connection) as queries:
        found = list(
            Person.objects.filter(
                pk__in=index_lookup(index=PHONE, value="0611111111", model=Person)
            )
        )
    assert found == [amina]
    assert len(queries.captured_queries) == 1
    sql = queries.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " ".join(str(row) for row in cursor.fetchall())
        else:
            cursor.execute(f"EXPLAIN {sql}")
            plan = " ".join(row[0] for row in cursor.fetchall())
    assert "blindindex_lookup" in plan


@pytest.mark.django_db
def test_new_records_are_indexed_in_one_statement_as_a_replace_would_index_them() -> None:
    """``index_new`` (an intake: her record and each man's) writes exactly the entries
    ``index_replace_all`` writes, in one INSERT for every record and purpose."""
    amina, salma = make_person(name="Amina Tazi"), make_person(name="Salma")
    note = make_note(salma, "x")
    values = {PHONE: ["0612345678"], CIN: ["bk 418273"], NAME_TOKEN: ["Amina Tazi"]}
    index_replace_all(obj=amina, data_key_id=amina.data_key_id, values=values)
    ContentType.objects.get_for_model(Note)  # cached once per process, like the services'

    def entries(obj: Person | Note) -> list[tuple[str, bytes, Any, int]]:
        rows = BlindIndexEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
        ).values_list("purpose", "digest", "data_key_id", "content_type_id")
        return sorted((p, bytes(d), k, ct) for p, d, k, ct in rows)

    with CaptureQueriesContext(connection) as queries:
        written = index_new(
            [
                (salma, salma.data_key_id, values),
                (note, salma.data_key_id, {PHONE: ["0699887766"]}),
            ]
        )
    assert len(queries) == 1
    expected = [(p, d, salma.data_key_id, ct) for p, d, _key, ct in entries(amina)]
    assert entries(salma) == expected
    assert len(entries(note)) == 1
    assert written == len(expected) + 1
