"""Writing the audit log: what an event holds, that it shares the caller's transaction, that
the log cannot be changed from the application, and how a record's trail is read."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from himaya.core.actor import SYSTEM, Actor
from himaya.core.audit import (
    AuditRecordError,
    Planned,
    create_checkpoint,
    event_hash,
    events_for_actor,
    events_for_target,
    install_append_only_triggers,
    record,
    record_many,
    verify_chain,
)
from himaya.core.middleware import RequestIdMiddleware
from himaya.core.models import (
    GENESIS_HASH,
    AppendOnlyError,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
)

OFFICER = Actor(user_id=7, username="officer7", role="unit_officer", agency_id=3, membership_id=11)
CHIEF = Actor(user_id=8, username="chief8", role="unit_chief", agency_id=3, membership_id=12)

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL triggers and row locks"
)


@pytest.mark.django_db
def test_an_event_holds_who_did_what_to_which_record_and_when() -> None:
    event = record(
        actor=OFFICER,
        action="case.read",
        target_type="case",
        target_id=42,
        metadata={"section": "narrative", "fields": ["notes"], "count": 2},
    )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.sequence == 1
    assert stored.actor_user_id == 7
    assert stored.actor_username == "officer7"
    assert stored.actor_role == "unit_officer"
    assert stored.agency_id == 3
    assert stored.membership_id == 11
    assert stored.action == "case.read"
    assert (stored.target_type, stored.target_id) == ("case", "42")
    assert stored.metadata == {"section": "narrative", "fields": ["notes"], "count": 2}
    assert stored.occurred_at.tzinfo is not None
    assert stored.occurred_at.utcoffset() == UTC.utcoffset(None)
    assert stored.prev_hash == GENESIS_HASH
    assert stored.hash == event_hash(GENESIS_HASH, stored)


def _append_queries() -> int:
    """Lock the head, insert, move the head; PostgreSQL moves it in the insert's own
    statement (a data-modifying WITH), SQLite needs a statement of its own."""
    return 2 if connection.vendor == "postgresql" else 3


@pytest.mark.django_db
def test_events_link_into_one_chain_with_increasing_sequence() -> None:
    events = [
        record(actor=OFFICER, action="case.read", target_type="case", target_id=i)
        for i in range(1, 6)
    ]

    assert [event.sequence for event in events] == [1, 2, 3, 4, 5]
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
    head = AuditChainHead.objects.get()
    assert (head.sequence, head.hash) == (5, events[-1].hash)
    assert verify_chain(public_keys={}).ok


@pytest.mark.django_db
def test_several_events_appended_at_once_chain_as_if_appended_one_by_one(
    django_assert_num_queries: Callable[..., object],
) -> None:
    first = record(actor=OFFICER, action="case.read", target_type="case", target_id=1)
    planned = [
        Planned(action="datakey.create", target_type="core.datakey", target_id="k1"),
        Planned(action="datakey.create", target_type="core.datakey", target_id="k2"),
        Planned(action="case.open", target_type="case", target_id=2, metadata={"n": 1}),
    ]
    # Lock the head, insert every row, move the head: three queries for three events (two on
    # PostgreSQL, where the head moves in the insert's statement).
    with django_assert_num_queries(_append_queries()):  # type: ignore[attr-defined]
        events = record_many(actor=OFFICER, events=planned)

    assert [event.sequence for event in events] == [2, 3, 4]
    assert [event.action for event in events] == ["datakey.create", "datakey.create", "case.open"]
    assert events[0].prev_hash == first.hash
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
    stored = {e.sequence: e for e in AuditEvent.objects.filter(sequence__gte=2)}
    assert {event.sequence: event.pk for event in events} == {s: e.pk for s, e in stored.items()}
    assert [stored[event.sequence].hash for event in events] == [event.hash for event in events]
    head = AuditChainHead.objects.get()
    assert (head.sequence, head.hash) == (4, events[-1].hash)
    assert verify_chain(public_keys={}).ok
    assert record_many(actor=OFFICER, events=[]) == []


@pytest.mark.django_db
def test_one_bad_event_among_several_appends_none() -> None:
    with pytest.raises(AuditRecordError):
        record_many(
            actor=OFFICER,
            events=[
                Planned(action="case.read", target_type="case", target_id=1),
                Planned(action="case.read", target_type="case", target_id="Fatima Tazi"),
            ],
        )
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_the_system_actor_and_a_reason_are_recorded() -> None:
    event = record(
        actor=SYSTEM,
        action="key.shred",
        target_type="survivor",
        target_id="a1b2-c3",
        reason="  erasure request 2026-11  ",
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_user_id is None
    assert stored.actor_username == "system"
    assert stored.actor_role == ""
    assert stored.reason == "erasure request 2026-11"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("action", "Case Read"),
        ("action", "read"),
        ("action", "case.read;drop"),
        ("target_type", "Case"),
        ("target_id", "Fatima Zahra"),
        ("target_id", "+212 600 000 000"),
        ("target_id", "x" * 65),
        ("reason", "x" * 1001),
        ("reason", "nul\x00byte"),
    ],
)
def test_record_refuses_what_is_not_an_id_or_a_verb(field: str, value: str) -> None:
    arguments: dict[str, object] = {
        "action": "case.read",
        "target_type": "case",
        "target_id": 1,
        "reason": "",
    }
    arguments[field] = value
    with pytest.raises(AuditRecordError):
        record(actor=OFFICER, **arguments)  # type: ignore[arg-type]
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "metadata",
    [
        {"score": 0.5},
        {"when": datetime(2026, 1, 1, tzinfo=UTC)},
        {1: "key not a string"},
        {"big": 2**70},
        {"deep": {"a": {"b": {"c": {"d": {"e": 1}}}}}},
        {"long": "x" * 201},
        {"many": ["x" * 100] * 30},
        {"nul": "a\x00b"},
    ],
)
def test_record_refuses_metadata_that_would_not_hash_the_same_or_is_not_small(
    metadata: dict[object, object],
) -> None:
    with pytest.raises(AuditRecordError):
        record(
            actor=OFFICER,
            action="case.read",
            target_type="case",
            target_id=1,
            metadata=metadata,  # type: ignore[arg-type]
        )


@pytest.mark.django_db
def test_record_inside_a_rolled_back_transaction_leaves_no_event() -> None:
    record(actor=OFFICER, action="case.read", target_type="case", target_id=1)

    def failing_service() -> None:
        with transaction.atomic():
            record(actor=OFFICER, action="case.update", target_type="case", target_id=1)
            raise RuntimeError("the service write failed after auditing")

    with pytest.raises(RuntimeError):
        failing_service()

    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["case.read"]
    assert AuditChainHead.objects.get().sequence == 1
    # The chain continues from the committed head, with no hole where the rollback was.
    assert record(actor=OFFICER, action="case.read", target_type="case", target_id=2).sequence == 2
    assert verify_chain(public_keys={}).ok


@pytest.mark.django_db(transaction=True)
def test_the_event_commits_and_rolls_back_with_the_service_write() -> None:
    user_model = get_user_model()

    def failing_service() -> None:
        with transaction.atomic():
            user = user_model.objects.create_user(username="new-officer", password="x" * 16)
            record(actor=CHIEF, action="account.create", target_type="user", target_id=user.pk)
            raise RuntimeError("a later step of the same service failed")

    with pytest.raises(RuntimeError):
        failing_service()

    assert not user_model.objects.filter(username="new-officer").exists()
    assert not AuditEvent.objects.exists()

    with transaction.atomic():
        user = user_model.objects.create_user(username="new-officer", password="x" * 16)
        record(actor=CHIEF, action="account.create", target_type="user", target_id=user.pk)

    assert AuditEvent.objects.get().target_id == str(user.pk)


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_commits_its_own() -> None:
    assert not connection.in_atomic_block

    event = record(actor=OFFICER, action="case.read", target_type="case", target_id=9)

    assert not connection.in_atomic_block
    assert AuditEvent.objects.get().hash == event.hash
    assert AuditChainHead.objects.get().hash == event.hash


@pytest.mark.django_db
def test_append_costs_the_same_few_queries_however_long_the_log(
    django_assert_num_queries: Callable[..., object],
) -> None:
    record(actor=OFFICER, action="case.read", target_type="case", target_id=0)
    # Lock the head, insert the event, move the head: nothing that scans the table.
    with django_assert_num_queries(_append_queries()):  # type: ignore[attr-defined]
        record(actor=OFFICER, action="case.read", target_type="case", target_id=1)
    for i in range(200):
        record(actor=OFFICER, action="case.read", target_type="case", target_id=i)
    with django_assert_num_queries(_append_queries()):  # type: ignore[attr-defined]
        record(actor=OFFICER, action="case.read", target_type="case", target_id=2)


# --- Append-only from the application ----------------------------------------------------


@pytest.mark.django_db
def test_a_saved_event_cannot_be_changed_or_deleted() -> None:
    event = record(actor=OFFICER, action="case.read", target_type="case", target_id=1)

    event.action = "case.update"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()

    assert AuditEvent.objects.get().action == "case.read"


@pytest.mark.django_db
def test_the_event_queryset_refuses_bulk_changes_and_off_chain_inserts() -> None:
    event = record(actor=OFFICER, action="case.read", target_type="case", target_id=1)
    events = AuditEvent.objects.all()

    with pytest.raises(AppendOnlyError):
        events.update(reason="tampered")
    with pytest.raises(AppendOnlyError):
        events.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["reason"])
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_create([AuditEvent(sequence=2)])
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update_or_create(sequence=1, reason="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.create(sequence=2, action="case.read", hash="0" * 64)

    assert AuditEvent.objects.count() == 1
    assert AuditEvent.objects.get().reason == ""


@pytest.mark.django_db
def test_checkpoints_are_append_only_too() -> None:
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.create(sequence=1, head_hash="0" * 64)
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.all().update(head_hash="0" * 64)


@postgres_only
@pytest.mark.django_db
def test_postgresql_triggers_refuse_update_and_delete_even_in_raw_sql() -> None:
    install_append_only_triggers(connection)
    install_append_only_triggers(connection)  # idempotent, as a migration may re-run it
    record(actor=OFFICER, action="case.read", target_type="case", target_id=1)
    assert create_checkpoint() is not None
    table = AuditEvent._meta.db_table

    for statement in (
        f"UPDATE {table} SET reason = 'tampered'",  # noqa: S608
        f"DELETE FROM {table}",  # noqa: S608
        f"UPDATE {AuditCheckpoint._meta.db_table} SET head_hash = 'x'",  # noqa: S608
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)

    # Appending still works, and the chain is untouched.
    record(actor=OFFICER, action="case.read", target_type="case", target_id=2)
    assert AuditEvent.objects.filter(reason="").count() == 2
    assert AuditCheckpoint.objects.get().head_hash != "x"
    assert verify_chain().ok


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the no-op path")
@pytest.mark.django_db
def test_installing_triggers_is_a_no_op_on_sqlite() -> None:
    install_append_only_triggers(connection)
    record(actor=OFFICER, action="case.read", target_type="case", target_id=1)
    assert AuditEvent.objects.count() == 1


# --- Request id ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_events_recorded_during_a_request_carry_its_request_id() -> None:
    recorded: list[AuditEvent] = []

    def view(request: HttpRequest) -> HttpResponse:
        recorded.append(record(actor=OFFICER, action="case.read", target_type="case", target_id=5))
        return HttpResponse("ok")

    response = RequestIdMiddleware(view)(RequestFactory().get("/cases/5/"))

    request_id = response["X-Request-Id"]
    assert request_id
    assert AuditEvent.objects.get(pk=recorded[0].pk).request_id == request_id
    # Outside a request there is no id.
    assert record(actor=SYSTEM, action="job.run", target_type="job", target_id=1).request_id == ""


# --- Reading the trail ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_records_trail_pages_newest_first_by_keyset() -> None:
    for i in range(7):
        record(actor=OFFICER, action="case.read", target_type="case", target_id=1)
        record(actor=CHIEF, action="case.read", target_type="case", target_id=2)
        if i % 3 == 0:
            record(actor=CHIEF, action="case.update", target_type="case", target_id=1)

    pages = []
    before: int | None = None
    while True:
        page = events_for_target(target_type="case", target_id=1, before=before, limit=4)
        pages.append([event.sequence for event in page.events])
        if page.next_before is None:
            break
        before = page.next_before

    seen = [sequence for page_sequences in pages for sequence in page_sequences]
    expected = list(
        AuditEvent.objects.filter(target_type="case", target_id="1")
        .order_by("-sequence")
        .values_list("sequence", flat=True)
    )
    assert seen == expected
    assert len(expected) == 10
    assert [len(p) for p in pages] == [4, 4, 2]

    updates = events_for_target(target_type="case", target_id="1", actions={"case.update"})
    assert [event.action for event in updates.events] == ["case.update"] * 3


@pytest.mark.django_db
def test_an_actors_trail_pages_newest_first_by_keyset() -> None:
    for i in range(5):
        record(actor=OFFICER, action="case.read", target_type="case", target_id=i)
        record(actor=CHIEF, action="case.read", target_type="case", target_id=i)

    first = events_for_actor(user_id=CHIEF.user_id or 0, limit=3)
    second = events_for_actor(user_id=CHIEF.user_id or 0, before=first.next_before, limit=3)

    assert [event.target_id for event in first.events] == ["4", "3", "2"]
    assert [event.target_id for event in second.events] == ["1", "0"]
    assert second.next_before is None
    assert {event.actor_username for event in first.events + second.events} == {"chief8"}
