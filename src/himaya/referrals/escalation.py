"""Overdue referrals escalate: first to the unit chief, then to the central unit.

A referral still ``sent`` after its ``deadline_at`` is overdue:

* level 1 (``CHIEF``): an ``Alert`` of kind ``REFERRAL_OVERDUE`` to the chief of the unit
  concerned -- the receiving unit for a referral to a unit, the referring unit for a referral
  to a service (the service has no chief in Himaya; the unit that referred her follows up);
* level 2 (``CENTRAL``), ``REFERRAL_ESCALATION_HOURS`` after the deadline: an alert to every
  active central unit, naming the agency that has not answered.

``escalate_overdue`` is the periodic job (registered in ``apps.py``). It is set-based: per
batch one ``UPDATE … RETURNING`` of the due rows (``SKIP LOCKED`` on PostgreSQL, so it
never waits for a person accepting one of them, and two runners never take the same rows;
SQLite holds its write lock), one insert of referral events, one of alerts, one of case
timeline entries (through ``cases.from_referral.overdue_bulk``) and one audit event for
the whole batch, none building a model object per row: the work grows with the number of
due rows, never one query per row. It is idempotent: a
row escalated once is no longer due at that level.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from himaya.cases import from_referral
from himaya.core import audit
from himaya.core.actor import SYSTEM
from himaya.network.models import Agency, AgencyKind
from himaya.referrals.models import Referral, ReferralEvent, ReferralKind
from himaya.referrals.states import EscalationLevel, ReferralState

BATCH_SIZE = 2000


@dataclass(frozen=True, slots=True)
class EscalationReport:
    to_chief: int
    to_central: int


def _second_period() -> timedelta:
    hours = getattr(settings, "REFERRAL_ESCALATION_HOURS", 24)
    return timedelta(hours=hours if isinstance(hours, int) and hours > 0 else 24)


def _due(
    level: int, cutoff: datetime, size: int
) -> list[tuple[uuid.UUID, str, int, int, uuid.UUID | None]]:
    # The partial index's own condition is repeated (``escalation_level < CENTRAL``):
    # SQLite uses a partial index only when the query states its WHERE terms, otherwise
    # it scans the whole table once per batch.
    queryset = Referral.objects.filter(
        state=ReferralState.SENT,
        escalation_level=level,
        escalation_level__lt=EscalationLevel.CENTRAL,
        deadline_at__lte=cutoff,
    ).order_by("escalation_level", "deadline_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    return list(
        queryset.values_list("id", "kind", "from_agency_id", "to_agency_id", "case_id")[:size]
    )


type Row = tuple[uuid.UUID, str, int, int, uuid.UUID | None]


def _take_orm(level: int, *, now: datetime, cutoff: datetime, size: int) -> list[Row]:
    """Lock, move and journal one batch with the ORM (SQLite, and small databases)."""
    rows = _due(level, cutoff, size)
    if not rows:
        return []
    target = level + 1
    Referral.objects.filter(pk__in=[row[0] for row in rows]).update(
        escalation_level=target, escalated_at=now, updated_at=now
    )
    ReferralEvent.objects.bulk_create(
        [
            ReferralEvent(referral_id=row[0], kind=_event_kind(target), metadata={"level": target})
            for row in rows
        ],
        batch_size=1000,
    )
    return rows


def _take_postgresql(level: int, *, now: datetime, cutoff: datetime, size: int) -> list[Row]:
    """The same in two statements on PostgreSQL: one ``UPDATE … RETURNING`` over the locked
    due rows (``SKIP LOCKED``), one ``INSERT … SELECT unnest(…)`` of their events. No
    per-row parameters and no model objects: the batch's cost is the database's."""
    referral = connection.ops.quote_name(Referral._meta.db_table)
    event = connection.ops.quote_name(ReferralEvent._meta.db_table)
    target = level + 1
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH due AS (SELECT id FROM {referral} "  # noqa: S608  # nosec B608 - model's table
            "WHERE state = %s AND escalation_level = %s AND deadline_at <= %s "
            "ORDER BY escalation_level, deadline_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"UPDATE {referral} AS r "
            "SET escalation_level = %s, escalated_at = %s, updated_at = %s "
            "FROM due WHERE r.id = due.id "
            "RETURNING r.id, r.kind, r.from_agency_id, r.to_agency_id, r.case_id",
            [ReferralState.SENT, level, cutoff, size, target, now, now],
        )
        rows: list[Row] = [tuple(row) for row in cursor.fetchall()]
        if rows:
            cursor.execute(
                f"INSERT INTO {event} "  # nosec B608 - model's table
                "(referral_id, at, kind, from_state, to_state, metadata) "
                "SELECT unnest(%s::uuid[]), %s, %s, '', '', %s::jsonb",
                [
                    [row[0] for row in rows],
                    now,
                    _event_kind(target),
                    json.dumps({"level": target}),
                ],
            )
    return rows


def _take_sqlite(level: int, *, now: datetime, cutoff: datetime, size: int) -> list[Row]:
    """The same in two statements on SQLite (which holds the write lock for the whole
    transaction, so nothing else can take these rows): one ``UPDATE … RETURNING`` of the
    due rows, one ``INSERT … SELECT`` of their events from ``json_each``. Values as the
    ORM stores them (UUIDs as 32 hex digits, times as text)."""
    referral = connection.ops.quote_name(Referral._meta.db_table)
    event = connection.ops.quote_name(ReferralEvent._meta.db_table)
    target = level + 1
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {referral} "  # noqa: S608  # nosec B608 - model's table
            "SET escalation_level = %s, escalated_at = %s, updated_at = %s "
            f"WHERE id IN (SELECT id FROM {referral} "
            # The partial index's own condition, so that SQLite uses it (see ``_due``).
            "WHERE state = %s AND escalation_level = %s AND escalation_level < %s "
            "AND deadline_at <= %s ORDER BY escalation_level, deadline_at, id LIMIT %s) "
            "RETURNING id, kind, from_agency_id, to_agency_id, case_id",
            [
                target,
                at,
                at,
                ReferralState.SENT,
                level,
                EscalationLevel.CENTRAL,
                connection.ops.adapt_datetimefield_value(cutoff),
                size,
            ],
        )
        rows: list[Row] = [
            (uuid.UUID(rid), kind, from_agency, to_agency, uuid.UUID(case) if case else None)
            for rid, kind, from_agency, to_agency, case in cursor.fetchall()
        ]
        if rows:
            cursor.execute(
                f"INSERT INTO {event} "  # noqa: S608  # nosec B608 - model's table
                "(referral_id, at, kind, from_state, to_state, metadata) "
                "SELECT value, %s, %s, '', '', %s FROM json_each(%s)",
                [
                    at,
                    _event_kind(target),
                    json.dumps({"level": target}),
                    json.dumps([row[0].hex for row in rows]),
                ],
            )
    return rows


def _event_kind(target: int) -> str:
    return "escalated_chief" if target == EscalationLevel.CHIEF else "escalated_central"


def _batch(level: int, *, now: datetime, cutoff: datetime, size: int, central: list[int]) -> int:
    """Escalate one batch to ``level + 1``; returns how many rows it took."""
    take = {"postgresql": _take_postgresql, "sqlite": _take_sqlite}.get(
        connection.vendor, _take_orm
    )
    with transaction.atomic():
        rows = take(level, now=now, cutoff=cutoff, size=size)
        if not rows:
            return 0
        target = level + 1
        alerts: list[tuple[int, uuid.UUID | None, int | None]] = []
        for _id, kind, from_agency, to_agency, case_id in rows:
            if target == EscalationLevel.CHIEF:
                chief_unit = to_agency if kind == ReferralKind.TO_UNIT else from_agency
                other = from_agency if kind == ReferralKind.TO_UNIT else to_agency
                alerts.append((chief_unit, case_id, other))
            else:
                # The central unit is told which agency has not answered, never the case.
                alerts.extend((unit, None, to_agency) for unit in central)
        from_referral.overdue_bulk(
            alerts=alerts,
            timeline=[
                (case_id, {"referral": str(rid), "level": target, "agency": to_agency})
                for rid, _kind, _from, to_agency, case_id in rows
                if case_id is not None
            ],
            now=now,
        )
        audit.record(
            actor=SYSTEM,
            action="referral.escalate",
            target_type="referrals.referral",
            target_id=None,
            metadata={"level": target, "count": len(rows), "alerts": len(alerts)},
        )
        return len(rows)


def escalate_overdue(
    *, now: datetime | None = None, batch_size: int = BATCH_SIZE, max_batches: int | None = None
) -> EscalationReport:
    """Escalate every overdue referral one level (chief, then central unit), in batches."""
    now = now or timezone.now()
    central = list(
        Agency.objects.filter(kind=AgencyKind.CENTRAL_UNIT, is_active=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    counts = {EscalationLevel.NONE: 0, EscalationLevel.CHIEF: 0}
    cutoffs = {EscalationLevel.NONE: now, EscalationLevel.CHIEF: now - _second_period()}
    for level in (EscalationLevel.NONE, EscalationLevel.CHIEF):
        batches = 0
        while max_batches is None or batches < max_batches:
            taken = _batch(level, now=now, cutoff=cutoffs[level], size=batch_size, central=central)
            counts[level] += taken
            batches += 1
            if taken < batch_size:
                break
    return EscalationReport(
        to_chief=counts[EscalationLevel.NONE], to_central=counts[EscalationLevel.CHIEF]
    )


def run() -> None:
    """The scheduled job's entry point."""
    escalate_overdue()
