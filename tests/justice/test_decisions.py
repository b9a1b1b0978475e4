"""The prosecutor's decisions, hearings and their outcomes: an explicit state machine, with
clear refusals on the field and row locks, and the office's own record only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.cases.models import Notice, NoticeEvent, TimelineEntry
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.justice import services
from himaya.justice.models import ComplaintEvent, Decision, Hearing
from himaya.justice.states import ComplaintState, DecisionKind, HearingOutcome, HearingState
from tests.cases.helpers import make_person
from tests.justice.helpers import (
    forward,
    make_office,
    make_world,
    open_proceedings,
    raw_column,
    set_hearing,
)

pytestmark = pytest.mark.django_db


def test_opening_proceedings_moves_the_complaint_and_writes_both_timelines() -> None:
    world = make_world()
    complaint = forward(world)
    open_proceedings(world, complaint)
    complaint.refresh_from_db()
    assert complaint.state == ComplaintState.PROCEEDINGS
    event = ComplaintEvent.objects.get(complaint=complaint, kind="decision")
    assert (event.from_state, event.to_state) == ("received", "proceedings")
    assert TimelineEntry.objects.filter(case=complaint.case, kind="justice_decision").exists()


def test_a_dismissal_needs_a_reason_which_is_sealed() -> None:
    world = make_world()
    complaint = forward(world)
    with pytest.raises(InvalidInput) as refused:
        services.decision_record(
            actor=world.prosecutor.actor, complaint_id=complaint.pk, kind=DecisionKind.DISMISS
        )
    assert "reason" in refused.value.fields
    decision = services.decision_record(
        actor=world.prosecutor.actor,
        complaint_id=complaint.pk,
        kind=DecisionKind.DISMISS,
        reason="The facts could not be established after investigation.",
    )
    assert b"established" not in raw_column(Decision, "reason", decision.pk)
    assert "established" in str(Decision.objects.get(pk=decision.pk).reason)


def test_nothing_more_is_decided_on_a_dismissed_complaint() -> None:
    world = make_world()
    complaint = forward(world)
    services.decision_record(
        actor=world.prosecutor.actor,
        complaint_id=complaint.pk,
        kind=DecisionKind.DISMISS,
        reason="The facts could not be established after investigation.",
    )
    with pytest.raises(InvalidInput) as refused:
        open_proceedings(world, complaint)
    assert "kind" in refused.value.fields
    with pytest.raises(InvalidInput):
        services.measure_order(
            actor=world.prosecutor.actor,
            complaint_id=complaint.pk,
            kind="no_contact",
            legal_basis="pc_88_3",
            authority="prosecutor",
            starts_on=timezone.localdate(),
        )
    complaint.refresh_from_db()
    assert complaint.state == ComplaintState.DISMISSED
    assert Decision.objects.filter(complaint=complaint).count() == 1


def test_an_unknown_decision_and_measures_as_a_bare_decision_are_refused() -> None:
    world = make_world()
    complaint = forward(world)
    for kind in ("acquit_everyone", DecisionKind.PROTECTION_MEASURES):
        with pytest.raises(InvalidInput) as refused:
            services.decision_record(
                actor=world.prosecutor.actor, complaint_id=complaint.pk, kind=kind
            )
        assert "kind" in refused.value.fields


def test_only_the_offices_prosecutors_decide() -> None:
    world = make_world()
    complaint = forward(world)
    other = make_person(Role.PROSECUTOR, make_office())
    with pytest.raises(NotFound):
        open_proceedings_as(other.actor, complaint.pk)
    with pytest.raises(PermissionDenied):
        open_proceedings_as(world.chief.actor, complaint.pk)
    with pytest.raises(NotFound):
        open_proceedings_as(world.prosecutor.actor, 987654321)


def open_proceedings_as(actor: object, complaint_id: int) -> None:
    services.decision_record(
        actor=actor,  # type: ignore[arg-type]
        complaint_id=complaint_id,
        kind=DecisionKind.OPEN_PROCEEDINGS,
    )


def test_a_hearing_in_the_past_is_refused_on_its_field() -> None:
    world = make_world()
    complaint = forward(world)
    open_proceedings(world, complaint)
    with pytest.raises(InvalidInput) as refused:
        services.hearing_schedule(
            actor=world.prosecutor.actor,
            complaint_id=complaint.pk,
            scheduled_at=timezone.now() - timedelta(hours=1),
            place="Tribunal",
        )
    assert "scheduled_at" in refused.value.fields
    assert not Hearing.objects.exists()


def test_a_hearing_needs_proceedings_and_a_place_or_remote() -> None:
    world = make_world()
    complaint = forward(world)
    with pytest.raises(InvalidInput) as refused:
        set_hearing(world, complaint)
    assert "scheduled_at" in refused.value.fields
    open_proceedings(world, complaint)
    with pytest.raises(InvalidInput) as refused:
        services.hearing_schedule(
            actor=world.prosecutor.actor,
            complaint_id=complaint.pk,
            scheduled_at=timezone.now() + timedelta(days=3),
        )
    assert "place" in refused.value.fields
    remote = services.hearing_schedule(
        actor=world.prosecutor.actor,
        complaint_id=complaint.pk,
        scheduled_at=timezone.now() + timedelta(days=3),
        remote=True,
    )
    assert remote.remote


def test_setting_a_hearing_tells_her() -> None:
    world = make_world()
    complaint = forward(world)
    open_proceedings(world, complaint)
    hearing = set_hearing(world, complaint)
    keys = set(
        Notice.objects.filter(case=complaint.case, event=NoticeEvent.HEARING_SET).values_list(
            "dedupe_key", flat=True
        )
    )
    assert keys
    assert all(key.startswith(f"hearing:{hearing.pk}") for key in keys)
    assert ComplaintEvent.objects.filter(complaint=complaint, kind="hearing_set").exists()


def test_a_conviction_judges_the_complaint_with_a_sealed_sentence() -> None:
    world = make_world()
    complaint = forward(world)
    open_proceedings(world, complaint)
    hearing = set_hearing(world, complaint)
    with pytest.raises(InvalidInput) as early:
        services.hearing_record_outcome(
            actor=world.prosecutor.actor, hearing_id=hearing.pk, outcome=HearingOutcome.ACQUITTAL
        )
    assert "outcome" in early.value.fields
    Hearing.objects.filter(pk=hearing.pk).update(scheduled_at=timezone.now() - timedelta(hours=2))
    with pytest.raises(InvalidInput) as no_sentence:
        services.hearing_record_outcome(
            actor=world.prosecutor.actor, hearing_id=hearing.pk, outcome=HearingOutcome.CONVICTION
        )
    assert "sentence" in no_sentence.value.fields
    services.hearing_record_outcome(
        actor=world.prosecutor.actor,
        hearing_id=hearing.pk,
        outcome=HearingOutcome.CONVICTION,
        sentence="Eight months suspended and a fine.",
    )
    hearing.refresh_from_db()
    complaint.refresh_from_db()
    assert hearing.state == HearingState.HELD
    assert str(hearing.sentence) == "Eight months suspended and a fine."
    assert complaint.state == ComplaintState.JUDGED
    with pytest.raises(InvalidInput):
        services.hearing_record_outcome(
            actor=world.prosecutor.actor, hearing_id=hearing.pk, outcome=HearingOutcome.ACQUITTAL
        )


def test_an_adjournment_leaves_the_complaint_open() -> None:
    world = make_world()
    complaint = forward(world)
    open_proceedings(world, complaint)
    hearing = set_hearing(world, complaint)
    Hearing.objects.filter(pk=hearing.pk).update(scheduled_at=timezone.now() - timedelta(hours=2))
    services.hearing_record_outcome(
        actor=world.prosecutor.actor, hearing_id=hearing.pk, outcome=HearingOutcome.ADJOURNED
    )
    complaint.refresh_from_db()
    assert complaint.state == ComplaintState.PROCEEDINGS
