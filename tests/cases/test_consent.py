"""Consent per purpose, revocable at any time; sharing on consent, on a legal basis without
it, and emergency access -- each marked, audited, and the last two alerting the chief."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.cases import selectors, services
from himaya.cases.errors import ConsentMissing
from himaya.cases.intake import ConsentData, SurvivorData
from himaya.cases.models import (
    AgeRange,
    Alert,
    AlertKind,
    CaseFile,
    Consent,
    ConsentPurpose,
    Grant,
    SharingBasis,
    TimelineEntry,
)
from himaya.cases.policies import BREAK_GLASS_HOURS, FieldGroup
from himaya.core.actor import Actor
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied, StepUpRequired
from himaya.core.models import AuditEvent
from himaya.network.models import Agency, AgencyKind
from tests.cases.helpers import make_actor, make_unit, open_case

pytestmark = pytest.mark.django_db

SHELTER_SCOPE = [FieldGroup.IDENTITY, FieldGroup.CONTACT]


@pytest.fixture
def unit() -> Agency:
    return make_unit()


@pytest.fixture
def chief(unit: Agency) -> Actor:
    return make_actor(Role.UNIT_CHIEF, unit)


@pytest.fixture
def officer(unit: Agency) -> Actor:
    return make_actor(Role.UNIT_OFFICER, unit)


@pytest.fixture
def shelter() -> Agency:
    return make_unit(AgencyKind.SHELTER)


@pytest.fixture
def case(officer: Actor) -> CaseFile:
    return open_case(
        officer,
        consents=[
            ConsentData(
                purpose=ConsentPurpose.SHARE_SHELTER, granted=True, scope=list(SHELTER_SCOPE)
            )
        ],
    )


def test_her_consent_is_recorded_per_purpose_with_who_and_when(
    case: CaseFile, officer: Actor
) -> None:
    consent = Consent.objects.get(case=case, purpose=ConsentPurpose.SHARE_SHELTER)
    assert consent.granted
    assert consent.scope == SHELTER_SCOPE
    assert consent.recorded_by_id == officer.user_id
    assert consent.recorded_at is not None
    refused = services.consent_record(
        actor=officer, case_id=case.pk, purpose=ConsentPurpose.CONTACT_SMS, granted=False
    )
    assert not refused.granted
    assert TimelineEntry.objects.filter(case=case, kind="consent_recorded").count() == 1


def test_a_new_answer_replaces_the_live_one(case: CaseFile, officer: Actor) -> None:
    services.consent_record(
        actor=officer,
        case_id=case.pk,
        purpose=ConsentPurpose.SHARE_SHELTER,
        granted=True,
        scope=[FieldGroup.IDENTITY],
    )
    answers = Consent.objects.filter(case=case, purpose=ConsentPurpose.SHARE_SHELTER)
    assert answers.count() == 2
    live = answers.get(revoked_at__isnull=True)
    assert live.scope == [FieldGroup.IDENTITY]
    assert answers.get(revoked_at__isnull=False).revoked_by_id == officer.user_id


def test_an_unknown_purpose_or_scope_is_refused_on_its_field(
    case: CaseFile, officer: Actor
) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.consent_record(actor=officer, case_id=case.pk, purpose="sell", granted=True)
    assert "purpose" in caught.value.fields
    with pytest.raises(InvalidInput) as caught:
        services.consent_record(
            actor=officer,
            case_id=case.pk,
            purpose=ConsentPurpose.SHARE_NGO,
            granted=True,
            scope=["everything"],
        )
    assert "scope" in caught.value.fields


# --- sharing on consent -------------------------------------------------------------------


def test_sharing_within_her_consent_lets_the_shelter_read_only_that(
    case: CaseFile, officer: Actor, shelter: Agency
) -> None:
    grant = services.case_share(
        actor=officer, case_id=case.pk, agency_id=shelter.pk, scope=[FieldGroup.IDENTITY]
    )
    assert grant.basis == SharingBasis.CONSENT
    provider = make_actor(Role.SERVICE_PROVIDER, shelter)
    _, access = selectors.case_get(actor=provider, case_id=case.pk)
    assert access.groups == {FieldGroup.IDENTITY}
    assert not access.holding_unit


def test_sharing_beyond_her_consent_or_without_it_is_refused(
    case: CaseFile, officer: Actor, shelter: Agency
) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.case_share(
            actor=officer, case_id=case.pk, agency_id=shelter.pk, scope=[FieldGroup.NARRATIVE]
        )
    assert "scope" in caught.value.fields
    with pytest.raises(ConsentMissing):
        services.case_share(
            actor=officer,
            case_id=case.pk,
            agency_id=make_unit(AgencyKind.LEGAL_AID).pk,
            scope=[FieldGroup.IDENTITY],
        )
    with pytest.raises(ConsentMissing):
        # A police unit is never a consent recipient: transfers are not referrals.
        services.case_share(
            actor=officer, case_id=case.pk, agency_id=make_unit().pk, scope=[FieldGroup.IDENTITY]
        )
    assert not Grant.objects.exists()


def test_once_she_revokes_the_policy_refuses_the_sharing_it_covered(
    case: CaseFile, officer: Actor, shelter: Agency
) -> None:
    grant = services.case_share(
        actor=officer, case_id=case.pk, agency_id=shelter.pk, scope=SHELTER_SCOPE
    )
    provider = make_actor(Role.SERVICE_PROVIDER, shelter)
    selectors.case_get(actor=provider, case_id=case.pk)
    services.consent_revoke(actor=officer, case_id=case.pk, purpose=ConsentPurpose.SHARE_SHELTER)
    with pytest.raises(NotFound):
        selectors.case_get(actor=provider, case_id=case.pk)
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    with pytest.raises(ConsentMissing):
        services.case_share(
            actor=officer, case_id=case.pk, agency_id=shelter.pk, scope=SHELTER_SCOPE
        )
    event = AuditEvent.objects.get(action="case.consent_revoke")
    assert event.metadata["grants_ended"] == [str(grant.pk)]


def test_even_an_unrecorded_grant_ending_follows_her_revocation(
    case: CaseFile, officer: Actor, shelter: Agency
) -> None:
    """The policy itself checks the consent: a grant left open by mistake is still dead."""
    services.case_share(actor=officer, case_id=case.pk, agency_id=shelter.pk, scope=SHELTER_SCOPE)
    Consent.objects.filter(case=case).update(revoked_at=timezone.now())
    with pytest.raises(NotFound):
        selectors.case_get(actor=make_actor(Role.SERVICE_PROVIDER, shelter), case_id=case.pk)


def test_she_can_revoke_even_after_the_case_is_closed(
    case: CaseFile, chief: Actor, officer: Actor
) -> None:
    services.case_request_closure(actor=officer, case_id=case.pk, reason="services_completed")
    services.case_approve_closure(actor=chief, case_id=case.pk)
    services.consent_revoke(actor=officer, case_id=case.pk, purpose=ConsentPurpose.SHARE_SHELTER)
    assert not Consent.objects.filter(case=case, revoked_at__isnull=True).exists()


def test_a_narrower_new_answer_narrows_the_sharing_and_a_no_ends_it(
    case: CaseFile, officer: Actor, shelter: Agency
) -> None:
    grant = services.case_share(
        actor=officer, case_id=case.pk, agency_id=shelter.pk, scope=SHELTER_SCOPE
    )
    services.consent_record(
        actor=officer,
        case_id=case.pk,
        purpose=ConsentPurpose.SHARE_SHELTER,
        granted=True,
        scope=[FieldGroup.CONTACT],
    )
    grant.refresh_from_db()
    assert grant.scope == [FieldGroup.CONTACT]
    assert grant.revoked_at is None
    services.consent_record(
        actor=officer, case_id=case.pk, purpose=ConsentPurpose.SHARE_SHELTER, granted=False
    )
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_the_unit_can_end_a_sharing_even_after_closing(
    case: CaseFile, chief: Actor, officer: Actor, shelter: Agency
) -> None:
    grant = services.case_share(
        actor=officer, case_id=case.pk, agency_id=shelter.pk, scope=SHELTER_SCOPE
    )
    provider = make_actor(Role.SERVICE_PROVIDER, shelter)
    with pytest.raises(PermissionDenied):
        services.grant_end(actor=provider, grant_id=grant.pk)
    services.case_request_closure(actor=officer, case_id=case.pk, reason="services_completed")
    services.case_approve_closure(actor=chief, case_id=case.pk)
    services.grant_end(actor=officer, grant_id=grant.pk)
    with pytest.raises(NotFound):
        selectors.case_get(actor=provider, case_id=case.pk)


# --- without consent, on a legal basis ----------------------------------------------------


def test_sharing_without_consent_needs_a_legal_basis_and_a_reason(
    case: CaseFile, officer: Actor, shelter: Agency
) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.share_without_consent(
            actor=officer,
            case_id=case.pk,
            agency_id=shelter.pk,
            basis=SharingBasis.CONSENT,
            reason="He threatened to kill her tonight.",
            scope=SHELTER_SCOPE,
        )
    assert "basis" in caught.value.fields
    with pytest.raises(InvalidInput) as caught:
        services.share_without_consent(
            actor=officer,
            case_id=case.pk,
            agency_id=shelter.pk,
            basis=SharingBasis.LIFE_THREAT,
            reason="urgent",
            scope=SHELTER_SCOPE,
        )
    assert "reason" in caught.value.fields


def test_a_minor_basis_needs_her_record_to_say_she_is_a_minor(
    officer: Actor, shelter: Agency
) -> None:
    adult = open_case(officer, survivor=SurvivorData(full_name="A", age_range=AgeRange.FROM_25))
    with pytest.raises(InvalidInput) as caught:
        services.share_without_consent(
            actor=officer,
            case_id=adult.pk,
            agency_id=shelter.pk,
            basis=SharingBasis.MINOR,
            reason="Child protection duty applies here.",
            scope=SHELTER_SCOPE,
        )
    assert "basis" in caught.value.fields
    girl = open_case(officer, survivor=SurvivorData(full_name="B", age_range=AgeRange.FROM_12))
    grant = services.share_without_consent(
        actor=officer,
        case_id=girl.pk,
        agency_id=shelter.pk,
        basis=SharingBasis.MINOR,
        reason="Child protection duty applies here.",
        scope=SHELTER_SCOPE,
    )
    assert grant.basis == SharingBasis.MINOR


def test_sharing_without_consent_is_marked_and_alerts_the_chief(
    case: CaseFile, chief: Actor, officer: Actor, shelter: Agency
) -> None:
    grant = services.share_without_consent(
        actor=officer,
        case_id=case.pk,
        agency_id=shelter.pk,
        basis=SharingBasis.LIFE_THREAT,
        reason="He threatened to kill her tonight.",
        scope=SHELTER_SCOPE,
    )
    assert grant.basis == SharingBasis.LIFE_THREAT
    assert grant.consent_id is None
    entry = TimelineEntry.objects.get(case=case, kind="shared_without_consent")
    assert entry.metadata["without_consent"] is True
    assert entry.metadata["basis"] == SharingBasis.LIFE_THREAT
    (alert,) = selectors.alerts_for(actor=chief)
    assert (alert.kind, alert.case_id, alert.other_agency_id) == (
        AlertKind.SHARED_WITHOUT_CONSENT,
        case.pk,
        shelter.pk,
    )
    event = AuditEvent.objects.get(action="case.share_without_consent")
    assert event.reason == "He threatened to kill her tonight."


# --- break glass --------------------------------------------------------------------------


def test_break_glass_is_refused_as_not_found_to_roles_that_may_never_use_it(
    case: CaseFile,
) -> None:
    for role in (Role.SERVICE_PROVIDER, Role.NATIONAL_ANALYST, Role.SYSTEM_ADMIN):
        with pytest.raises(NotFound):
            services.break_glass(
                actor=make_actor(role, recently_verified=True),
                case_id=case.pk,
                reason="I need this file right now.",
            )


def test_break_glass_needs_a_fresh_second_factor_and_a_reason(case: CaseFile) -> None:
    unit = make_unit()
    with pytest.raises(StepUpRequired):
        services.break_glass(
            actor=make_actor(Role.UNIT_OFFICER, unit),
            case_id=case.pk,
            reason="She is at our desk, bleeding.",
        )
    with pytest.raises(InvalidInput) as caught:
        services.break_glass(
            actor=make_actor(Role.UNIT_OFFICER, unit, recently_verified=True),
            case_id=case.pk,
            reason="now",
        )
    assert "reason" in caught.value.fields


def test_break_glass_opens_the_case_for_a_few_hours_and_alerts_the_chief(
    case: CaseFile, chief: Actor
) -> None:
    night = make_actor(Role.UNIT_OFFICER, make_unit(), recently_verified=True)
    with pytest.raises(NotFound):
        selectors.case_get(actor=night, case_id=case.pk)
    grant = services.break_glass(
        actor=night, reference=case.reference.lower(), reason="She is at our desk, bleeding."
    )
    assert grant.ends_at is not None
    assert grant.ends_at - grant.starts_at == timedelta(hours=BREAK_GLASS_HOURS)
    _, access = selectors.case_get(actor=night, case_id=case.pk)
    assert access.holding_unit is False
    read = AuditEvent.objects.filter(action="case.read", actor_user_id=night.user_id).get()
    assert read.metadata["emergency"] is True
    (alert,) = selectors.alerts_for(actor=chief)
    assert (alert.kind, alert.other_agency_id) == (AlertKind.BREAK_GLASS, night.agency_id)
    # A colleague of the same agency does not inherit one person's emergency access.
    assert night.agency_id is not None
    colleague = make_actor(Role.UNIT_OFFICER, Agency.objects.get(pk=night.agency_id))
    with pytest.raises(NotFound):
        selectors.case_get(actor=colleague, case_id=case.pk)
    # Once the time is up, the door closes again.
    Grant.objects.filter(pk=grant.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(NotFound):
        selectors.case_get(actor=night, case_id=case.pk)


def test_break_glass_on_an_unknown_reference_is_not_found(case: CaseFile) -> None:
    night = make_actor(Role.PROSECUTOR, recently_verified=True)
    with pytest.raises(NotFound):
        services.break_glass(actor=night, reference="U9999-2020-00001", reason="Hearing at 9.")
    assert not Alert.objects.filter(kind=AlertKind.BREAK_GLASS).exists()


def test_the_holding_unit_has_no_glass_to_break(case: CaseFile, unit: Agency) -> None:
    own = make_actor(Role.UNIT_OFFICER, unit, recently_verified=True)
    with pytest.raises(PermissionDenied):
        services.break_glass(actor=own, case_id=case.pk, reason="Just to see what happens.")
