"""District focal point → unit: the first contact, routing's suggestion (and a reasoned
override), the deadline, and acceptance opening her case from the first contact."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from himaya.cases import selectors as case_selectors
from himaya.cases.models import (
    Channel,
    ConsentPurpose,
    Notice,
    NoticeChannel,
    NoticeEvent,
    NoticeState,
    TimelineEntry,
)
from himaya.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from himaya.core.models import AuditEvent
from himaya.referrals import selectors, services
from himaya.referrals.models import Danger, FirstContact, Referral, ReferralKind, Urgency
from himaya.referrals.states import ReferralState
from tests.referrals.helpers import (
    SURVIVOR_NAME,
    english,
    make_world,
    refer_first_contact,
)

pytestmark = pytest.mark.django_db


def test_a_focal_point_refers_her_to_the_unit_routing_suggests() -> None:
    world = make_world()
    referral = refer_first_contact(world)
    assert referral.kind == ReferralKind.TO_UNIT
    assert referral.to_agency_id == world.unit.pk
    assert referral.suggested_agency_id == world.unit.pk
    assert referral.state == ReferralState.SENT
    assert referral.from_agency_id == world.station.pk


def test_the_deadline_is_the_configured_number_of_hours(settings: object) -> None:
    settings.REFERRAL_ACCEPT_HOURS = 24  # type: ignore[attr-defined]
    world = make_world()
    before = timezone.now()
    referral = refer_first_contact(world)
    assert before + timedelta(hours=24) <= referral.deadline_at
    assert referral.deadline_at <= timezone.now() + timedelta(hours=24)
    settings.REFERRAL_ACCEPT_HOURS = 6  # type: ignore[attr-defined]
    other = refer_first_contact(world)
    assert other.deadline_at <= timezone.now() + timedelta(hours=6)


def test_immediate_danger_shortens_the_deadline() -> None:
    world = make_world()
    referral = refer_first_contact(world, immediate_danger=Danger.YES)
    assert referral.urgency == Urgency.EMERGENCY
    assert referral.deadline_at <= timezone.now() + timedelta(hours=2)


def test_choosing_another_unit_needs_a_reason() -> None:
    world = make_world()
    with pytest.raises(InvalidInput) as caught:
        refer_first_contact(world, to_unit_id=world.other_unit.pk)
    assert "override_reason" in caught.value.fields
    assert not FirstContact.objects.exists()  # nothing half-written
    referral = refer_first_contact(
        world,
        to_unit_id=world.other_unit.pk,
        override_reason="She works in that town and can go there safely",
    )
    assert referral.to_agency_id == world.other_unit.pk
    assert referral.suggested_agency_id == world.unit.pk
    assert "She works" in str(referral.override_reason)


def test_first_contact_is_sealed_and_every_answer_may_be_declined() -> None:
    world = make_world()
    referral = refer_first_contact(
        world,
        full_name="",
        phone="",
        needs="",
        immediate_danger=Danger.DECLINED,
        declined=["full_name", "phone", "needs", "forms"],
        forms=[],
    )
    contact = FirstContact.objects.get(referrals=referral)
    assert contact.immediate_danger == Danger.DECLINED
    assert set(contact.declined) == {"full_name", "phone", "needs", "forms"}


def test_the_danger_question_must_be_answered_or_declined() -> None:
    world = make_world()
    with pytest.raises(InvalidInput) as caught:
        refer_first_contact(world, immediate_danger="")
    assert "immediate_danger" in caught.value.fields


def test_a_closed_unit_is_refused() -> None:
    world = make_world()
    world.other_unit.is_active = False
    world.other_unit.save()
    with pytest.raises(InvalidInput) as caught:
        refer_first_contact(
            world, to_unit_id=world.other_unit.pk, override_reason="She prefers that unit"
        )
    assert "to_unit_id" in caught.value.fields


def test_only_a_focal_point_records_a_first_contact() -> None:
    world = make_world()
    with pytest.raises(NotFound):
        services.first_contact_refer(actor=world.officer, data=services.FirstContactData())


def test_acceptance_opens_the_case_from_the_first_contact_without_retyping() -> None:
    world = make_world()
    referral = refer_first_contact(world)
    contact = FirstContact.objects.get(referrals=referral)
    accepted = services.referral_accept(actor=world.officer, referral_id=referral.pk)
    assert accepted.state == ReferralState.ACCEPTED
    case = accepted.case
    assert case is not None
    assert case.unit_id == world.unit.pk
    assert case.channel == Channel.FOCAL_POINT
    # Her record is sealed with the first contact's own key: no re-encryption elsewhere.
    assert case.survivor.data_key_id == contact.data_key_id
    details = case_selectors.case_details(actor=world.officer, case_id=case.pk)
    assert str(details.case.survivor.full_name) == SURVIVOR_NAME
    assert details.case.survivor.phone == "+212612345678"
    assert details.case.survivor.safe_contact == {"channel": "phone", "may_leave_message": False}
    assert [i.forms for i in details.incidents] == [["physical"]]
    assert TimelineEntry.objects.filter(case=case, kind="referral_received").exists()
    assert Notice.objects.filter(case=case, event=NoticeEvent.CASE_ACCEPTED).exists()
    assert AuditEvent.objects.filter(action="referral.accept", target_id=str(referral.pk)).exists()


@pytest.mark.parametrize(
    ("channel", "purpose", "notice_channel"),
    [
        ("sms", ConsentPurpose.CONTACT_SMS, NoticeChannel.SMS),
        ("phone_call", ConsentPurpose.CONTACT_PHONE, NoticeChannel.CALL),
    ],
)
def test_the_way_she_chose_at_the_station_is_her_consent_to_be_contacted_so(
    channel: str, purpose: str, notice_channel: str
) -> None:
    """Asked "how may the unit contact her safely?", she answered: the case opens with that
    contact consent (and no other), so the unit's first notice reaches her that way."""
    world = make_world()
    referral = refer_first_contact(
        world, safe_contact={"channel": channel, "may_leave_message": True}
    )
    case = services.referral_accept(actor=world.officer, referral_id=referral.pk).case
    assert case is not None
    assert list(case.consents.values_list("purpose", "granted")) == [(purpose, True)]
    notice = Notice.objects.get(case=case, event=NoticeEvent.CASE_ACCEPTED)
    assert notice.channel == notice_channel
    assert notice.state != NoticeState.WITHHELD


def test_no_contact_consent_when_she_chose_no_contact_or_declined_the_question() -> None:
    world = make_world()
    for contact in ({"channel": "no_contact"}, {"declined": ["channel", "safe_times"]}):
        referral = refer_first_contact(world, safe_contact=contact)
        case = services.referral_accept(actor=world.officer, referral_id=referral.pk).case
        assert case is not None
        assert not case.consents.exists()


@pytest.mark.parametrize("language", ["ar", "ary", "mey"])
def test_her_notice_names_the_unit_in_arabic_when_she_reads_arabic(language: str) -> None:
    """Darija and Hassaniya speakers get their notices in Arabic: the unit's Arabic name."""
    world = make_world()
    referral = refer_first_contact(world, preferred_language=language)
    case = services.referral_accept(actor=world.officer, referral_id=referral.pk).case
    notice = Notice.objects.filter(case=case, event=NoticeEvent.CASE_ACCEPTED).first()
    assert notice is not None
    assert notice.language == "ar"
    assert notice.params == {"agency": world.unit.name_ar}


def test_the_unit_still_reads_what_she_needed_on_the_referral() -> None:
    world = make_world()
    referral = refer_first_contact(world)
    services.referral_accept(actor=world.chief, referral_id=referral.pk)
    view = selectors.referral_view(actor=world.chief, referral_id=referral.pk)
    assert view.first_contact is not None
    assert "safe place" in str(view.first_contact.needs)
    # The station that wrote it no longer sees her first contact once the unit has her.
    sender = selectors.referral_view(actor=world.focal, referral_id=referral.pk)
    assert sender.first_contact is None


def test_another_unit_cannot_see_or_accept_the_referral() -> None:
    world = make_world()
    referral = refer_first_contact(world)
    with pytest.raises(NotFound):
        selectors.referral_view(actor=world.other_officer, referral_id=referral.pk)
    with pytest.raises(NotFound):
        services.referral_accept(actor=world.other_officer, referral_id=referral.pk)
    with pytest.raises(NotFound):
        services.referral_accept(actor=world.provider, referral_id=referral.pk)


def test_the_focal_point_cannot_accept_her_own_referral() -> None:
    world = make_world()
    referral = refer_first_contact(world)
    with pytest.raises(PermissionDenied):
        services.referral_accept(actor=world.focal, referral_id=referral.pk)


def test_accepting_a_withdrawn_referral_says_it_was_withdrawn() -> None:
    world = make_world()
    referral = refer_first_contact(world)
    services.referral_withdraw(actor=world.focal, referral_id=referral.pk)
    with pytest.raises(Conflict) as caught:
        services.referral_accept(actor=world.officer, referral_id=referral.pk)
    assert "withdrawn" in english(caught.value.message)
    assert Referral.objects.get(pk=referral.pk).case_id is None


def test_a_declined_referral_goes_to_another_unit_without_retyping() -> None:
    world = make_world()
    referral = refer_first_contact(world)
    services.referral_decline(
        actor=world.chief, referral_id=referral.pk, reason="No officer available this week"
    )
    again = services.referral_refer_again(
        actor=world.focal,
        referral_id=referral.pk,
        to_unit_id=world.other_unit.pk,
        override_reason="The first unit declined her",
    )
    assert again.first_contact_id == referral.first_contact_id
    assert again.to_agency_id == world.other_unit.pk
    with pytest.raises(InvalidInput):
        services.referral_refer_again(
            actor=world.focal, referral_id=referral.pk, to_unit_id=world.unit.pk
        )


def test_a_first_contact_is_referred_to_one_unit_at_a_time() -> None:
    world = make_world()
    referral = refer_first_contact(world)
    with pytest.raises(Conflict):
        services.referral_refer_again(actor=world.focal, referral_id=referral.pk)


def test_her_list_shows_the_stations_referrals_with_their_deadlines() -> None:
    world = make_world()
    first = refer_first_contact(world)
    second = refer_first_contact(world)
    page = selectors.outgoing(actor=world.focal)
    assert [r.pk for r in page.items] == [second.pk, first.pk]
    queue = selectors.incoming(actor=world.officer)
    assert {r.pk for r in queue.items} == {first.pk, second.pk}
    assert selectors.incoming(actor=world.other_officer).items == []
