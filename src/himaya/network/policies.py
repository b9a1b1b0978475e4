"""Who may do what with the service network.

The network sits below ``accounts`` on the floors, so it cannot import ``Role``: roles are
named here by their string values (the same strings as ``himaya.accounts.roles.Role``; a test
in tests/network checks they still match).

* Every staff member acting in a role may browse the directory and use routing.
* Only the system administrator edits the network (creates, changes, imports agencies).
* A unit chief may mark her own unit temporarily unavailable (and available again).
* A shelter's address may be revealed only to the roles that take a survivor there, and to
  the shelter's own staff; every reveal needs a fresh second factor, a reason, and is audited.
  The administrator may *write* a shelter's address but never read it back.
"""

from __future__ import annotations

from himaya.core.actor import Actor
from himaya.core.errors import NotFound, PermissionDenied, StepUpRequired
from himaya.network.models import AgencyKind

UNIT_CHIEF = "unit_chief"
UNIT_OFFICER = "unit_officer"
FOCAL_POINT = "focal_point"
PROSECUTOR = "prosecutor"
HELPLINE_OPERATOR = "helpline_operator"
HELPLINE_SUPERVISOR = "helpline_supervisor"
SERVICE_PROVIDER = "service_provider"
TRAINER = "trainer"
NATIONAL_ANALYST = "national_analyst"
SYSTEM_ADMIN = "system_admin"
AUDITOR = "auditor"

ALL_ROLES = frozenset(
    {
        UNIT_CHIEF,
        UNIT_OFFICER,
        FOCAL_POINT,
        PROSECUTOR,
        HELPLINE_OPERATOR,
        HELPLINE_SUPERVISOR,
        SERVICE_PROVIDER,
        TRAINER,
        NATIONAL_ANALYST,
        SYSTEM_ADMIN,
        AUDITOR,
    }
)

#: Roles whose work is to bring a survivor to a shelter: the unit that holds her case, the
#: prosecutor who orders a placement, and the helpline supervisor who arranges a night-time
#: emergency placement. Focal points refer to the unit, not to a shelter; operators,
#: trainers, analysts, auditors and administrators never need the address.
SHELTER_ADDRESS_ROLES = frozenset({UNIT_CHIEF, UNIT_OFFICER, PROSECUTOR, HELPLINE_SUPERVISOR})


def can_browse(actor: Actor | None) -> bool:
    return actor is not None and actor.role in ALL_ROLES


def check_browse(actor: Actor | None) -> Actor:
    """The directory is for staff acting in a role; anyone else learns nothing (404)."""
    if actor is None or not can_browse(actor):
        raise NotFound()
    return actor


def can_edit_network(actor: Actor | None) -> bool:
    return actor is not None and actor.role == SYSTEM_ADMIN


def check_edit_network(actor: Actor) -> None:
    if not can_edit_network(actor):
        raise PermissionDenied()


def can_set_availability(actor: Actor | None, *, agency_id: int, kind: str) -> bool:
    if actor is None:
        return False
    if actor.role == SYSTEM_ADMIN:
        return True
    return (
        actor.role == UNIT_CHIEF
        and actor.agency_id == agency_id
        and kind in (AgencyKind.POLICE_UNIT, AgencyKind.DISTRICT_STATION)
    )


def check_set_availability(actor: Actor, *, agency_id: int, kind: str) -> None:
    if not can_set_availability(actor, agency_id=agency_id, kind=kind):
        raise PermissionDenied()


def may_reveal_shelter_address(actor: Actor | None, *, shelter_id: int) -> bool:
    """Whether the actor's role may see this shelter's address at all (step-up aside)."""
    if actor is None or actor.is_system:
        return False
    if actor.role in SHELTER_ADDRESS_ROLES:
        return True
    return actor.role == SERVICE_PROVIDER and actor.agency_id == shelter_id


def check_reveal_shelter_address(actor: Actor, *, shelter_id: int) -> None:
    """Role first (403), then a fresh second factor (step-up)."""
    if not may_reveal_shelter_address(actor, shelter_id=shelter_id):
        raise PermissionDenied()
    if not actor.recently_verified:
        raise StepUpRequired()


def may_export_protected_addresses(actor: Actor) -> bool:
    """Only the command line (system actor, operator holding the master key) exports them."""
    return actor.is_system
