"""Forwarding her complaint to the prosecutor: on her consent or a legal basis, to the
competent office, once; and filing it online herself, once, into the right office's queue."""

from __future__ import annotations

import uuid

import pytest

from himaya.accounts.roles import Role
from himaya.cases import selectors as case_selectors
from himaya.cases import services as case_services
from himaya.cases.intake import SurvivorData
from himaya.cases.models import (
    Alert,
    AlertKind,
    CaseFile,
    Consent,
    ConsentPurpose,
    Grant,
    Notice,
    NoticeEvent,
    SharingBasis,
    TimelineEntry,
)
from himaya.cases.policies import FieldGroup
from himaya.cases.states import CaseState
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.core.models import AuditEvent
from himaya.justice import selectors, services
from himaya.justice.models import Complaint, ComplaintEvent, ComplaintSource
from himaya.justice.states import ComplaintState
from tests.cases.helpers import an_incident, make_person, new_key
from tests.justice.helpers import her_case, make_office, make_world

pytestmark = pytest.mark.django_db


def test_a_unit_officer_forwards_to_the_office_competent_for_her_commune() -> None:
    world = make_world()
    case = her_case(world)
    complaint = services.complaint_forward(actor=world.officer.actor, case_id=case.pk)

    assert complaint.office_id == world.office.pk
    assert complaint.state == ComplaintState.RECEIVED
    assert complaint.source == ComplaintSource.UNIT
    case.refresh_from_db()
    assert case.state == CaseState.FORWARDED
    grant = Grant.objects.get(pk=_grant_id(complaint))
    assert grant.agency_id == world.office.pk
    assert grant.basis == SharingBasis.CONSENT
    assert sorted(grant.scope) == sorted(
        ["identity", "narrative", "incidents", "perpetrators", "evidence", "dependants"]
    )
    kinds = set(TimelineEntry.objects.filter(case=case).values_list("kind", flat=True))
    assert {"shared", "transition", "justice_received"} <= kinds
    assert ComplaintEvent.objects.filter(complaint=complaint, kind="received").exists()
    assert AuditEvent.objects.filter(
        action="justice.complaint_forward", target_id=str(complaint.pk)
    ).exists()
    assert Notice.objects.filter(case=case, event=NoticeEvent.COMPLAINT_FORWARDED).exists()


def test_the_grant_keeps_within_what_she_agreed_to_share() -> None:
    world = make_world()
    case = her_case(world, scope=["narrative", "incidents", "contact"])
    complaint = services.complaint_forward(actor=world.officer.actor, case_id=case.pk)
    assert sorted(Grant.objects.get(pk=_grant_id(complaint)).scope) == ["incidents", "narrative"]


def test_forwarding_twice_to_the_same_office_returns_the_first_complaint() -> None:
    world = make_world()
    case = her_case(world)
    first = services.complaint_forward(actor=world.officer.actor, case_id=case.pk)
    again = services.complaint_forward_with_outcome(
        actor=world.chief.actor, case_id=case.pk, office_id=world.office.pk
    )

    assert again.complaint.pk == first.pk
    assert not again.created
    assert Complaint.objects.filter(case=case).count() == 1
    assert Grant.objects.filter(case=case, agency=world.office).count() == 1
    assert Notice.objects.filter(case=case, event=NoticeEvent.COMPLAINT_FORWARDED).count() >= 1
    assert (
        len(
            {
                n.dedupe_key
                for n in Notice.objects.filter(case=case, event=NoticeEvent.COMPLAINT_FORWARDED)
            }
        )
        == 1
    )


def test_forwarding_to_another_office_while_one_has_it_is_refused_on_the_field() -> None:
    world = make_world()
    case = her_case(world)
    services.complaint_forward(actor=world.officer.actor, case_id=case.pk)
    other = make_office()
    with pytest.raises(InvalidInput) as refused:
        services.complaint_forward(actor=world.officer.actor, case_id=case.pk, office_id=other.pk)
    assert "office_id" in refused.value.fields
    assert Complaint.objects.filter(case=case).count() == 1


def test_forwarding_without_her_consent_or_a_legal_basis_is_refused() -> None:
    world = make_world()
    case = her_case(world, consent=False)
    with pytest.raises(InvalidInput) as refused:
        services.complaint_forward(actor=world.officer.actor, case_id=case.pk)
    assert "basis" in refused.value.fields
    assert not Complaint.objects.filter(case=case).exists()
    assert not Grant.objects.filter(case=case).exists()
    assert CaseFile.objects.get(pk=case.pk).state == CaseState.OPEN


def test_a_refusal_she_recorded_counts_as_no_consent() -> None:
    world = make_world()
    case = her_case(world, consent=False)
    case_services.consent_record(
        actor=world.officer.actor,
        case_id=case.pk,
        purpose=ConsentPurpose.SHARE_PROSECUTOR,
        granted=False,
    )
    with pytest.raises(InvalidInput):
        services.complaint_forward(actor=world.officer.actor, case_id=case.pk)


def test_forwarding_on_a_legal_basis_marks_it_and_alerts_the_chief() -> None:
    world = make_world()
    case = her_case(world, consent=False)
    complaint = services.complaint_forward(
        actor=world.officer.actor,
        case_id=case.pk,
        basis=SharingBasis.LIFE_THREAT,
        reason="He threatened to kill her tonight with a knife.",
    )
    grant = Grant.objects.get(pk=_grant_id(complaint))
    assert grant.basis == SharingBasis.LIFE_THREAT
    assert grant.consent_id is None
    assert Alert.objects.filter(
        agency=world.unit, kind=AlertKind.SHARED_WITHOUT_CONSENT, case=case
    ).exists()


def test_no_competent_office_asks_the_officer_to_choose_one() -> None:
    world = make_world()
    case = her_case(world, survivor=SurvivorData(full_name="Amina"), incidents=[an_incident()])
    with pytest.raises(InvalidInput) as refused:
        services.complaint_forward(actor=world.officer.actor, case_id=case.pk)
    assert "office_id" in refused.value.fields
    complaint = services.complaint_forward(
        actor=world.officer.actor, case_id=case.pk, office_id=world.office.pk
    )
    assert complaint.office_id == world.office.pk


def test_an_agency_that_is_not_a_prosecution_office_is_refused() -> None:
    world = make_world()
    case = her_case(world)
    with pytest.raises(InvalidInput) as refused:
        services.complaint_forward(
            actor=world.officer.actor, case_id=case.pk, office_id=world.unit.pk
        )
    assert "office_id" in refused.value.fields


def test_another_unit_cannot_forward_a_case_it_does_not_hold() -> None:
    world = make_world()
    case = her_case(world)
    stranger = make_person(Role.UNIT_OFFICER)
    with pytest.raises(NotFound):
        services.complaint_forward(actor=stranger.actor, case_id=case.pk)
    with pytest.raises((NotFound, PermissionDenied)):
        services.complaint_forward(actor=world.prosecutor.actor, case_id=case.pk)
    assert not Complaint.objects.exists()


# --- her own online complaint -------------------------------------------------------------


def _online_case(world: object, **intake: object) -> CaseFile:
    return her_case(world, consent=False, **intake)  # type: ignore[arg-type]


def test_her_online_complaint_lands_in_the_chosen_offices_queue_with_her_consent() -> None:
    world = make_world()
    case = _online_case(world)
    key = new_key()
    complaint = services.complaint_file_online(
        case=case, office_id=world.office.pk, idempotency_key=key
    )

    assert complaint.source == ComplaintSource.ONLINE
    assert complaint.forwarded_by_id is None
    assert not complaint.needs_confirmation
    consent = Consent.objects.get(
        case=case, purpose=ConsentPurpose.SHARE_PROSECUTOR, revoked_at__isnull=True
    )
    assert consent.granted
    assert consent.recorded_by_id is None
    grant = Grant.objects.get(pk=_grant_id(complaint))
    assert grant.granted_by_id is None
    assert grant.consent_id == consent.pk
    queue = selectors.prosecutor_queue(actor=world.prosecutor.actor)
    assert [c.pk for c in queue.awaiting.items] == [complaint.pk]
    other_office = make_person(Role.PROSECUTOR, make_office())
    assert selectors.prosecutor_queue(actor=other_office.actor).awaiting.items == []
    # The prosecutor reads her file through the grant.
    details = case_selectors.case_details(actor=world.prosecutor.actor, case_id=case.pk)
    assert details.access.sees(FieldGroup.NARRATIVE)
    assert not details.access.sees(FieldGroup.CONTACT)


def test_her_online_complaint_is_idempotent() -> None:
    world = make_world()
    case = _online_case(world)
    key = new_key()
    first = services.complaint_file_online(
        case=case, office_id=world.office.pk, idempotency_key=key
    )
    again = services.complaint_file_online(
        case=case, office_id=world.office.pk, idempotency_key=key
    )
    assert again.pk == first.pk
    assert Complaint.objects.filter(case=case).count() == 1
    assert Grant.objects.filter(case=case).count() == 1
    assert Consent.objects.filter(case=case, purpose=ConsentPurpose.SHARE_PROSECUTOR).count() == 1


def test_an_incomplete_online_complaint_needs_her_confirmation() -> None:
    world = make_world()
    case = _online_case(world, survivor=SurvivorData(full_name="Amina"), narrative="")
    complaint = services.complaint_file_online(
        case=case, office_id=world.office.pk, idempotency_key=new_key()
    )
    assert complaint.needs_confirmation


def test_an_online_complaint_to_something_that_is_not_an_office_is_refused() -> None:
    world = make_world()
    case = _online_case(world)
    with pytest.raises(InvalidInput):
        services.complaint_file_online(
            case=case, office_id=world.unit.pk, idempotency_key=new_key()
        )
    with pytest.raises(InvalidInput):
        services.complaint_file_online(case=case, office_id=world.office.pk, idempotency_key="x")
    assert not Complaint.objects.exists()
    assert not Consent.objects.filter(case=case).exists()


def _grant_id(complaint: Complaint) -> uuid.UUID:
    assert complaint.grant_id is not None
    return complaint.grant_id
