"""Protection measures (Law 103-13): validated, sealed where identifying, told to her;
breaches alert the unit chief and the office at once; near expiry, flagged once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.cases.models import Alert, AlertKind, Dependant, Notice, NoticeEvent, TimelineEntry
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.justice import services
from himaya.justice.models import Breach, BreachReporter, Decision, ProtectionMeasure
from himaya.justice.states import DecisionKind, MeasureState
from tests.cases.helpers import make_person, new_key
from tests.justice.helpers import forward, her_case, make_world, order_measure, raw_column

pytestmark = pytest.mark.django_db


def test_a_measure_is_recorded_as_a_decision_and_told_to_her() -> None:
    world = make_world()
    complaint = forward(world)
    measure = order_measure(world, complaint, conditions="Not within the street of her school.")
    assert measure.state == MeasureState.ACTIVE
    assert Decision.objects.filter(
        complaint=complaint, kind=DecisionKind.PROTECTION_MEASURES
    ).exists()
    assert Notice.objects.filter(case=complaint.case, event=NoticeEvent.MEASURE_ORDERED).exists()
    assert b"school" not in raw_column(ProtectionMeasure, "conditions", measure.pk)
    assert TimelineEntry.objects.filter(
        case=complaint.case, kind="justice_measure_ordered"
    ).exists()


def test_a_measure_ending_before_it_starts_is_refused_on_the_end_field() -> None:
    world = make_world()
    complaint = forward(world)
    today = timezone.localdate()
    with pytest.raises(InvalidInput) as refused:
        order_measure(world, complaint, starts_on=today, ends_on=today - timedelta(days=1))
    assert "ends_on" in refused.value.fields
    assert not ProtectionMeasure.objects.exists()


def test_no_approach_needs_a_distance_and_unknown_kinds_are_refused() -> None:
    world = make_world()
    complaint = forward(world)
    with pytest.raises(InvalidInput) as refused:
        order_measure(world, complaint, kind="no_approach")
    assert "distance_m" in refused.value.fields
    with pytest.raises(InvalidInput) as unknown:
        order_measure(world, complaint, kind="exile")
    assert "kind" in unknown.value.fields
    measure = order_measure(world, complaint, kind="no_approach", distance_m=300)
    assert measure.distance_m == 300


def test_extra_measure_kinds_come_from_configuration(settings: Any) -> None:
    settings.HIMAYA_JUSTICE_EXTRA_MEASURE_KINDS = {
        "joint_property": "No disposal of joint property"
    }
    world = make_world()
    complaint = forward(world)
    assert order_measure(world, complaint, kind="joint_property").kind == "joint_property"


def test_protected_persons_are_her_and_the_dependants_of_her_case_only() -> None:
    world = make_world()
    complaint = forward(world)
    child = Dependant.objects.get(case=complaint.case)
    measure = order_measure(world, complaint, protected=["survivor", str(child.pk)])
    assert measure.protected == ["survivor", str(child.pk)]
    other = her_case(world)
    strangers_child = Dependant.objects.get(case=other)
    with pytest.raises(InvalidInput) as refused:
        order_measure(world, complaint, protected=[str(strangers_child.pk)])
    assert "protected" in refused.value.fields
    with pytest.raises(InvalidInput):
        order_measure(world, complaint, protected=[])


def test_the_unit_cannot_order_a_measure() -> None:
    world = make_world()
    complaint = forward(world)
    with pytest.raises(PermissionDenied):
        order_measure(world, complaint, actor=world.chief.actor)
    assert not ProtectionMeasure.objects.exists()


def test_a_breach_reported_by_the_unit_alerts_the_chief_and_the_office_at_once() -> None:
    world = make_world()
    complaint = forward(world)
    measure = order_measure(world, complaint)
    breach = services.breach_report(
        actor=world.officer.actor, measure_id=measure.pk, description="He waited at her door."
    )
    assert breach.reported_by_kind == BreachReporter.UNIT
    alerted = set(
        Alert.objects.filter(kind=AlertKind.MEASURE_BREACH, case=complaint.case).values_list(
            "agency_id", flat=True
        )
    )
    assert alerted == {world.unit.pk, world.office.pk}
    assert TimelineEntry.objects.filter(
        case=complaint.case, kind="justice_breach_reported"
    ).exists()


def test_a_breach_reported_by_the_prosecutor_is_marked_so() -> None:
    world = make_world()
    complaint = forward(world)
    measure = order_measure(world, complaint)
    breach = services.breach_report(
        actor=world.prosecutor.actor, measure_id=measure.pk, description="Calls every night."
    )
    assert breach.reported_by_kind == BreachReporter.PROSECUTOR


def test_her_own_breach_report_is_idempotent_and_alerts_both() -> None:
    world = make_world()
    complaint = forward(world)
    measure = order_measure(world, complaint)
    key = new_key()
    first = services.breach_report_by_survivor(
        case=complaint.case,
        measure_id=measure.pk,
        description="He came to my work.",
        idempotency_key=key,
    )
    again = services.breach_report_by_survivor(
        case=complaint.case,
        measure_id=measure.pk,
        description="He came to my work.",
        idempotency_key=key,
    )
    assert again.pk == first.pk
    assert first.reported_by_kind == BreachReporter.SURVIVOR
    assert first.reported_by_id is None
    assert Breach.objects.count() == 1
    assert Alert.objects.filter(kind=AlertKind.MEASURE_BREACH).count() == 2


def test_she_cannot_report_on_a_measure_of_another_case() -> None:
    world = make_world()
    complaint = forward(world)
    measure = order_measure(world, complaint)
    other = her_case(world)
    with pytest.raises(NotFound):
        services.breach_report_by_survivor(
            case=other, measure_id=measure.pk, description="x", idempotency_key=new_key()
        )


def test_an_outsider_cannot_report_a_breach() -> None:
    world = make_world()
    complaint = forward(world)
    measure = order_measure(world, complaint)
    stranger = make_person(Role.UNIT_OFFICER)
    with pytest.raises(NotFound):
        services.breach_report(actor=stranger.actor, measure_id=measure.pk, description="x")


def test_the_expiry_job_flags_each_measure_once() -> None:
    world = make_world()
    complaint = forward(world)
    today = timezone.localdate()
    soon = order_measure(world, complaint, ends_on=today + timedelta(days=3))
    later = order_measure(world, complaint, ends_on=today + timedelta(days=60))
    forever = order_measure(world, complaint, ends_on=None)
    ProtectionMeasure.objects.filter(pk=forever.pk).update(ends_on=None)

    assert services.flag_expiring_measures() == 1
    assert services.flag_expiring_measures() == 0

    soon.refresh_from_db()
    later.refresh_from_db()
    assert soon.review_flagged_at is not None
    assert later.review_flagged_at is None
    alerts = Alert.objects.filter(kind=AlertKind.MEASURE_EXPIRING)
    assert set(alerts.values_list("agency_id", flat=True)) == {world.unit.pk, world.office.pk}
    assert alerts.count() == 2
    assert (
        Notice.objects.filter(case=complaint.case, event=NoticeEvent.MEASURE_ENDING)
        .values("dedupe_key")
        .distinct()
        .count()
        == 1
    )


def test_the_expiry_job_ends_measures_past_their_end_and_works_in_batches() -> None:
    world = make_world()
    complaint = forward(world)
    today = timezone.localdate()
    for days in (1, 2, 3):
        order_measure(world, complaint, ends_on=today + timedelta(days=days))
    gone = order_measure(
        world, complaint, starts_on=today - timedelta(days=30), ends_on=today - timedelta(days=1)
    )
    assert services.flag_expiring_measures(batch=2) == 3
    gone.refresh_from_db()
    assert gone.state == MeasureState.ENDED


def test_the_job_is_registered() -> None:
    from himaya.core import schedule

    assert "justice.flag_expiring_measures" in {job.name for job in schedule.jobs()}
