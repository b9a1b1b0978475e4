"""Proving the audit chain: every kind of tampering is caught, at the event where it happened.

Tampering is done the way an intruder with database access would do it: raw SQL that goes
around the model's guard (and, on PostgreSQL, with the append-only triggers disabled, as the
table owner could).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command, execute_from_command_line
from django.db import connection
from django.db.models import Field

from himaya.core.actor import SYSTEM, Actor
from himaya.core.audit import (
    ChainBrokenError,
    CheckpointClaim,
    ProblemKind,
    checkpoint_message,
    create_checkpoint,
    event_hash,
    install_append_only_triggers,
    record,
    verify_chain,
)
from himaya.core.models import GENESIS_HASH, AuditChainHead, AuditCheckpoint, AuditEvent
from himaya.core.signing import (
    SigningKey,
    key_id,
    load_signing_key,
    public_key_pem,
    trusted_public_keys,
)

OFFICER = Actor(user_id=7, username="officer7", role="unit_officer", agency_id=3, membership_id=11)
CHIEF = Actor(user_id=8, username="chief8", role="unit_chief", agency_id=3, membership_id=12)
EVENTS = AuditEvent._meta.db_table
CHECKPOINTS = AuditCheckpoint._meta.db_table
CHAIN_LENGTH = 10


@pytest.fixture(autouse=True)
def _signing_key_from_keys_dir(settings: object) -> None:
    """Each test signs with a fresh key file in its own KEYS_DIR (see tests/conftest.py)."""
    settings.HIMAYA_AUDIT_SIGNING_KEY = ""  # type: ignore[attr-defined]
    settings.HIMAYA_KEY_AUTOCREATE = True  # type: ignore[attr-defined]


def build_chain(length: int = CHAIN_LENGTH) -> list[AuditEvent]:
    actors = [OFFICER, CHIEF, SYSTEM]
    return [
        record(
            actor=actors[i % 3],
            action=("case.read", "case.update", "referral.accept")[i % 3],
            target_type="case",
            target_id=100 + i,
            reason="supervision" if i % 2 else "",
            metadata={"i": i, "fields": ["status"], "flag": i % 2 == 0},
        )
        for i in range(1, length + 1)
    ]


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """Runs raw SQL on the audit tables as their owner would: triggers off, guard bypassed."""
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            for table in (EVENTS, CHECKPOINTS):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql, params or [])
        if postgres:
            for table in (EVENTS, CHECKPOINTS):
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def set_column(table: str, sequence: int, column: str, value: object) -> None:
    model = AuditEvent if table == EVENTS else AuditCheckpoint
    field = model._meta.get_field(column)
    assert isinstance(field, Field)
    prepared = field.get_db_prep_value(value, connection)
    quoted = connection.ops.quote_name(column)
    tamper(f"UPDATE {table} SET {quoted} = %s WHERE sequence = %s", [prepared, sequence])  # noqa: S608


def rewrite_chain_from(start: int, *, reason: str) -> None:
    """Edits event ``start`` and recomputes every hash after it, like a careful intruder."""
    events = list(AuditEvent.objects.order_by("sequence"))
    prev = events[start - 2].hash if start > 1 else GENESIS_HASH
    for event in events[start - 1 :]:
        if event.sequence == start:
            event.reason = reason
            set_column(EVENTS, event.sequence, "reason", reason)
        new_hash = event_hash(prev, event)
        set_column(EVENTS, event.sequence, "prev_hash", prev)
        set_column(EVENTS, event.sequence, "hash", new_hash)
        prev = new_hash
    AuditChainHead.objects.filter(pk=1).update(hash=prev)


def problem_of() -> tuple[int, ProblemKind]:
    report = verify_chain()
    assert report.problem is not None, "tampering went undetected"
    return report.problem.sequence, report.problem.kind


# --- The chain alone ----------------------------------------------------------------------


@pytest.mark.django_db
def test_an_untouched_chain_verifies() -> None:
    build_chain()
    create_checkpoint()
    build_chain(3)

    report = verify_chain()

    assert report.ok, report.problem
    assert report.events == CHAIN_LENGTH + 3
    assert report.checkpoints == 1
    assert report.unsigned_events == 3
    assert report.head_sequence == CHAIN_LENGTH + 3


@pytest.mark.django_db
def test_an_empty_log_verifies() -> None:
    report = verify_chain()
    assert report.ok
    assert report.events == 0


EDITS: dict[str, object] = {
    "actor_user_id": 999,
    "actor_username": "mallory",
    "actor_role": "auditor",
    "agency_id": 77,
    "membership_id": 88,
    "action": "case.export",
    "target_type": "referral",
    "target_id": "555",
    "request_id": "feedface",
    "reason": "edited afterwards",
    "metadata": {"i": 0, "fields": ["narrative"]},
    "prev_hash": "f" * 64,
    "hash": "e" * 64,
}


@pytest.mark.django_db
@pytest.mark.parametrize("position", [1, 5, CHAIN_LENGTH])
@pytest.mark.parametrize("column", [*EDITS, "occurred_at"])
def test_editing_any_field_of_any_event_is_detected_at_that_event(
    column: str, position: int
) -> None:
    events = build_chain()
    value = (
        events[position - 1].occurred_at + timedelta(microseconds=1)
        if column == "occurred_at"
        else EDITS[column]
    )

    set_column(EVENTS, position, column, value)

    assert problem_of() == (position, ProblemKind.CONTENT_EDITED)


@pytest.mark.django_db
@pytest.mark.parametrize("position", [1, 5, CHAIN_LENGTH])
def test_editing_an_event_and_recomputing_its_hash_is_detected_at_that_event(
    position: int,
) -> None:
    events = build_chain()
    edited = events[position - 1]
    edited.reason = "nothing happened"
    set_column(EVENTS, position, "reason", edited.reason)
    set_column(EVENTS, position, "hash", event_hash(edited.prev_hash, edited))

    expected = (
        ProblemKind.HEAD_MISMATCH if position == CHAIN_LENGTH else ProblemKind.PREV_HASH_MISMATCH
    )
    assert problem_of() == (position, expected)


@pytest.mark.django_db
@pytest.mark.parametrize("position", [1, 4, CHAIN_LENGTH - 1])
def test_deleting_an_event_is_detected_at_the_gap(position: int) -> None:
    build_chain()

    tamper(f"DELETE FROM {EVENTS} WHERE sequence = %s", [position])  # noqa: S608

    assert problem_of() == (position, ProblemKind.EVENT_MISSING)


@pytest.mark.django_db
def test_deleting_the_newest_events_is_detected_from_the_head() -> None:
    build_chain()

    tamper(f"DELETE FROM {EVENTS} WHERE sequence > %s", [CHAIN_LENGTH - 2])  # noqa: S608

    assert problem_of() == (CHAIN_LENGTH - 1, ProblemKind.TAIL_MISSING)


@pytest.mark.django_db
def test_deleting_the_newest_events_and_moving_the_head_back_is_caught_by_the_checkpoint() -> None:
    events = build_chain()
    create_checkpoint()

    tamper(f"DELETE FROM {EVENTS} WHERE sequence > %s", [CHAIN_LENGTH - 2])  # noqa: S608
    survivor = events[CHAIN_LENGTH - 3]
    AuditChainHead.objects.filter(pk=1).update(sequence=survivor.sequence, hash=survivor.hash)

    assert problem_of() == (CHAIN_LENGTH - 1, ProblemKind.CHECKPOINT_BEYOND_CHAIN)


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "second"), [(3, 7), (5, 6), (1, CHAIN_LENGTH)])
def test_reordering_two_events_is_detected_at_the_first_moved(first: int, second: int) -> None:
    build_chain()
    parked = 10**9

    # Three statements: the unique index on sequence forbids a one-statement swap.
    tamper(f"UPDATE {EVENTS} SET sequence = %s WHERE sequence = %s", [parked, first])  # noqa: S608
    tamper(f"UPDATE {EVENTS} SET sequence = %s WHERE sequence = %s", [first, second])  # noqa: S608
    tamper(f"UPDATE {EVENTS} SET sequence = %s WHERE sequence = %s", [second, parked])  # noqa: S608

    assert problem_of() == (first, ProblemKind.REORDERED)


@pytest.mark.django_db
def test_an_event_slipped_in_off_chain_is_detected() -> None:
    build_chain()
    newest = AuditEvent.objects.order_by("-sequence").first()
    assert newest is not None
    columns = [str(f.column) for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    values = [
        f.get_db_prep_value(getattr(newest, f.attname), connection)
        for f in AuditEvent._meta.concrete_fields
        if not f.primary_key
    ]
    values[columns.index("sequence")] = CHAIN_LENGTH + 1
    values[columns.index("prev_hash")] = newest.hash
    values[columns.index("hash")] = "d" * 64
    placeholders = ", ".join(["%s"] * len(values))
    tamper(
        f"INSERT INTO {EVENTS} ({', '.join(columns)}) VALUES ({placeholders})",  # noqa: S608
        values,
    )

    assert problem_of() == (CHAIN_LENGTH + 1, ProblemKind.HEAD_MISMATCH)


# --- Checkpoints: what the hash chain alone cannot catch ---------------------------------


@pytest.mark.django_db
def test_rewriting_the_whole_chain_consistently_is_caught_by_the_signed_checkpoint() -> None:
    build_chain()
    checkpoint = create_checkpoint()
    assert checkpoint is not None
    build_chain(4)

    rewrite_chain_from(3, reason="nothing happened here")

    assert problem_of() == (CHAIN_LENGTH, ProblemKind.CHECKPOINT_HEAD)
    # The rewrite is internally consistent: with the checkpoint rows gone it passes…
    tamper(f"DELETE FROM {CHECKPOINTS}")  # noqa: S608
    assert verify_chain().ok
    # …which is why checkpoints are also exported off the database (audit_checkpoint's
    # output line), and the exported copy still catches it.
    report = verify_chain(extra_checkpoints=[CheckpointClaim.from_row(checkpoint)])
    assert report.problem is not None
    assert (report.problem.sequence, report.problem.kind) == (
        CHAIN_LENGTH,
        ProblemKind.CHECKPOINT_HEAD,
    )


@pytest.mark.django_db
def test_a_rewrite_that_also_edits_the_checkpoint_breaks_its_signature() -> None:
    build_chain()
    create_checkpoint()

    rewrite_chain_from(2, reason="nothing happened here")
    set_column(CHECKPOINTS, CHAIN_LENGTH, "head_hash", AuditChainHead.objects.get().hash)

    assert problem_of() == (CHAIN_LENGTH, ProblemKind.CHECKPOINT_SIGNATURE)


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["signature", "created_at", "key_id"])
def test_a_forged_or_altered_checkpoint_is_detected(column: str) -> None:
    build_chain()
    checkpoint = create_checkpoint()
    assert checkpoint is not None
    forged: dict[str, object] = {
        "signature": "ab" * 64,
        "created_at": checkpoint.created_at + timedelta(seconds=1),
        "key_id": "0123456789abcdef",
    }

    set_column(CHECKPOINTS, CHAIN_LENGTH, column, forged[column])

    expected = (
        ProblemKind.CHECKPOINT_UNKNOWN_KEY
        if column == "key_id"
        else ProblemKind.CHECKPOINT_SIGNATURE
    )
    assert problem_of() == (CHAIN_LENGTH, expected)


@pytest.mark.django_db
def test_a_checkpoint_signed_with_the_intruders_own_key_is_not_trusted() -> None:
    build_chain()
    ours = load_signing_key()
    rewrite_chain_from(1, reason="rewritten")
    intruder = Ed25519PrivateKey.generate()
    forged = create_checkpoint(signing_key=SigningKey(intruder, key_id(intruder.public_key())))
    assert forged is not None

    assert list(trusted_public_keys()) == [ours.key_id]
    assert problem_of() == (CHAIN_LENGTH, ProblemKind.CHECKPOINT_UNKNOWN_KEY)


@pytest.mark.django_db
def test_checkpoint_creation_refuses_to_sign_a_tampered_chain() -> None:
    build_chain()
    create_checkpoint()
    build_chain(5)
    set_column(EVENTS, CHAIN_LENGTH + 2, "reason", "edited")

    with pytest.raises(ChainBrokenError) as raised:
        create_checkpoint()

    assert raised.value.problem.sequence == CHAIN_LENGTH + 2
    assert AuditCheckpoint.objects.count() == 1


@pytest.mark.django_db
def test_a_checkpoint_is_only_made_when_the_chain_moved() -> None:
    assert create_checkpoint() is None
    build_chain(2)
    first = create_checkpoint()
    assert first is not None
    assert first.sequence == 2
    assert create_checkpoint() is None
    build_chain(1)
    second = create_checkpoint()
    assert second is not None
    assert second.sequence == 3
    assert verify_chain().checkpoints == 2


@pytest.mark.django_db
def test_a_checkpoint_verifies_offline_with_only_the_public_key_file(
    settings: object,
) -> None:
    build_chain()
    checkpoint = create_checkpoint()
    assert checkpoint is not None
    public_file = Path(settings.KEYS_DIR) / "audit-signing.ed25519.pub"  # type: ignore[attr-defined]

    keys = trusted_public_keys(public_key_files=[public_file])
    message = checkpoint_message(
        sequence=checkpoint.sequence,
        head_hash=checkpoint.head_hash,
        created_at=checkpoint.created_at,
        key_id=checkpoint.key_id,
    )
    keys[checkpoint.key_id].verify(bytes.fromhex(checkpoint.signature), message)
    assert verify_chain(public_keys=keys).ok


# --- manage.py verify_audit ----------------------------------------------------------------


def run_command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Runs a management command as the shell would and returns (exit code, stdout, stderr)."""
    try:
        execute_from_command_line(["manage.py", *argv])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    else:
        code = 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.django_db(transaction=True)
def test_verify_audit_exits_zero_and_says_so_on_an_intact_chain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_chain()
    call_command("audit_checkpoint")
    capsys.readouterr()

    code, out, err = run_command(["verify_audit", "--batch-size", "3"], capsys)

    assert code == 0
    assert f"Audit chain intact: {CHAIN_LENGTH} events, 1 signed checkpoints verified" in out
    assert f"verified 3 / {CHAIN_LENGTH} events" in err  # the progress line, per batch
    assert f"verified {CHAIN_LENGTH} / {CHAIN_LENGTH} events" in err


@pytest.mark.django_db(transaction=True)
def test_verify_audit_exits_non_zero_and_names_the_first_broken_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_chain()
    set_column(EVENTS, 6, "target_id", "999")
    set_column(EVENTS, 8, "reason", "also edited")

    code, out, err = run_command(["verify_audit"], capsys)

    assert code == 1
    assert "Audit chain BROKEN at event #6: content edited" in err
    assert "#8" not in err
    assert "intact" not in out


@pytest.mark.django_db(transaction=True)
def test_verify_audit_reports_a_missing_event(capsys: pytest.CaptureFixture[str]) -> None:
    build_chain()
    tamper(f"DELETE FROM {EVENTS} WHERE sequence IN (4, 5)")  # noqa: S608

    code, _, err = run_command(["verify_audit"], capsys)

    assert code == 1
    assert "BROKEN at event #4: event missing: gap in the sequence: #4–#5 missing" in err


@pytest.mark.django_db(transaction=True)
def test_verify_audit_with_an_auditors_public_key_and_exported_checkpoints(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, settings: object
) -> None:
    build_chain()
    call_command("audit_checkpoint")
    exported = capsys.readouterr().out
    log = tmp_path / "checkpoints.jsonl"
    log.write_text(exported, encoding="utf-8")
    public_key = Path(settings.KEYS_DIR) / "audit-signing.ed25519.pub"  # type: ignore[attr-defined]

    code, out, _ = run_command(
        ["verify_audit", "--public-key", str(public_key), "--checkpoint-log", str(log)], capsys
    )
    assert code == 0, out
    assert "2 signed checkpoints verified" in out  # the row and its exported copy

    # The intruder rewrites the chain and deletes the checkpoint rows: the export remains.
    rewrite_chain_from(1, reason="rewritten")
    tamper(f"DELETE FROM {CHECKPOINTS}")  # noqa: S608
    code, _, err = run_command(
        ["verify_audit", "--public-key", str(public_key), "--checkpoint-log", str(log)], capsys
    )
    assert code == 1
    assert f"BROKEN at event #{CHAIN_LENGTH}: checkpoint does not match the chain" in err
    assert "checkpoints.jsonl:1" in err


@pytest.mark.django_db(transaction=True)
def test_verify_audit_refuses_checkpoints_under_a_key_the_auditor_did_not_give(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    build_chain()
    create_checkpoint()
    other = tmp_path / "other.pub"
    other.write_bytes(public_key_pem(Ed25519PrivateKey.generate().public_key()))

    code, _, err = run_command(["verify_audit", "--public-key", str(other)], capsys)

    assert code == 1
    assert "checkpoint signed by an unknown key" in err


@pytest.mark.django_db(transaction=True)
def test_audit_checkpoint_refuses_to_sign_a_broken_chain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_chain()
    set_column(EVENTS, 2, "action", "case.delete")

    code, out, err = run_command(["audit_checkpoint"], capsys)

    assert code == 1
    assert "Refusing to sign" in err
    assert "event #2: content edited" in err
    assert out == ""
    assert not AuditCheckpoint.objects.exists()


@pytest.mark.django_db
def test_triggers_do_not_stop_the_chain_from_verifying_and_checkpointing() -> None:
    install_append_only_triggers(connection)
    build_chain()
    assert create_checkpoint() is not None
    assert verify_chain().ok
