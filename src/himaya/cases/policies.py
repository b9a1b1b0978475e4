"""Who may do what with a case file: role × agency × grant × consent × case state.

This module is the only place that decides. Selectors use ``access_for`` to scope reads and
services call ``require`` before writing; views and the API never decide themselves.

The rules (DESIGN.md "Access"):

* the staff of the unit that holds the case (chief, officers) see all of it;
* another agency sees a case only through an active ``Grant`` (a referral, a forwarded
  complaint, emergency access) and only the field groups in its scope; a grant resting on her
  consent ends the moment that consent is revoked;
* emergency access ("break glass") is a grant to one person, with a reason, for a few hours,
  and alerts the holding unit's chief;
* analysts, auditors and system administrators never see case content.

Fail closed: anything not allowed here is refused, and a refused read looks like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q
from django.utils import timezone

from himaya.cases.models import CaseFile, ConsentPurpose, Grant, SharingBasis
from himaya.cases.states import ACTIVE_STATES, CaseState
from himaya.core.actor import Actor
from himaya.core.errors import NotFound, PermissionDenied
from himaya.network.models import AgencyKind


class FieldGroup(StrEnum):
    """What a grant can let another agency see. The holding unit sees every group."""

    IDENTITY = "identity"  # name, CIN, date of birth
    CONTACT = "contact"  # phone, address, safe-contact preferences
    NARRATIVE = "narrative"  # her account, in her words
    INCIDENTS = "incidents"  # dates, place, forms, classification
    PERPETRATORS = "perpetrators"
    EVIDENCE = "evidence"  # list with hashes, and downloads
    DEPENDANTS = "dependants"


ALL_GROUPS: frozenset[FieldGroup] = frozenset(FieldGroup)

#: Roles that work inside a unit that holds case files.
UNIT_ROLES = frozenset({"unit_chief", "unit_officer"})
#: Roles that work on cases and so may read one through a grant to their agency. Analysts,
#: trainers, auditors and system administrators never read case content, whatever grants
#: their agency holds.
CASEWORK_ROLES = frozenset(
    {
        "unit_chief",
        "unit_officer",
        "focal_point",
        "prosecutor",
        "helpline_operator",
        "helpline_supervisor",
        "service_provider",
    }
)
#: Roles that may take emergency access to a case of another unit.
BREAK_GLASS_ROLES = frozenset({"unit_chief", "unit_officer", "prosecutor"})
#: How long emergency access lasts.
BREAK_GLASS_HOURS = 4

#: Which consent purpose covers sharing with each kind of agency. A kind missing here can
#: only receive a case on a legal basis (``share_without_consent``), never on consent.
SHARING_PURPOSE: dict[str, ConsentPurpose] = {
    AgencyKind.PROSECUTION_OFFICE: ConsentPurpose.SHARE_PROSECUTOR,
    AgencyKind.APPEAL_COURT: ConsentPurpose.SHARE_PROSECUTOR,
    AgencyKind.SHELTER: ConsentPurpose.SHARE_SHELTER,
    AgencyKind.HOSPITAL_UNIT: ConsentPurpose.SHARE_HEALTH,
    AgencyKind.LEGAL_AID: ConsentPurpose.SHARE_LEGAL_AID,
    AgencyKind.PSYCHOSOCIAL: ConsentPurpose.SHARE_PSYCHOSOCIAL,
    AgencyKind.NGO_CENTRE: ConsentPurpose.SHARE_NGO,
}

#: Legal bases on which a unit may share without her consent (Law 103-13, child protection).
WITHOUT_CONSENT_BASES = frozenset({SharingBasis.MINOR, SharingBasis.LIFE_THREAT})


class Action(StrEnum):
    READ = "read"
    OPEN_CASE = "open_case"
    #: Look her up (phone, CIN, name) and see duplicate candidates; precedes a case.
    SEARCH = "search"
    EDIT = "edit"
    ADD_NOTE = "add_note"
    RECORD_CONSENT = "record_consent"
    ADD_EVIDENCE = "add_evidence"
    DOWNLOAD_EVIDENCE = "download_evidence"
    ASSIGN = "assign"
    TRANSITION = "transition"
    REQUEST_CLOSURE = "request_closure"
    APPROVE_CLOSURE = "approve_closure"
    REOPEN = "reopen"
    #: Open the case to another agency on her live consent (referrals, forwarding).
    SHARE = "share"
    SHARE_WITHOUT_CONSENT = "share_without_consent"
    BREAK_GLASS = "break_glass"


@dataclass(frozen=True, slots=True)
class Access:
    """What an actor may see of one case, and why."""

    groups: frozenset[FieldGroup]
    holding_unit: bool
    grants: tuple[Grant, ...] = ()

    def sees(self, group: FieldGroup) -> bool:
        return group in self.groups


def is_unit_staff(actor: Actor, unit_id: int) -> bool:
    return actor.role in UNIT_ROLES and actor.agency_id == unit_id


def active_grants_q(actor: Actor) -> Q:
    """Grants that are live now for this actor's agency (or, for emergency access, person)."""
    now = timezone.now()
    return (
        Q(agency_id=actor.agency_id, revoked_at__isnull=True, starts_at__lte=now)
        & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        & (Q(user__isnull=True) | Q(user_id=actor.user_id))
        # A grant resting on her consent dies with it.
        & (Q(consent__isnull=True) | Q(consent__revoked_at__isnull=True, consent__granted=True))
    )


def access_for(actor: Actor, case: CaseFile) -> Access | None:
    """What ``actor`` may see of ``case``; ``None`` means nothing (and 404 to the caller)."""
    if actor.is_system or actor.agency_id is None:
        return None
    if is_unit_staff(actor, case.unit_id):
        return Access(groups=ALL_GROUPS, holding_unit=True)
    if actor.role not in CASEWORK_ROLES:
        return None
    grants = tuple(Grant.objects.filter(active_grants_q(actor), case=case))
    if not grants:
        return None
    groups = frozenset(FieldGroup(g) for grant in grants for g in grant.scope if g in ALL_GROUPS)
    return Access(groups=groups, holding_unit=False, grants=grants)


def visible_cases_q(actor: Actor) -> Q:
    """A filter on ``CaseFile`` matching every case the actor may open (for list selectors)."""
    if actor.is_system or actor.agency_id is None or actor.role not in CASEWORK_ROLES:
        return Q(pk__in=[])
    granted = Grant.objects.filter(active_grants_q(actor)).values("case_id")
    if actor.role in UNIT_ROLES:
        return Q(unit_id=actor.agency_id) | Q(pk__in=granted)
    return Q(pk__in=granted)


def allowed(actor: Actor, action: Action, case: CaseFile | None = None) -> bool:
    """The action matrix. ``case`` is None only for actions that precede a case."""
    if action in (Action.OPEN_CASE, Action.SEARCH):
        return actor.role in UNIT_ROLES and actor.agency_id is not None
    if case is None:
        return False
    if action is Action.BREAK_GLASS:
        return actor.role in BREAK_GLASS_ROLES and not is_unit_staff(actor, case.unit_id)
    holding = is_unit_staff(actor, case.unit_id)
    closed = case.state == CaseState.CLOSED
    match action:
        case Action.READ:
            return access_for(actor, case) is not None
        case Action.DOWNLOAD_EVIDENCE:
            access = access_for(actor, case)
            return access is not None and access.sees(FieldGroup.EVIDENCE)
        case Action.EDIT | Action.ADD_NOTE | Action.ADD_EVIDENCE | Action.RECORD_CONSENT:
            # Consent stays recordable on a closed case: she may revoke at any time.
            return holding and (not closed or action is Action.RECORD_CONSENT)
        case Action.TRANSITION | Action.REQUEST_CLOSURE:
            return holding and case.state in ACTIVE_STATES
        case Action.SHARE | Action.SHARE_WITHOUT_CONSENT:
            # Any officer of the unit: a life-threatening risk at night cannot wait for the
            # chief, who is alerted of every sharing without consent instead.
            return holding and not closed
        case Action.ASSIGN:
            return holding and actor.role == "unit_chief" and not closed
        case Action.APPROVE_CLOSURE:
            return (
                holding and actor.role == "unit_chief" and case.state == CaseState.CLOSURE_REQUESTED
            )
        case Action.REOPEN:
            return holding and actor.role == "unit_chief" and closed


def require(actor: Actor, action: Action, case: CaseFile | None = None) -> None:
    """Raise if not allowed: ``NotFound`` when the actor may not even see the case (so a
    refusal and a missing case look the same), ``PermissionDenied`` when she may see it but
    not do this."""
    if allowed(actor, action, case):
        return
    if case is not None and action is not Action.BREAK_GLASS and access_for(actor, case) is None:
        raise NotFound
    raise PermissionDenied


def may_read_alerts(actor: Actor) -> bool:
    """The unit's alerts (emergency access, sharing without consent, repeat perpetrators,
    earlier contact elsewhere, closures to approve) are the unit chief's: the page and the
    API both refuse anyone else as if there were nothing there (404)."""
    return actor.role == "unit_chief" and actor.agency_id is not None and not actor.is_system


def is_emergency(grant: Grant) -> bool:
    return grant.basis == SharingBasis.BREAK_GLASS
