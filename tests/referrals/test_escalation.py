"""Overdue referrals escalate: to the unit chief at the deadline, to the central unit one
period later; set-based, idempotent, and an answered referral never escalates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from himaya.cases.models import Alert, AlertKind, TimelineEntry
from himaya.core import schedule
from himaya.referrals import escalation, services
from himaya.referrals.models import Referral, ReferralEvent
from himaya.referrals.states import EscalationLevel
from tests.referrals.helpers import (
    case_with_consent,
    make_world,
    refer_first_contact,
    refer_to_shelter,
)

pytestmark = pytest.mark.django_db


def _overdue(alerts_for: int) -> list[Alert]:
    return list(Alert.objects.filter(agency_id=alerts_for, kind=AlertKind.REFERRAL_OVERDUE))


def test_the_job_is_registered() -> None:
    assert "referrals.escalate_overdue" in {job.name for job in schedule.jobs()}


def test_an_overdue_referral_alerts_the_unit_chief_then_the_central_unit(settings: object) -> None:
    settings.REFERRAL_ESCALATION_HOURS = 12  # type: ignore[attr-defined]
    world = make_world()
    referral = refer_first_contact(world)
    # Not due yet: nothing happens.
    assert escalation.escalate_overdue() == escalation.EscalationReport(0, 0)
    late = referral.deadline_at + timedelta(minutes=1)
    report = escalation.escalate_overdue(now=late)
    assert report == escalation.EscalationReport(to_chief=1, to_central=0)
    assert len(_overdue(world.unit.pk)) == 1
    assert _overdue(world.central.pk) == []
    assert Referral.objects.get(pk=referral.pk).escalation_level == EscalationLevel.CHIEF
    # Running again at the same time escalates nothing twice.
    assert escalation.escalate_overdue(now=late) == escalation.EscalationReport(0, 0)
    later = referral.deadline_at + timedelta(hours=12, minutes=1)
    assert escalation.escalate_overdue(now=later).to_central == 1
    central = _overdue(world.central.pk)
    assert len(central) == 1
    assert central[0].case_id is None
    assert central[0].other_agency_id == world.unit.pk
    assert Referral.objects.get(pk=referral.pk).escalation_level == EscalationLevel.CENTRAL
    assert list(
        ReferralEvent.objects.filter(referral=referral)
        .exclude(kind="sent")
        .values_list("kind", flat=True)
    ) == ["escalated_chief", "escalated_central"]


def test_an_overdue_service_referral_alerts_the_referring_units_chief() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    now = referral.deadline_at + timedelta(seconds=1)
    escalation.escalate_overdue(now=now)
    alert = Alert.objects.get(kind=AlertKind.REFERRAL_OVERDUE)
    assert alert.agency_id == world.unit.pk
    assert alert.case_id == case.pk
    assert alert.other_agency_id == world.shelter.pk
    assert alert.created_at == now
    # Written in bulk in plain SQL: the rows must read back through the models exactly
    # as the ORM would have written them.
    entry = TimelineEntry.objects.get(case=case, kind="referral_overdue")
    assert entry.metadata == {"referral": str(referral.pk), "level": 1, "agency": world.shelter.pk}
    assert entry.at == now
    event = ReferralEvent.objects.get(referral=referral, kind="escalated_chief")
    assert (event.at, event.metadata) == (now, {"level": 1})
    row = Referral.objects.get(pk=referral.pk)
    assert (row.escalation_level, row.escalated_at) == (EscalationLevel.CHIEF, now)


def test_an_accepted_referral_never_escalates() -> None:
    world = make_world()
    referral = refer_first_contact(world)
    services.referral_accept(actor=world.chief, referral_id=referral.pk)
    report = escalation.escalate_overdue(now=timezone.now() + timedelta(days=30))
    assert report == escalation.EscalationReport(0, 0)
    assert not Alert.objects.filter(kind=AlertKind.REFERRAL_OVERDUE).exists()


def test_the_job_works_in_batches_with_a_fixed_number_of_queries() -> None:
    world = make_world()
    referrals = [refer_first_contact(world) for _ in range(7)]
    # Make them look overdue without waiting (and prove the job ignores other states).
    Referral.objects.update(deadline_at=timezone.now() - timedelta(hours=1))
    with CaptureQueriesContext(connection) as small:
        escalation.escalate_overdue(batch_size=100)
    Referral.objects.update(escalation_level=0)
    with CaptureQueriesContext(connection) as batched:
        report = escalation.escalate_overdue(batch_size=3)
    assert report.to_chief == len(referrals)
    # Three batches of at most three rows: the number of queries grows with batches, not rows.
    assert len(batched.captured_queries) <= 3 * len(small.captured_queries)
    assert len(small.captured_queries) <= 20
