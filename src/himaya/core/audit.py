"""The audit chain: record who did what, prove later that nobody changed the record.

Every service write and every read of a protected record calls :func:`record` inside the
transaction that does the work, so the event exists if and only if the work was committed.

Each event is hashed together with its predecessor's hash::

    hash = SHA-256(bytes.fromhex(prev_hash) || canonical_event(event))

so changing, removing or reordering any event breaks every link after it. Periodic
checkpoints (:func:`create_checkpoint`) sign the head with an Ed25519 key kept outside the
database, so even a consistent rewrite of the whole chain is detected by :func:`verify_chain`.
See docs/architecture/audit.md for the exact serialization and the operating procedure.
"""

from __future__ import annotations

import enum
import hashlib
import heapq
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from himaya.core.actor import Actor
from himaya.core.models.audit import (
    GENESIS_HASH,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    chain_writer,
)
from himaya.core.request_context import current_request_id
from himaya.core.signing import SigningKey, load_signing_key, trusted_public_keys, verify_signature

__all__ = [
    "APPEND_ONLY_TRIGGERS_SQL",
    "REMOVE_APPEND_ONLY_TRIGGERS_SQL",
    "AuditPage",
    "AuditRecordError",
    "ChainBrokenError",
    "ChainProblem",
    "CheckpointClaim",
    "Planned",
    "ProblemKind",
    "VerificationReport",
    "canonical_event",
    "checkpoint_message",
    "create_checkpoint",
    "event_hash",
    "events_for_actor",
    "events_for_target",
    "install_append_only_triggers",
    "record",
    "record_many",
    "remove_append_only_triggers",
    "verify_chain",
]

CANONICAL_VERSION = 1
_ACTION_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_TARGET_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
# Ids only (numbers, UUIDs, short codes): no spaces, so a name or phone cannot slip in here.
_TARGET_ID_RE = re.compile(r"^[A-Za-z0-9_:-]{1,64}$")
_MAX_REASON = 1000
_MAX_METADATA_BYTES = 2048
_MAX_METADATA_DEPTH = 4
_MAX_METADATA_STRING = 200
_MAX_INT = 2**63 - 1


class AuditRecordError(ValueError):
    """A caller passed something that must not (or cannot) go into the audit log."""


# --- Canonical form and hashing ----------------------------------------------------------


def _iso_utc(value: datetime) -> str:
    if value.tzinfo is None:
        raise AuditRecordError("audit times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical_json(payload: dict[str, object]) -> bytes:
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_event(event: AuditEvent) -> bytes:
    """The exact bytes hashed for ``event`` (documented in docs/architecture/audit.md).

    Deterministic JSON: keys sorted, no whitespace, UTF-8, time in UTC with microseconds and
    a ``Z``; no floats anywhere (metadata refuses them). ``prev_hash`` is not in the JSON: it
    is prepended as raw bytes by :func:`event_hash`.
    """
    return _canonical_json(
        {
            "v": CANONICAL_VERSION,
            "sequence": event.sequence,
            "time": _iso_utc(event.occurred_at),
            "actor_user_id": event.actor_user_id,
            "actor_username": event.actor_username,
            "actor_role": event.actor_role,
            "agency_id": event.agency_id,
            "membership_id": event.membership_id,
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "request_id": event.request_id,
            "reason": event.reason,
            "metadata": event.metadata,
        }
    )


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    """SHA-256(raw bytes of ``prev_hash`` || canonical_event(event)), as 64 hex digits."""
    try:
        prev = bytes.fromhex(prev_hash)
    except ValueError:
        prev = prev_hash.encode("utf-8", "replace")
    return hashlib.sha256(prev + canonical_event(event)).hexdigest()


def checkpoint_message(
    *, sequence: int, head_hash: str, created_at: datetime, key_id: str
) -> bytes:
    """The bytes a checkpoint signature covers (domain-separated from anything else signed)."""
    return _canonical_json(
        {
            "kind": "himaya.audit.checkpoint",
            "v": CANONICAL_VERSION,
            "sequence": sequence,
            "head_hash": head_hash,
            "time": _iso_utc(created_at),
            "key_id": key_id,
        }
    )


# --- Validation of what callers put in ---------------------------------------------------


def _check_text(value: str, *, field: str, limit: int) -> str:
    if "\x00" in value:
        raise AuditRecordError(f"{field} contains a NUL character")
    if len(value) > limit:
        raise AuditRecordError(f"{field} is longer than {limit} characters")
    return value


def _check_metadata_value(value: object, *, depth: int) -> None:
    if depth > _MAX_METADATA_DEPTH:
        raise AuditRecordError("metadata is nested too deeply")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -_MAX_INT <= value <= _MAX_INT:
            raise AuditRecordError("metadata integers must fit in 64 bits")
        return
    if isinstance(value, str):
        _check_text(value, field="metadata string", limit=_MAX_METADATA_STRING)
        return
    if isinstance(value, list):
        for item in value:
            _check_metadata_value(item, depth=depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditRecordError("metadata keys must be strings")
            _check_text(key, field="metadata key", limit=_MAX_METADATA_STRING)
            _check_metadata_value(item, depth=depth + 1)
        return
    # Floats do not survive every database's JSON round trip bit for bit, and datetimes,
    # decimals, model instances… have no single JSON form: the hash would not reproduce.
    raise AuditRecordError(
        f"metadata values must be null, bool, int, str, list or dict, not {type(value).__name__}"
    )


def _clean_metadata(metadata: dict[str, object] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise AuditRecordError("metadata must be a dict")
    _check_metadata_value(metadata, depth=0)
    encoded = _canonical_json(metadata)
    if len(encoded) > _MAX_METADATA_BYTES:
        raise AuditRecordError(f"metadata is larger than {_MAX_METADATA_BYTES} bytes")
    cleaned: dict[str, Any] = json.loads(encoded)
    return cleaned


# --- Appending ---------------------------------------------------------------------------


def _check_sqlite_serializes(conn: BaseDatabaseWrapper) -> None:
    # SQLite has no row locks: appends are serialized only because every transaction starts
    # with BEGIN IMMEDIATE (takes the write lock up front). Without it two writers could read
    # the same head and one would fail late with "database is locked".
    if conn.vendor == "sqlite":
        mode = conn.settings_dict.get("OPTIONS", {}).get("transaction_mode")
        if str(mode).upper() != "IMMEDIATE":
            raise ImproperlyConfigured(
                "SQLite must run with OPTIONS transaction_mode=IMMEDIATE for the audit chain."
            )


# Plain SQL on the head row (table name fixed by AuditChainHead.Meta.db_table).
_HEAD_SELECT = "SELECT sequence, hash FROM core_auditchainhead WHERE id = 1"
_HEAD_SELECT_FOR_UPDATE = "SELECT sequence, hash FROM core_auditchainhead WHERE id = 1 FOR UPDATE"
_HEAD_UPDATE = "UPDATE core_auditchainhead SET sequence = %s, hash = %s WHERE id = 1"


def _lock_head() -> tuple[int, str]:
    """The chain head's (sequence, hash), locked until the caller's transaction ends.

    PostgreSQL: SELECT … FOR UPDATE on the single head row, so concurrent appenders queue
    here and each sees the head its predecessor committed (READ COMMITTED re-reads the locked
    row). SQLite: no row locks, but the transaction already holds the database's write lock
    (BEGIN IMMEDIATE), so nobody else can be appending. Plain SQL: this runs on every audited
    request, and the ORM's per-query overhead was most of the append's cost.
    """
    select = _HEAD_SELECT_FOR_UPDATE if connection.features.has_select_for_update else _HEAD_SELECT
    with connection.cursor() as cursor:
        cursor.execute(select)
        row = cursor.fetchone()
        if row is not None:
            return int(row[0]), str(row[1])
        # First append ever (or the head row was lost): start from the newest event, found
        # by the unique index on sequence. ignore_conflicts makes two first appenders on
        # PostgreSQL agree: the second blocks on the primary key, inserts nothing, then
        # locks the row the first one committed.
        newest = AuditEvent.objects.order_by("-sequence").only("sequence", "hash").first()
        AuditChainHead.objects.bulk_create(
            [
                AuditChainHead(
                    pk=1,
                    sequence=newest.sequence if newest else 0,
                    hash=newest.hash if newest else GENESIS_HASH,
                )
            ],
            ignore_conflicts=True,
        )
        cursor.execute(select)
        row = cursor.fetchone()
    if row is None:  # pragma: no cover - the row was just inserted or already there
        raise RuntimeError("the audit chain head row could not be created")
    return int(row[0]), str(row[1])


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """One event for :func:`record_many`: what :func:`record` takes, but the actor."""

    action: str
    target_type: str
    target_id: str | int | None
    reason: str = ""
    metadata: dict[str, object] | None = None


def _checked(actor: Actor, planned: Planned) -> dict[str, Any]:
    """The columns of an event from what the caller put in, refusing what must not go in."""
    action, target_type = planned.action, planned.target_type
    if not _ACTION_RE.fullmatch(action) or len(action) > 64:
        raise AuditRecordError("action must be a dotted lowercase verb like 'case.read'")
    if not _TARGET_TYPE_RE.fullmatch(target_type) or len(target_type) > 64:
        raise AuditRecordError("target_type must be a lowercase name like 'case'")
    target = "" if planned.target_id is None else str(planned.target_id)
    if target and not _TARGET_ID_RE.fullmatch(target):
        raise AuditRecordError("target_id must be an id (letters, digits, _ : -)")
    return {
        "actor_user_id": actor.user_id,
        "actor_username": _check_text(actor.username, field="username", limit=150),
        "actor_role": actor.role or "",
        "agency_id": actor.agency_id,
        "membership_id": actor.membership_id,
        "action": action,
        "target_type": target_type,
        "target_id": target,
        "reason": _check_text(planned.reason.strip(), field="reason", limit=_MAX_REASON),
        "metadata": _clean_metadata(planned.metadata),
    }


def record(
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | int | None,
    reason: str = "",
    metadata: dict[str, object] | None = None,
) -> AuditEvent:
    """Appends one event to the audit chain and returns it.

    Call it inside the service's ``transaction.atomic`` block: the event then commits or
    rolls back with the work it describes. Called outside a transaction it opens its own.

    Never pass protected values: ``target_id`` is an id, ``metadata`` is small and
    non-identifying (counts, field names, states), ``reason`` is the actor's justification.
    Costs three queries whatever the size of the log: lock the head, insert, move the head
    (two on PostgreSQL, where the head moves in the insert's statement).
    """
    planned = Planned(
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        metadata=metadata,
    )
    return record_many(actor=actor, events=[planned])[0]


def record_many(*, actor: Actor, events: Sequence[Planned]) -> list[AuditEvent]:
    """Appends several events of one actor, in order, as :func:`record` would one by one,
    in the same three queries (lock the head, one INSERT of every row, move the head; two on
    PostgreSQL).

    For a service that does several audited things in one transaction (an intake creates
    her data key and his, then opens the case): the chain is the same as with separate
    calls, each event hashed on the previous one.
    """
    columns = [_checked(actor, planned) for planned in events]
    if not columns:
        return []
    request_id = (current_request_id() or "")[:64]

    _check_sqlite_serializes(connection)
    # savepoint=False: inside the caller's transaction this adds no savepoint (an audit
    # failure must fail the whole write); outside one it opens a transaction of its own.
    with transaction.atomic(savepoint=False), chain_writer():
        sequence, head_hash = _lock_head()
        # Taken under the lock, so times never go backwards along the chain (per clock).
        now = timezone.now()
        written: list[AuditEvent] = []
        for values in columns:
            sequence += 1
            event = AuditEvent(
                sequence=sequence,
                occurred_at=now,
                request_id=request_id,
                prev_hash=head_hash,
                **values,
            )
            event.hash = head_hash = event_hash(head_hash, event)
            written.append(event)
        _insert(written, head=(sequence, head_hash))
    return written


def _insert_fields() -> list[Any]:
    return [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]


def _moves_head_in_insert() -> bool:
    """PostgreSQL takes a data-modifying CTE: the head moves in the INSERT's own statement
    (one round trip fewer on every audited request). SQLite has none: a second statement."""
    return connection.vendor == "postgresql"


def _insert_sql(rows: int) -> str:
    fields = _insert_fields()
    qn = connection.ops.quote_name
    columns = ", ".join(qn(str(f.column)) for f in fields)
    row = f"({', '.join(['%s'] * len(fields))})"
    head = f"WITH moved AS ({_HEAD_UPDATE}) " if _moves_head_in_insert() else ""
    return (
        f"{head}INSERT INTO {qn(AuditEvent._meta.db_table)} ({columns}) "  # noqa: S608  # nosec B608
        f"VALUES {', '.join([row] * rows)} "
        f"RETURNING {qn(str(AuditEvent._meta.pk.column))}, {qn('sequence')}"
    )


_INSERT: dict[tuple[str, int], str] = {}


def _insert(events: Sequence[AuditEvent], *, head: tuple[int, str]) -> None:
    """INSERT the events and move the chain head to ``head`` (the caller holds it): one
    plain statement on PostgreSQL, two on SQLite, built once per database vendor and number
    of rows from the model's fields, each value prepared by its own field as the ORM would.
    ``Model.save`` cost more than the rest of an audited look-up together."""
    key = (connection.vendor, len(events))
    sql = _INSERT.get(key) or _INSERT.setdefault(key, _insert_sql(len(events)))
    fields = _insert_fields()
    params = [
        f.get_db_prep_save(getattr(event, f.attname), connection)
        for event in events
        for f in fields
    ]
    moves = _moves_head_in_insert()
    with connection.cursor() as cursor:
        cursor.execute(sql, [*head, *params] if moves else params)
        ids = {int(sequence): pk for pk, sequence in cursor.fetchall()}
        if not moves:
            cursor.execute(_HEAD_UPDATE, list(head))
    for event in events:
        event.pk = ids.get(event.sequence)
        event._state.adding = False
        event._state.db = connection.alias


# --- Reading the trail (keyset pagination, newest first) -------------------------------


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[AuditEvent]
    #: Pass as ``before`` to get the next (older) page; None on the last page.
    next_before: int | None


def _page(queryset: Any, *, before: int | None, limit: int) -> AuditPage:
    limit = max(1, min(limit, 200))
    if before is not None:
        queryset = queryset.filter(sequence__lt=before)
    rows = list(queryset.order_by("-sequence")[: limit + 1])
    more = len(rows) > limit
    events = rows[:limit]
    return AuditPage(events=events, next_before=events[-1].sequence if more else None)


def events_for_target(
    *,
    target_type: str,
    target_id: str | int,
    actions: Collection[str] | None = None,
    before: int | None = None,
    limit: int = 50,
) -> AuditPage:
    """The audit trail of one record, newest first, from the (target, sequence) index.

    Not scoped: who may see a record's trail (its unit chief, an auditor, the survivor for
    "who opened my file") is decided by the calling app's policy before it calls this.
    """
    queryset = AuditEvent.objects.filter(target_type=target_type, target_id=str(target_id))
    if actions is not None:
        queryset = queryset.filter(action__in=list(actions))
    return _page(queryset, before=before, limit=limit)


def events_for_actor(
    *,
    user_id: int,
    actions: Collection[str] | None = None,
    before: int | None = None,
    limit: int = 50,
) -> AuditPage:
    """Everything one person did, newest first. Not scoped: the caller's policy decides."""
    queryset = AuditEvent.objects.filter(actor_user_id=user_id)
    if actions is not None:
        queryset = queryset.filter(action__in=list(actions))
    return _page(queryset, before=before, limit=limit)


# --- Verification ------------------------------------------------------------------------


class ProblemKind(enum.StrEnum):
    CONTENT_EDITED = "content edited"
    EVENT_MISSING = "event missing"
    REORDERED = "reordered"
    PREV_HASH_MISMATCH = "prev_hash mismatch"
    TAIL_MISSING = "events missing at the end"
    HEAD_MISMATCH = "chain head mismatch"
    CHECKPOINT_SIGNATURE = "checkpoint signature invalid"
    CHECKPOINT_UNKNOWN_KEY = "checkpoint signed by an unknown key"
    CHECKPOINT_HEAD = "checkpoint does not match the chain"
    CHECKPOINT_BEYOND_CHAIN = "checkpoint beyond the end of the chain"


@dataclass(frozen=True, slots=True)
class ChainProblem:
    sequence: int
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        return f"event #{self.sequence}: {self.kind}: {self.detail}"


@dataclass(frozen=True, slots=True)
class VerificationReport:
    events: int
    checkpoints: int
    head_sequence: int
    head_hash: str
    problem: ChainProblem | None
    #: Events after the newest checkpoint (protected by the hash chain, not yet signed).
    unsigned_events: int

    @property
    def ok(self) -> bool:
        return self.problem is None


class ChainBrokenError(Exception):
    """The chain does not verify; carries the first problem found."""

    def __init__(self, problem: ChainProblem) -> None:
        self.problem = problem
        super().__init__(str(problem))


@dataclass(frozen=True, slots=True)
class CheckpointClaim:
    """A signed head, from the database or from an exported checkpoint log line."""

    sequence: int
    head_hash: str
    created_at: datetime
    key_id: str
    signature: str
    source: str

    @classmethod
    def from_row(cls, row: AuditCheckpoint) -> CheckpointClaim:
        return cls(
            sequence=row.sequence,
            head_hash=row.head_hash,
            created_at=row.created_at,
            key_id=row.key_id,
            signature=row.signature,
            source=f"checkpoint #{row.sequence}",
        )

    @classmethod
    def from_json_line(cls, line: str, *, source: str) -> CheckpointClaim:
        data = json.loads(line)
        return cls(
            sequence=int(data["sequence"]),
            head_hash=str(data["head_hash"]),
            created_at=datetime.fromisoformat(str(data["time"])),
            key_id=str(data["key_id"]),
            signature=str(data["signature"]),
            source=source,
        )

    def to_json_line(self) -> str:
        return json.dumps(
            {
                "sequence": self.sequence,
                "head_hash": self.head_hash,
                "time": _iso_utc(self.created_at),
                "key_id": self.key_id,
                "signature": self.signature,
            },
            sort_keys=True,
            separators=(",", ":"),
        )


def _iter_events(*, after: int, upto: int | None, batch_size: int) -> Iterator[AuditEvent]:
    """Events in sequence order, fetched by keyset in batches: constant memory, and no
    long-lived cursor or snapshot held against the writers."""
    last = after
    while True:
        queryset = AuditEvent.objects.filter(sequence__gt=last)
        if upto is not None:
            queryset = queryset.filter(sequence__lte=upto)
        batch = list(queryset.order_by("sequence")[:batch_size])
        if not batch:
            return
        yield from batch
        last = batch[-1].sequence


def _iter_checkpoint_rows(batch_size: int) -> Iterator[CheckpointClaim]:
    last = -1
    while True:
        batch = list(
            AuditCheckpoint.objects.filter(sequence__gt=last).order_by("sequence")[:batch_size]
        )
        if not batch:
            return
        for row in batch:
            yield CheckpointClaim.from_row(row)
        last = batch[-1].sequence


def _diagnose(event: AuditEvent, *, expected_prev: str) -> ChainProblem | None:
    """What is wrong with ``event`` given the hash its predecessor ends in, if anything."""
    recomputed = event_hash(event.prev_hash, event)
    links = event.prev_hash == expected_prev
    if recomputed == event.hash and links:
        return None
    if links:
        return ChainProblem(
            event.sequence,
            ProblemKind.CONTENT_EDITED,
            "the stored hash does not match the event's content (a field or the hash was edited)",
        )
    # Is its recorded predecessor somewhere else in the chain? Then rows were moved.
    predecessor = AuditEvent.objects.filter(hash=event.prev_hash).only("sequence").first()
    if predecessor is not None and predecessor.sequence != event.sequence - 1:
        return ChainProblem(
            event.sequence,
            ProblemKind.REORDERED,
            f"its recorded predecessor is now at #{predecessor.sequence}, "
            f"not #{event.sequence - 1} (sequence numbers were changed)",
        )
    if recomputed != event.hash:
        return ChainProblem(
            event.sequence,
            ProblemKind.CONTENT_EDITED,
            "its prev_hash was changed (the stored hash no longer matches)",
        )
    if event.sequence == 1:
        return ChainProblem(
            1,
            ProblemKind.PREV_HASH_MISMATCH,
            "the first event does not start from the genesis hash (it was rewritten)",
        )
    # This event is intact (its hash covers its prev_hash) but names a predecessor hash that
    # the event before it no longer has: that one was changed and its hash recomputed.
    return ChainProblem(
        event.sequence - 1,
        ProblemKind.PREV_HASH_MISMATCH,
        f"its hash is not the one #{event.sequence} records as its predecessor: "
        f"#{event.sequence - 1} was changed and its hash recomputed",
    )


class _Walk:
    """Recomputes the chain one event at a time from a known starting point."""

    def __init__(self, *, after: int = 0, running_hash: str = GENESIS_HASH) -> None:
        self.expected = after + 1
        self.running_hash = running_hash
        self.done = 0

    @property
    def last(self) -> int:
        return self.expected - 1

    def step(self, event: AuditEvent) -> None:
        if event.sequence != self.expected:
            missing = (
                f"#{self.expected}"
                if event.sequence == self.expected + 1
                else f"#{self.expected}–#{event.sequence - 1}"
            )
            raise ChainBrokenError(
                ChainProblem(
                    self.expected,
                    ProblemKind.EVENT_MISSING,
                    f"gap in the sequence: {missing} missing before #{event.sequence}",
                )
            )
        if problem := _diagnose(event, expected_prev=self.running_hash):
            raise ChainBrokenError(problem)
        self.running_hash = event.hash
        self.expected += 1
        self.done += 1


def _check_claim(claim: CheckpointClaim, *, walk: _Walk, keys: dict[str, Ed25519PublicKey]) -> None:
    if claim.sequence != walk.last:
        # A claim the walk stepped over: a signed sequence number that is not an event.
        raise ChainBrokenError(
            ChainProblem(
                claim.sequence,
                ProblemKind.CHECKPOINT_HEAD,
                f"{claim.source} signs #{claim.sequence}, which is not an event of the chain",
            )
        )
    public_key = keys.get(claim.key_id)
    if public_key is None:
        raise ChainBrokenError(
            ChainProblem(
                claim.sequence,
                ProblemKind.CHECKPOINT_UNKNOWN_KEY,
                f"{claim.source} names key {claim.key_id}, which is not a trusted audit key",
            )
        )
    message = checkpoint_message(
        sequence=claim.sequence,
        head_hash=claim.head_hash,
        created_at=claim.created_at,
        key_id=claim.key_id,
    )
    if not verify_signature(public_key, claim.signature, message):
        raise ChainBrokenError(
            ChainProblem(
                claim.sequence,
                ProblemKind.CHECKPOINT_SIGNATURE,
                f"{claim.source}: the signature does not verify (forged or altered checkpoint)",
            )
        )
    if claim.head_hash != walk.running_hash:
        raise ChainBrokenError(
            ChainProblem(
                claim.sequence,
                ProblemKind.CHECKPOINT_HEAD,
                f"{claim.source} signed head {claim.head_hash[:16]}… but the chain recomputed "
                f"up to #{claim.sequence} ends in {walk.running_hash[:16]}… (events up to here "
                "were rewritten)",
            )
        )


def _check_end(
    *, head: AuditChainHead | None, walk: _Walk, pending: CheckpointClaim | None
) -> None:
    """After the walk: nothing removed from the end, nothing appended around the head."""
    if head is None:
        if pending is not None:
            raise ChainBrokenError(
                ChainProblem(
                    walk.last + 1,
                    ProblemKind.CHECKPOINT_BEYOND_CHAIN,
                    f"{pending.source} signs #{pending.sequence} but the chain ends at "
                    f"#{walk.last} and has no head (events were removed from the end)",
                )
            )
        return
    if head.sequence > walk.last:
        raise ChainBrokenError(
            ChainProblem(
                walk.last + 1,
                ProblemKind.TAIL_MISSING,
                f"the chain head says #{head.sequence} but the last event is #{walk.last}",
            )
        )
    if head.hash != walk.running_hash:
        raise ChainBrokenError(
            ChainProblem(
                head.sequence,
                ProblemKind.HEAD_MISMATCH,
                f"the chain head's hash is not the hash of event #{walk.last}",
            )
        )
    # Anything past the head read at the start is either an append made during the walk
    # (verified next time) or a row the head never covered: re-read the head to tell.
    now_head = AuditChainHead.objects.filter(pk=1).first()
    now_sequence = now_head.sequence if now_head else 0
    if pending is not None and not (
        pending.sequence <= now_sequence
        and AuditEvent.objects.filter(sequence=pending.sequence).exists()
    ):
        raise ChainBrokenError(
            ChainProblem(
                walk.last + 1,
                ProblemKind.CHECKPOINT_BEYOND_CHAIN,
                f"{pending.source} signs #{pending.sequence} but the chain ends at "
                f"#{walk.last} (events were removed from the end)",
            )
        )
    stray = AuditEvent.objects.filter(sequence__gt=now_sequence).order_by("sequence").first()
    if stray is not None:
        raise ChainBrokenError(
            ChainProblem(
                stray.sequence,
                ProblemKind.HEAD_MISMATCH,
                f"event #{stray.sequence} lies beyond the chain head (#{now_sequence}): "
                "it was not appended through the chain",
            )
        )


def verify_chain(
    *,
    batch_size: int = 2000,
    progress: Callable[[int, int], None] | None = None,
    public_keys: dict[str, Ed25519PublicKey] | None = None,
    extra_checkpoints: Iterable[CheckpointClaim] = (),
) -> VerificationReport:
    """Walks the whole chain once, in batches, and reports the FIRST problem.

    Checks, per event in sequence order: no gap in the sequence, the stored hash matches the
    content and ``prev_hash``, and ``prev_hash`` is the predecessor's hash. At every
    checkpoint (database rows and ``extra_checkpoints``, e.g. an exported log, in sequence
    order): the Ed25519 signature with a trusted key, and that the recomputed chain at that
    sequence ends in the signed head hash. Finally that neither the chain head row nor a
    checkpoint points past the last event (events removed at the end).

    ``public_keys`` defaults to :func:`himaya.core.signing.trusted_public_keys`.
    ``progress(done, total)`` is called after every batch.
    """
    keys = trusted_public_keys() if public_keys is None else public_keys
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None:
        # The walk stops at the head read now: events appended while we walk are checked
        # next time. Without a head row, walk whatever is there.
        upto: int | None = head.sequence
        total = head.sequence
    else:
        newest = AuditEvent.objects.order_by("-sequence").only("sequence").first()
        upto, total = None, newest.sequence if newest else 0
    claims = heapq.merge(
        _iter_checkpoint_rows(batch_size), extra_checkpoints, key=lambda claim: claim.sequence
    )
    pending = next(claims, None)
    walk = _Walk()
    checkpoints = last_signed = 0
    problem: ChainProblem | None = None
    try:
        for event in _iter_events(after=0, upto=upto, batch_size=batch_size):
            walk.step(event)
            while pending is not None and pending.sequence <= event.sequence:
                _check_claim(pending, walk=walk, keys=keys)
                checkpoints += 1
                last_signed = event.sequence
                pending = next(claims, None)
            if progress is not None and walk.done % batch_size == 0:
                progress(walk.done, total)
        _check_end(head=head, walk=walk, pending=pending)
    except ChainBrokenError as exc:
        problem = exc.problem
    if progress is not None and walk.done % batch_size != 0:
        progress(walk.done, total)
    return VerificationReport(
        events=walk.done,
        checkpoints=checkpoints,
        head_sequence=head.sequence if head else 0,
        head_hash=head.hash if head else GENESIS_HASH,
        problem=problem,
        unsigned_events=max(0, walk.last - last_signed),
    )


# --- Checkpoints -------------------------------------------------------------------------


def create_checkpoint(*, signing_key: SigningKey | None = None) -> AuditCheckpoint | None:
    """Signs the current head; None when nothing was appended since the last checkpoint.

    Before signing, re-verifies the events since the previous checkpoint against that
    checkpoint's head (work proportional to the events of one period, not to the log), so
    a checkpoint is never put on top of a chain that was already tampered with. Raises
    :class:`ChainBrokenError` in that case, and ImproperlyConfigured when there is no key.
    """
    key = signing_key or load_signing_key()
    try:
        return _sign_head(key)
    except IntegrityError:
        # Another worker signed the same head at the same moment: one checkpoint is enough.
        return None


def _sign_head(key: SigningKey) -> AuditCheckpoint | None:
    with transaction.atomic(), chain_writer():
        head = AuditChainHead.objects.filter(pk=1).first()
        if head is None or head.sequence == 0:
            return None
        previous = AuditCheckpoint.objects.order_by("-sequence").first()
        if previous is not None and previous.sequence >= head.sequence:
            return None
        walk = (
            _Walk(after=previous.sequence, running_hash=previous.head_hash)
            if previous is not None
            else _Walk()
        )
        for event in _iter_events(after=walk.last, upto=head.sequence, batch_size=2000):
            walk.step(event)
        if walk.last != head.sequence or walk.running_hash != head.hash:
            raise ChainBrokenError(
                ChainProblem(
                    walk.last + 1 if walk.last < head.sequence else head.sequence,
                    ProblemKind.HEAD_MISMATCH,
                    "the chain head does not match the events before it",
                )
            )
        created_at = timezone.now()
        signature = key.sign(
            checkpoint_message(
                sequence=head.sequence,
                head_hash=head.hash,
                created_at=created_at,
                key_id=key.key_id,
            )
        )
        checkpoint = AuditCheckpoint(
            sequence=head.sequence,
            head_hash=head.hash,
            created_at=created_at,
            key_id=key.key_id,
            signature=signature,
        )
        checkpoint.save()
    return checkpoint


# --- PostgreSQL: refuse UPDATE and DELETE in the database itself -------------------------

_PROTECTED_TABLES = ("core_auditevent", "core_auditcheckpoint")

APPEND_ONLY_TRIGGERS_SQL = """
CREATE OR REPLACE FUNCTION himaya_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'himaya: % on % refused: the audit log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
""" + "".join(
    f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION himaya_audit_append_only();
"""
    for table in _PROTECTED_TABLES
)
"""Installs row triggers refusing UPDATE and DELETE on the audit and checkpoint tables.

TRUNCATE is deliberately not refused here (the test suite's flush uses it); production
revokes UPDATE, DELETE and TRUNCATE on these tables from the application's role instead.
"""

REMOVE_APPEND_ONLY_TRIGGERS_SQL = (
    "".join(
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};\n" for table in _PROTECTED_TABLES
    )
    + "DROP FUNCTION IF EXISTS himaya_audit_append_only();\n"
)


def install_append_only_triggers(conn: BaseDatabaseWrapper) -> None:
    """Installs the append-only triggers on PostgreSQL; does nothing on other databases.

    For a migration: ``RunPython`` calling this with ``schema_editor.connection``, or
    ``RunSQL(APPEND_ONLY_TRIGGERS_SQL, REMOVE_APPEND_ONLY_TRIGGERS_SQL)`` guarded to
    PostgreSQL. Idempotent.
    """
    if conn.vendor != "postgresql":
        return
    with conn.cursor() as cursor:
        cursor.execute(APPEND_ONLY_TRIGGERS_SQL)


def remove_append_only_triggers(conn: BaseDatabaseWrapper) -> None:
    if conn.vendor != "postgresql":
        return
    with conn.cursor() as cursor:
        cursor.execute(REMOVE_APPEND_ONLY_TRIGGERS_SQL)
