"""Crypto-shredding, the shred ledger, and backups that must not bring an erased woman back."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from himaya.core.actor import SYSTEM
from himaya.core.backups import BackupError, backup_database, restore_database
from himaya.core.blind_index import PHONE, index_lookup, index_replace
from himaya.core.crypto import is_erased
from himaya.core.models import BlindIndexEntry, DataKey
from himaya.core.models.audit import AuditEvent
from himaya.core.shredding import (
    append_to_ledger,
    apply_shred_ledger,
    data_key_shred,
    ledger_path,
    read_ledger,
)
from tests.sealedapp.factories import fresh, make_note, make_person
from tests.sealedapp.models import Note, Person


def run(*args: Any, **options: Any) -> str:
    """The command's output, stdout then stderr (system check warnings go to stderr)."""
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue() + err.getvalue()


def indexed_person(name: str, phone: str) -> Person:
    person = make_person(name=name, phone=phone, narrative=f"{name}'s story")
    index_replace(index=PHONE, obj=person, data_key_id=person.data_key_id, values=[phone])
    make_note(person, f"Note about {name}")
    return person


def found_by_phone(phone: str) -> set[int]:
    return set(
        Person.objects.filter(
            pk__in=index_lookup(index=PHONE, value=phone, model=Person)
        ).values_list("pk", flat=True)
    )


@pytest.mark.django_db
def test_shredding_one_subject_erases_only_her() -> None:
    amina = indexed_person("Amina", "0611111111")
    salma = indexed_person("Salma", "0622222222")
    data_key_shred(actor=SYSTEM, data_key=amina.data_key, reason="erasure request 12")

    erased = fresh(amina)
    assert is_erased(erased.full_name)
    assert is_erased(erased.phone)
    assert is_erased(erased.narrative)
    assert is_erased(Note.objects.get(person=amina).body)
    intact = fresh(salma)
    assert intact.full_name == "Salma"
    assert intact.narrative == "Salma's story"
    assert Note.objects.get(person=salma).body == "Note about Salma"


@pytest.mark.django_db
def test_shredding_removes_her_blind_index_entries_and_no_one_elses() -> None:
    amina = indexed_person("Amina", "0611111111")
    salma = indexed_person("Salma", "0622222222")
    assert found_by_phone("0611111111") == {amina.pk}
    data_key_shred(actor=SYSTEM, data_key=amina.data_key, reason="erasure")
    assert found_by_phone("0611111111") == set()
    assert not BlindIndexEntry.objects.filter(data_key_id=amina.data_key_id).exists()
    assert found_by_phone("0622222222") == {salma.pk}


@pytest.mark.django_db
def test_shredding_destroys_the_wrapped_key_records_the_ledger_and_audits() -> None:
    amina = make_person(name="Amina")
    data_key_shred(actor=SYSTEM, data_key=amina.data_key, reason="erasure request 12")
    row = DataKey.objects.get(pk=amina.data_key_id)
    assert row.wrapped_key is None
    assert row.shredded_at is not None
    assert read_ledger().shredded_ids == {amina.data_key_id}
    assert read_ledger().problems == []
    event = AuditEvent.objects.get(action="datakey.shred", target_id=str(amina.data_key_id))
    assert event.reason == "erasure request 12"


@pytest.mark.django_db
def test_shredding_twice_changes_nothing_more() -> None:
    amina = make_person(name="Amina")
    data_key_shred(actor=SYSTEM, data_key=amina.data_key, reason="first")
    data_key_shred(actor=SYSTEM, data_key=amina.data_key, reason="second")
    assert len(read_ledger().entries) == 1
    assert AuditEvent.objects.filter(action="datakey.shred").count() == 1


@pytest.mark.django_db
def test_the_shred_subject_command_shreds_and_refuses_unknown_ids() -> None:
    amina = make_person(name="Amina")
    output = run("shred_subject", str(amina.data_key_id), "--reason", "court order", "--noinput")
    assert "Shredded" in output
    assert is_erased(fresh(amina).full_name)
    with pytest.raises(CommandError, match="No data key"):
        run("shred_subject", "00000000-0000-4000-8000-000000000000", "--reason", "x", "--noinput")


# --- the ledger ---------------------------------------------------------------------------


def shred_ids(count: int) -> list[Any]:
    keys = [make_person(name=f"P{i}").data_key for i in range(count)]
    for key in keys:
        data_key_shred(actor=SYSTEM, data_key=key, reason="test")
    return [key.pk for key in keys]


@pytest.mark.django_db
def test_an_edited_ledger_line_is_detected_and_not_trusted() -> None:
    ids = shred_ids(2)
    path = ledger_path()
    lines = path.read_text(encoding="ascii").splitlines()
    other = make_person(name="Innocent").data_key_id
    lines[1] = lines[1].replace(str(ids[1]), str(other))
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    reading = read_ledger()
    assert reading.shredded_ids == {ids[0]}
    assert reading.problems == ["line 2 fails its MAC (edited or forged)"]


@pytest.mark.django_db
def test_a_deleted_ledger_line_breaks_the_chain_but_later_lines_still_count() -> None:
    ids = shred_ids(3)
    path = ledger_path()
    lines = path.read_text(encoding="ascii").splitlines()
    path.write_text(f"{lines[0]}\n{lines[2]}\n", encoding="ascii")
    reading = read_ledger()
    assert reading.shredded_ids == {ids[0], ids[2]}
    assert reading.problems == [
        "the chain breaks at line 2: lines before it were deleted or reordered"
    ]
    with pytest.raises(SystemCheckError, match=r"himaya\.E013"):
        run("check", "--database", "default")


@pytest.mark.django_db
def test_a_forged_ledger_line_shreds_nobody() -> None:
    innocent = make_person(name="Innocent")
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"v1 1 {innocent.data_key_id} 2026-01-01T00:00:00Z {'0' * 64} {'a' * 64}\n",
        encoding="ascii",
    )
    report = apply_shred_ledger(actor=SYSTEM)
    assert report.reapplied == 0
    assert report.problems
    assert fresh(innocent).full_name == "Innocent"


@pytest.mark.django_db
def test_a_live_key_listed_in_the_ledger_fails_the_check_until_the_ledger_is_applied() -> None:
    amina = indexed_person("Amina", "0611111111")
    salma = make_person(name="Salma")
    # What a restored backup looks like: the ledger knows her key was shredded, the DB not.
    append_to_ledger([amina.data_key_id])
    with pytest.raises(SystemCheckError, match=r"himaya\.E012"):
        run("check", "--database", "default")
    output = run("apply_shred_ledger")
    assert "1 data key(s) shredded again" in output
    assert is_erased(fresh(amina).full_name)
    assert found_by_phone("0611111111") == set()
    assert fresh(salma).full_name == "Salma"
    assert "no issues" in run("check", "--database", "default")
    assert AuditEvent.objects.filter(
        action="datakey.shred_reapplied", target_id=str(amina.data_key_id)
    ).exists()


@pytest.mark.django_db
def test_shreds_missing_from_a_lost_ledger_are_recorded_again() -> None:
    ids = shred_ids(2)
    ledger_path().unlink()
    output = run("check", "--database", "default")
    assert "himaya.W014" in output
    assert "2 shred(s) newly recorded" in run("apply_shred_ledger")
    assert read_ledger().shredded_ids == set(ids)
    assert read_ledger().problems == []


@pytest.mark.django_db
def test_apply_shred_ledger_fails_loudly_on_a_tampered_ledger() -> None:
    shred_ids(2)
    path = ledger_path()
    lines = path.read_text(encoding="ascii").splitlines()
    path.write_text(lines[1] + "\n", encoding="ascii")
    with pytest.raises(CommandError, match="tampered"):
        run("apply_shred_ledger")


# --- backups ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_subject_shredded_after_a_backup_stays_erased_when_it_is_restored(
    tmp_path: Path,
) -> None:
    amina = indexed_person("Amina", "0611111111")
    salma = indexed_person("Salma", "0622222222")
    backup = backup_database(actor=SYSTEM, path=tmp_path / "before-shred.bak")
    assert backup.stat().st_mode & 0o077 == 0

    data_key_shred(actor=SYSTEM, data_key=amina.data_key, reason="erasure request")
    report = restore_database(actor=SYSTEM, path=backup)

    # The backup held her wrapped key: the restore brought it back and the ledger removed it.
    assert report.reapplied == 1
    assert DataKey.objects.get(pk=amina.data_key_id).wrapped_key is None
    assert is_erased(fresh(amina).full_name)
    assert is_erased(Note.objects.get(person_id=amina.pk).body)
    assert found_by_phone("0611111111") == set()
    assert fresh(salma).full_name == "Salma"
    assert found_by_phone("0622222222") == {salma.pk}
    assert "no issues" in run("check", "--database", "default")


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_commands_round_trip(tmp_path: Path) -> None:
    amina = make_person(name="Amina")
    path = tmp_path / "himaya.bak"
    assert "Backed up to" in run("backup", str(path))
    with pytest.raises(CommandError, match="already exists"):
        run("backup", str(path))
    Person.objects.filter(pk=amina.pk).delete()
    output = run("restore", str(path), "--noinput")
    assert "Shred ledger re-applied: 0" in output
    assert fresh(amina).full_name == "Amina"


@pytest.mark.django_db(transaction=True)
def test_restoring_a_file_that_is_not_a_backup_is_refused(tmp_path: Path) -> None:
    make_person(name="Amina")
    path = tmp_path / "junk.bak"
    path.write_bytes(b"this is not a backup at all")
    with pytest.raises(BackupError, match="not"):
        restore_database(actor=SYSTEM, path=path)
    assert Person.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_backup_from_before_a_retired_master_key_cannot_be_opened(tmp_path: Path) -> None:
    make_person(name="Amina")
    backup = backup_database(actor=SYSTEM, path=tmp_path / "old.bak")
    run("rotate_keys")
    run("rotate_keys", "--retire")
    # SQLite: refused before anything is overwritten. PostgreSQL (pg_restore cannot preview
    # the rows): refused right after, with the same plain message, never a crypto error.
    with pytest.raises(BackupError, match="does not hold"):
        restore_database(actor=SYSTEM, path=backup)
