"""Unit → services: consent scopes, access that lives exactly as long as the referral, the
receiver's answers, shelter capacity, and the bad input each gets a clear message for."""

from __future__ import annotations

import pytest

from himaya.cases import selectors as case_selectors
from himaya.cases import services as case_services
from himaya.cases.errors import ConsentMissing
from himaya.cases.models import (
    Alert,
    AlertKind,
    CaseFile,
    ConsentPurpose,
    Grant,
    Notice,
    NoticeEvent,
    SharingBasis,
    TimelineEntry,
)
from himaya.cases.policies import FieldGroup
from himaya.cases.states import CaseState
from himaya.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from himaya.referrals import selectors, services
from himaya.referrals.models import Need, Referral, ReferralEvent, ShelterOccupancy
from himaya.referrals.states import ReferralState
from tests.referrals.helpers import (
    NARRATIVE,
    SURVIVOR_NAME,
    case_with_consent,
    english,
    make_world,
    refer_to_shelter,
)

pytestmark = pytest.mark.django_db


def test_the_receiver_sees_only_the_consented_fields() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    view = selectors.referral_view(actor=world.provider, referral_id=referral.pk)
    assert view.case is not None
    assert view.case.access.groups == {FieldGroup.IDENTITY, FieldGroup.CONTACT}
    assert not view.case.access.sees(FieldGroup.NARRATIVE)
    assert str(view.case.case.survivor.full_name) == SURVIVOR_NAME
    assert view.case.incidents == []
    assert view.case.perpetrators == []
    assert view.received is not None
    assert view.received.groups == ["identity", "contact"]
    assert view.received.basis == SharingBasis.CONSENT
    assert view.received.consent_purpose == ConsentPurpose.SHARE_SHELTER


def test_the_scope_cannot_exceed_what_she_agreed_to() -> None:
    world = make_world()
    case = case_with_consent(world)
    with pytest.raises(InvalidInput) as caught:
        refer_to_shelter(world, case, scope=["identity", "narrative"])
    assert "scope" in caught.value.fields
    assert not Referral.objects.exists()
    assert not Grant.objects.exists()


def test_referring_without_consent_or_legal_basis_is_refused() -> None:
    world = make_world()
    case = case_with_consent(world, purposes=(ConsentPurpose.SHARE_LEGAL_AID,))
    with pytest.raises(ConsentMissing):
        refer_to_shelter(world, case)
    assert not Referral.objects.exists()


def test_a_legal_basis_shares_without_consent_and_says_so() -> None:
    world = make_world()
    case = case_with_consent(world, purposes=())
    referral = refer_to_shelter(
        world,
        case,
        basis=SharingBasis.LIFE_THREAT,
        legal_reason="He said he would kill her tonight",
    )
    view = selectors.referral_view(actor=world.provider, referral_id=referral.pk)
    assert view.received is not None
    assert view.received.basis == SharingBasis.LIFE_THREAT
    assert "kill" in view.received.legal_reason
    assert Alert.objects.filter(kind=AlertKind.SHARED_WITHOUT_CONSENT, case=case).exists()


def test_a_second_active_referral_to_the_same_agency_is_refused() -> None:
    world = make_world()
    case = case_with_consent(world)
    refer_to_shelter(world, case)
    with pytest.raises(Conflict) as caught:
        refer_to_shelter(world, case)
    assert "already referred" in english(caught.value.message)
    assert Referral.objects.count() == 1


def test_a_closed_or_unavailable_agency_is_refused() -> None:
    world = make_world()
    case = case_with_consent(world)
    world.shelter.is_active = False
    world.shelter.save()
    with pytest.raises(InvalidInput) as caught:
        refer_to_shelter(world, case)
    assert "closed" in english(caught.value.fields["agency_id"][0])
    world.shelter.is_active = True
    world.shelter.temporarily_unavailable = True
    world.shelter.save()
    with pytest.raises(InvalidInput):
        refer_to_shelter(world, case)


def test_a_full_shelter_is_refused() -> None:
    world = make_world()
    ShelterOccupancy.objects.create(agency=world.shelter, occupied=2)
    case = case_with_consent(world)
    with pytest.raises(InvalidInput) as caught:
        refer_to_shelter(world, case)
    assert "full" in english(caught.value.fields["agency_id"][0])


def test_only_the_holding_unit_refers_a_case() -> None:
    world = make_world()
    case = case_with_consent(world)
    with pytest.raises(NotFound):
        refer_to_shelter(world, case, actor=world.other_officer)
    with pytest.raises(NotFound):
        refer_to_shelter(world, case, actor=world.provider)


def test_sending_writes_the_referral_and_case_timelines_and_moves_the_case() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    assert ReferralEvent.objects.filter(referral=referral, kind="sent").exists()
    assert TimelineEntry.objects.filter(case=case, kind="referral_sent").exists()
    assert CaseFile.objects.get(pk=case.pk).state == CaseState.REFERRED


def test_revoking_consent_cuts_access_at_once() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    services.referral_accept(actor=world.provider, referral_id=referral.pk)
    case_services.consent_revoke(
        actor=world.officer, case_id=case.pk, purpose=ConsentPurpose.SHARE_SHELTER
    )
    view = selectors.referral_view(actor=world.provider, referral_id=referral.pk)
    assert view.case is None
    assert view.received is not None
    assert not view.received.live
    with pytest.raises(NotFound):
        case_selectors.case_details(actor=world.provider, case_id=case.pk)


def test_withdrawing_consent_from_the_referral_closes_it_and_cuts_access() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    services.referral_accept(actor=world.provider, referral_id=referral.pk)
    closed = services.referral_consent_withdrawn(actor=world.officer, referral_id=referral.pk)
    assert closed.state == ReferralState.CLOSED
    assert closed.close_reason == services.CloseReason.CONSENT_WITHDRAWN
    with pytest.raises(NotFound):
        case_selectors.case_details(actor=world.provider, case_id=case.pk)


@pytest.mark.parametrize("step", ["withdraw", "decline", "complete", "close"])
def test_ending_the_referral_ends_the_receivers_access(step: str) -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    if step == "withdraw":
        services.referral_withdraw(actor=world.officer, referral_id=referral.pk)
    elif step == "decline":
        services.referral_decline(
            actor=world.provider, referral_id=referral.pk, reason="No bed for her children"
        )
    else:
        services.referral_accept(actor=world.provider, referral_id=referral.pk)
        if step == "complete":
            services.referral_complete(
                actor=world.provider, referral_id=referral.pk, provided="Three nights"
            )
        else:
            services.referral_close(
                actor=world.officer, referral_id=referral.pk, reason="no_longer_needed"
            )
    with pytest.raises(NotFound):
        case_selectors.case_details(actor=world.provider, case_id=case.pk)
    assert Grant.objects.get(referral=referral).revoked_at is not None
    # The referral itself stays readable to the receiver: state only, no case content.
    view = selectors.referral_view(actor=world.provider, referral_id=referral.pk)
    assert view.case is None


def test_a_decline_alerts_the_unit_and_another_agency_can_be_chosen() -> None:
    world = make_world()
    case = case_with_consent(
        world, purposes=(ConsentPurpose.SHARE_SHELTER, ConsentPurpose.SHARE_LEGAL_AID)
    )
    referral = refer_to_shelter(world, case)
    services.referral_decline(
        actor=world.provider, referral_id=referral.pk, reason="No bed for her children"
    )
    assert Alert.objects.filter(
        agency=world.unit, kind=AlertKind.REFERRAL_DECLINED, other_agency=world.shelter
    ).exists()
    again = refer_to_shelter(world, case)  # the declined one is no longer active
    assert again.state == ReferralState.SENT


def test_a_decline_needs_a_reason() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    with pytest.raises(InvalidInput):
        services.referral_decline(actor=world.provider, referral_id=referral.pk, reason="no")
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.SENT


def test_acceptance_tells_her() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    services.referral_accept(actor=world.provider, referral_id=referral.pk)
    assert Notice.objects.filter(case=case, event=NoticeEvent.REFERRAL_ACCEPTED).exists()


def test_the_receiver_records_what_was_provided_and_completes() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    with pytest.raises(Conflict):
        services.referral_record_provided(
            actor=world.provider, referral_id=referral.pk, provided="A bed"
        )
    services.referral_accept(actor=world.provider, referral_id=referral.pk)
    services.referral_record_provided(
        actor=world.provider, referral_id=referral.pk, provided="A bed and clothes"
    )
    done = services.referral_complete(actor=world.provider, referral_id=referral.pk)
    assert done.state == ReferralState.COMPLETED
    assert str(Referral.objects.get(pk=referral.pk).provided) == "A bed and clothes"
    with pytest.raises(PermissionDenied):
        services.referral_complete(actor=world.officer, referral_id=referral.pk)


def test_shelter_capacity_follows_admissions_and_departures() -> None:
    world = make_world()  # two beds
    referrals = []
    for _ in range(3):
        case = case_with_consent(world)
        referral = refer_to_shelter(world, case)
        services.referral_accept(actor=world.provider, referral_id=referral.pk)
        referrals.append(referral)
    services.shelter_admit(actor=world.provider, referral_id=referrals[0].pk)
    services.shelter_admit(actor=world.provider, referral_id=referrals[1].pk)
    assert ShelterOccupancy.objects.get(agency=world.shelter).occupied == 2
    with pytest.raises(Conflict):
        services.shelter_admit(actor=world.provider, referral_id=referrals[2].pk)
    full_case = case_with_consent(world)
    with pytest.raises(InvalidInput):
        refer_to_shelter(world, full_case)
    services.shelter_depart(actor=world.provider, referral_id=referrals[0].pk)
    services.shelter_admit(actor=world.provider, referral_id=referrals[2].pk)
    # Completing frees the bed she still held.
    services.referral_complete(actor=world.provider, referral_id=referrals[1].pk)
    assert ShelterOccupancy.objects.get(agency=world.shelter).occupied == 1


def test_a_provider_of_another_shelter_sees_nothing() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    with pytest.raises(NotFound):
        selectors.referral_view(actor=world.other_provider, referral_id=referral.pk)
    with pytest.raises(NotFound):
        services.referral_accept(actor=world.other_provider, referral_id=referral.pk)
    assert selectors.incoming(actor=world.other_provider).items == []


def test_the_unit_lists_the_cases_referrals_with_their_state() -> None:
    world = make_world()
    case = case_with_consent(
        world, purposes=(ConsentPurpose.SHARE_SHELTER, ConsentPurpose.SHARE_LEGAL_AID)
    )
    first = refer_to_shelter(world, case)
    second = refer_to_shelter(world, case, agency_id=world.legal_aid.pk, need=Need.LEGAL_AID)
    listed = selectors.case_referrals(actor=world.officer, case_id=case.pk)
    assert [r.pk for r in listed] == [second.pk, first.pk]
    with pytest.raises(NotFound):
        selectors.case_referrals(actor=world.provider, case_id=case.pk)


def test_the_narrative_never_reaches_a_receiver_without_it_in_scope() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    view = selectors.referral_view(actor=world.provider, referral_id=referral.pk)
    assert view.case is not None
    assert not view.case.access.sees(FieldGroup.NARRATIVE)
    assert NARRATIVE not in repr(view.received)
