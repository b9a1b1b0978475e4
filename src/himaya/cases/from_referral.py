"""What the referrals app needs from the case file, as two small public functions.

* ``case_open_from_first_contact``: a unit accepts a district focal point's referral and her
  first-contact record becomes the start of the case. Nothing is re-typed, and nothing is
  re-encrypted under another key: the survivor record is sealed with the first contact's own
  data key (through an intake draft holding that key, the way the guided intake already
  hands its key to the case), so erasing her erases both.
* ``timeline_add``: a referral step written on the case's timeline (kinds and ids only).
* ``referral_grant_end``: the receiving agency's access ends with the referral.
* ``overdue_bulk`` and ``referral_declined_alert``: the alerts referrals raise for a chief
  (and the escalation job's timeline entries, inserted in bulk).

Both are called from ``referrals.services`` inside its transaction, after its own policy
check; they check the case policy again, so they cannot be used to reach another unit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db import connection
from django.utils import timezone

from himaya.cases import policies
from himaya.cases.intake import IntakeData
from himaya.cases.models import Alert, AlertKind, CaseFile, Grant, IntakeDraft, TimelineEntry
from himaya.cases.policies import Action
from himaya.cases.services import IntakeOutcome, case_open_with_outcome
from himaya.core import audit
from himaya.core.actor import Actor, person_id
from himaya.core.errors import NotFound, PermissionDenied

__all__ = [
    "case_open_from_first_contact",
    "overdue_bulk",
    "referral_declined_alert",
    "referral_grant_end",
    "timeline_add",
]


def case_open_from_first_contact(
    *, actor: Actor, data: IntakeData, data_key_id: uuid.UUID, idempotency_key: str
) -> IntakeOutcome:
    """Open her case in the actor's unit from ``data`` (built from the first contact), her
    survivor record sealed with ``data_key_id``. Idempotent on ``idempotency_key`` like every
    intake: accepting twice opens one case."""
    policies.require(actor, Action.OPEN_CASE)
    if actor.agency_id is None:
        raise PermissionDenied
    existing = CaseFile.objects.filter(
        unit_id=actor.agency_id, idempotency_key=idempotency_key
    ).first()
    if existing is not None:
        return IntakeOutcome(case=existing, created=False)
    draft = IntakeDraft.objects.create(
        unit_id=actor.agency_id,
        data_key_id=data_key_id,
        created_by_id=person_id(actor),
        step="review",
    )
    return case_open_with_outcome(
        actor=actor, data=data, idempotency_key=idempotency_key, draft_id=draft.pk
    )


def timeline_add(
    *, actor: Actor | None, case_id: uuid.UUID, kind: str, **metadata: object
) -> TimelineEntry:
    """A referral step on the case's timeline. ``actor`` None: the system (escalation)."""
    case = CaseFile.objects.filter(pk=case_id).first()
    if case is None:
        raise NotFound
    if actor is not None and not actor.is_system and policies.access_for(actor, case) is None:
        raise NotFound
    return TimelineEntry.objects.create(
        case=case,
        actor_id=actor.user_id if actor is not None else None,
        kind=kind,
        metadata=metadata,
    )


def referral_grant_end(*, actor: Actor, grant_id: uuid.UUID) -> bool:
    """End the grant a referral rests on, whoever closes the referral (the receiver who
    declines or completes, the sender who withdraws). True when it was still live.

    ``grant_end`` is the holding unit's door; this one is for ``referrals.services``, which
    has already decided that this actor may end this referral."""
    grant = Grant.objects.select_for_update().filter(pk=grant_id).first()
    if grant is None or grant.revoked_at is not None:
        return False
    now = timezone.now()
    grant.revoked_at = now
    grant.save(update_fields=["revoked_at"])
    TimelineEntry.objects.create(
        case_id=grant.case_id,
        actor_id=actor.user_id,
        kind="sharing_ended",
        metadata={"agency": grant.agency_id, "referral": True},
    )
    audit.record(
        actor=actor,
        action="case.share_end",
        target_type="cases.case",
        target_id=str(grant.case_id),
        metadata={"grant": str(grant.pk), "referral": True},
    )
    return True


def overdue_bulk(
    *,
    alerts: Sequence[tuple[int, uuid.UUID | None, int | None]],
    timeline: Sequence[tuple[uuid.UUID, dict[str, object]]],
    now: datetime,
) -> None:
    """The escalation job's writes to the case side, set-based: ``REFERRAL_OVERDUE`` alerts
    as ``(agency, case or None, other agency)`` and ``referral_overdue`` timeline entries as
    ``(case, metadata)``, each one insert whatever the batch size (on PostgreSQL one
    ``INSERT … SELECT unnest(…)`` without model objects). The system acts."""
    if connection.vendor == "postgresql":
        _overdue_bulk_postgresql(alerts=alerts, timeline=timeline, now=now)
        return
    if connection.vendor == "sqlite":
        _overdue_bulk_sqlite(alerts=alerts, timeline=timeline, now=now)
        return
    Alert.objects.bulk_create(
        [
            Alert(
                agency_id=agency_id,
                kind=AlertKind.REFERRAL_OVERDUE,
                case_id=case_id,
                other_agency_id=other_id,
            )
            for agency_id, case_id, other_id in alerts
        ],
        batch_size=1000,
    )
    TimelineEntry.objects.bulk_create(
        [
            TimelineEntry(case_id=case_id, kind="referral_overdue", metadata=metadata)
            for case_id, metadata in timeline
        ],
        batch_size=1000,
    )


def _overdue_bulk_postgresql(
    *,
    alerts: Sequence[tuple[int, uuid.UUID | None, int | None]],
    timeline: Sequence[tuple[uuid.UUID, dict[str, object]]],
    now: datetime,
) -> None:
    alert_table = connection.ops.quote_name(Alert._meta.db_table)
    timeline_table = connection.ops.quote_name(TimelineEntry._meta.db_table)
    with connection.cursor() as cursor:
        if alerts:
            cursor.execute(
                f"INSERT INTO {alert_table} "  # noqa: S608  # nosec B608 - model's table
                "(agency_id, kind, case_id, other_agency_id, created_at) "
                "SELECT a, %s, c, o, %s "
                "FROM unnest(%s::integer[], %s::uuid[], %s::integer[]) AS t(a, c, o)",
                [
                    AlertKind.REFERRAL_OVERDUE.value,
                    now,
                    [a for a, _c, _o in alerts],
                    [c for _a, c, _o in alerts],
                    [o for _a, _c, o in alerts],
                ],
            )
        if timeline:
            cursor.execute(
                f"INSERT INTO {timeline_table} "  # noqa: S608  # nosec B608 - model's table
                "(case_id, at, kind, from_state, to_state, metadata) "
                "SELECT c, %s, 'referral_overdue', '', '', m::jsonb "
                "FROM unnest(%s::uuid[], %s::text[]) AS t(c, m)",
                [now, [c for c, _m in timeline], [json.dumps(m) for _c, m in timeline]],
            )


def _overdue_bulk_sqlite(
    *,
    alerts: Sequence[tuple[int, uuid.UUID | None, int | None]],
    timeline: Sequence[tuple[uuid.UUID, dict[str, object]]],
    now: datetime,
) -> None:
    """The same two inserts on SQLite, the rows passed as one JSON array read by
    ``json_each``: building model objects for ``bulk_create`` was two thirds of a batch.
    Values are stored as the ORM stores them (UUIDs as 32 hex digits, times as text)."""
    alert_table = connection.ops.quote_name(Alert._meta.db_table)
    timeline_table = connection.ops.quote_name(TimelineEntry._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if alerts:
            cursor.execute(
                f"INSERT INTO {alert_table} "  # noqa: S608  # nosec B608 - model's table
                "(agency_id, kind, case_id, other_agency_id, created_at) "
                "SELECT json_extract(value, '$[0]'), %s, json_extract(value, '$[1]'), "
                "json_extract(value, '$[2]'), %s FROM json_each(%s)",
                [
                    AlertKind.REFERRAL_OVERDUE.value,
                    at,
                    json.dumps([[a, c.hex if c else None, o] for a, c, o in alerts]),
                ],
            )
        if timeline:
            cursor.execute(
                f"INSERT INTO {timeline_table} "  # noqa: S608  # nosec B608 - model's table
                "(case_id, at, kind, from_state, to_state, metadata) "
                "SELECT json_extract(value, '$[0]'), %s, 'referral_overdue', '', '', "
                "json_extract(value, '$[1]') FROM json_each(%s)",
                [at, json.dumps([[c.hex, m] for c, m in timeline])],
            )


def referral_declined_alert(*, unit_id: int, case_id: uuid.UUID | None, agency_id: int) -> Alert:
    """The referring unit's chief learns that a service declined her (and picks another)."""
    return Alert.objects.create(
        agency_id=unit_id,
        kind=AlertKind.REFERRAL_DECLINED,
        case_id=case_id,
        other_agency_id=agency_id,
    )
