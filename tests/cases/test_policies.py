"""The access matrix: every role × every action, on a case of the actor's own unit, of
another unit, granted to the actor's agency on her consent, and granted on a consent she
has since revoked. The expected answers are written out here, not computed from the policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from himaya.accounts.roles import Role
from himaya.cases import policies, services
from himaya.cases.models import CaseFile, ConsentPurpose
from himaya.cases.policies import Action, FieldGroup
from himaya.core.actor import SYSTEM, Actor
from himaya.core.errors import NotFound, PermissionDenied
from himaya.network.models import AgencyKind
from tests.cases.helpers import make_actor, make_unit, open_case

A = Action
HOLDING_OFFICER = {
    A.READ,
    A.OPEN_CASE,
    A.SEARCH,
    A.EDIT,
    A.ADD_NOTE,
    A.RECORD_CONSENT,
    A.ADD_EVIDENCE,
    A.DOWNLOAD_EVIDENCE,
    A.TRANSITION,
    A.REQUEST_CLOSURE,
    A.SHARE,
    A.SHARE_WITHOUT_CONSENT,
}
HOLDING_CHIEF = HOLDING_OFFICER | {A.ASSIGN}
#: A unit member looking at another unit's case: may open cases and search in her own unit
#: (actions that precede a case), and break glass; nothing else.
OTHER_UNIT_STAFF = {A.OPEN_CASE, A.SEARCH, A.BREAK_GLASS}

OWN_UNIT: dict[str, set[Action]] = {
    Role.UNIT_CHIEF: HOLDING_CHIEF,
    Role.UNIT_OFFICER: HOLDING_OFFICER,
    # A prosecutor is never unit staff, wherever her membership is: emergency access only.
    Role.PROSECUTOR: {A.BREAK_GLASS},
}
OTHER_UNIT: dict[str, set[Action]] = {
    Role.UNIT_CHIEF: OTHER_UNIT_STAFF,
    Role.UNIT_OFFICER: OTHER_UNIT_STAFF,
    Role.PROSECUTOR: {A.BREAK_GLASS},
}
#: A grant with scope identity + incidents: read only (no evidence download), for the roles
#: that work on cases; analysts, trainers, auditors and administrators see nothing.
CASEWORKERS = {
    Role.FOCAL_POINT,
    Role.HELPLINE_OPERATOR,
    Role.HELPLINE_SUPERVISOR,
    Role.SERVICE_PROVIDER,
}
GRANTED: dict[str, set[Action]] = {
    Role.UNIT_CHIEF: OTHER_UNIT_STAFF | {A.READ},
    Role.UNIT_OFFICER: OTHER_UNIT_STAFF | {A.READ},
    Role.PROSECUTOR: {A.BREAK_GLASS, A.READ},
    **{role: {A.READ} for role in CASEWORKERS},
}
REVOKED = OTHER_UNIT


@dataclass
class World:
    case: CaseFile
    own_unit_actors: dict[str, Actor]
    other_unit_actors: dict[str, Actor]
    granted_actors: dict[str, Actor]
    revoked_actors: dict[str, Actor]


@pytest.fixture
def world() -> World:
    unit = make_unit()
    chief = make_actor(Role.UNIT_CHIEF, unit)
    case = open_case(chief)
    services.consent_record(
        actor=chief,
        case_id=case.pk,
        purpose=ConsentPurpose.SHARE_SHELTER,
        granted=True,
        scope=[FieldGroup.IDENTITY, FieldGroup.INCIDENTS],
    )
    services.consent_record(
        actor=chief,
        case_id=case.pk,
        purpose=ConsentPurpose.SHARE_NGO,
        granted=True,
        scope=[FieldGroup.IDENTITY, FieldGroup.INCIDENTS],
    )
    shelter = make_unit(AgencyKind.SHELTER)
    ngo = make_unit(AgencyKind.NGO_CENTRE)
    scope = [FieldGroup.IDENTITY, FieldGroup.INCIDENTS]
    services.case_share(actor=chief, case_id=case.pk, agency_id=shelter.pk, scope=scope)
    services.case_share(actor=chief, case_id=case.pk, agency_id=ngo.pk, scope=scope)
    services.consent_revoke(actor=chief, case_id=case.pk, purpose=ConsentPurpose.SHARE_NGO)
    other = make_unit()
    case.refresh_from_db()
    return World(
        case=case,
        own_unit_actors={role: make_actor(role, unit) for role in Role.values},
        other_unit_actors={role: make_actor(role, other) for role in Role.values},
        granted_actors={role: make_actor(role, shelter) for role in Role.values},
        revoked_actors={role: make_actor(role, ngo) for role in Role.values},
    )


def _allowed_actions(actor: Actor, case: CaseFile) -> set[Action]:
    return {action for action in Action if policies.allowed(actor, action, case)}


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
def test_every_role_and_action_on_an_own_unit_case(world: World, role: str) -> None:
    actor = world.own_unit_actors[role]
    assert _allowed_actions(actor, world.case) == OWN_UNIT.get(role, set())


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
def test_every_role_and_action_on_another_units_case(world: World, role: str) -> None:
    actor = world.other_unit_actors[role]
    assert _allowed_actions(actor, world.case) == OTHER_UNIT.get(role, set())


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
def test_every_role_and_action_on_a_case_granted_on_consent(world: World, role: str) -> None:
    actor = world.granted_actors[role]
    assert _allowed_actions(actor, world.case) == GRANTED.get(role, set())


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
def test_every_role_and_action_once_her_consent_is_revoked(world: World, role: str) -> None:
    actor = world.revoked_actors[role]
    assert _allowed_actions(actor, world.case) == REVOKED.get(role, set())


@pytest.mark.django_db
def test_a_grant_shows_only_the_field_groups_she_agreed_to(world: World) -> None:
    access = policies.access_for(world.granted_actors[Role.SERVICE_PROVIDER], world.case)
    assert access is not None
    assert not access.holding_unit
    assert access.groups == {FieldGroup.IDENTITY, FieldGroup.INCIDENTS}
    assert not access.sees(FieldGroup.NARRATIVE)


@pytest.mark.django_db
def test_outsiders_are_told_not_found_and_insiders_forbidden(world: World) -> None:
    with pytest.raises(NotFound):
        policies.require(world.other_unit_actors[Role.UNIT_OFFICER], Action.READ, world.case)
    with pytest.raises(NotFound):
        policies.require(world.revoked_actors[Role.SERVICE_PROVIDER], Action.EDIT, world.case)
    with pytest.raises(PermissionDenied):
        policies.require(world.own_unit_actors[Role.UNIT_OFFICER], Action.ASSIGN, world.case)
    with pytest.raises(PermissionDenied):
        policies.require(world.granted_actors[Role.SERVICE_PROVIDER], Action.EDIT, world.case)


@pytest.mark.django_db
def test_the_system_actor_never_reads_a_case(world: World) -> None:
    assert _allowed_actions(SYSTEM, world.case) == set()


@pytest.mark.django_db
def test_a_closed_case_only_takes_consent_and_reopening(world: World) -> None:
    chief = world.own_unit_actors[Role.UNIT_CHIEF]
    services.case_request_closure(actor=chief, case_id=world.case.pk, reason="services_completed")
    services.case_approve_closure(actor=chief, case_id=world.case.pk)
    world.case.refresh_from_db()
    assert _allowed_actions(chief, world.case) == {
        A.READ,
        A.OPEN_CASE,
        A.SEARCH,
        A.RECORD_CONSENT,
        A.DOWNLOAD_EVIDENCE,
        A.REOPEN,
    }
    officer = world.own_unit_actors[Role.UNIT_OFFICER]
    assert A.REOPEN not in _allowed_actions(officer, world.case)


@pytest.mark.django_db
def test_only_the_chief_approves_a_requested_closure(world: World) -> None:
    officer = world.own_unit_actors[Role.UNIT_OFFICER]
    services.case_request_closure(actor=officer, case_id=world.case.pk, reason="no_contact")
    world.case.refresh_from_db()
    assert A.APPROVE_CLOSURE not in _allowed_actions(officer, world.case)
    assert A.APPROVE_CLOSURE in _allowed_actions(world.own_unit_actors[Role.UNIT_CHIEF], world.case)
