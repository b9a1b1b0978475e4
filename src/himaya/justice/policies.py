"""Who may do what with a complaint, its decisions, hearings, measures and breaches.

The only place that decides for the justice app (``cases.policies`` still decides who may
read the case file itself, through the grant):

* the prosecutors of the office a complaint was forwarded to see it and act on it
  (decisions, hearings, measures, breaches);
* the staff of the unit that holds the case see its justice status (what was decided,
  hearings, measures) and report breaches; they forward, the office decides;
* everyone else gets ``NotFound``: another office's complaint looks exactly like a missing
  one.

The complaint record is the office's own legal record: it stays visible to the office when
her consent to share her file is withdrawn, but her file (identity, account, evidence)
does not -- that is ``cases.policies`` reading the ended grant. See docs/architecture/justice.md.
"""

from __future__ import annotations

from django.db.models import Q

from himaya.cases.policies import UNIT_ROLES, is_unit_staff
from himaya.core.actor import Actor
from himaya.core.errors import NotFound, PermissionDenied
from himaya.justice.models import Complaint
from himaya.network.models import AgencyKind

PROSECUTOR_ROLES = frozenset({"prosecutor"})
#: Agencies a complaint can be forwarded to.
PROSECUTION_KINDS = frozenset({AgencyKind.PROSECUTION_OFFICE, AgencyKind.APPEAL_COURT})


def is_prosecutor(actor: Actor) -> bool:
    return actor.role in PROSECUTOR_ROLES and actor.agency_id is not None


def is_prosecutor_of(actor: Actor, office_id: int) -> bool:
    return is_prosecutor(actor) and actor.agency_id == office_id


def sees(actor: Actor, complaint: Complaint) -> bool:
    if actor.is_system or actor.agency_id is None:
        return False
    return is_prosecutor_of(actor, complaint.office_id) or is_unit_staff(
        actor, complaint.case.unit_id
    )


def visible_complaints_q(actor: Actor) -> Q:
    """A filter on ``Complaint`` matching what the actor may open."""
    if actor.is_system or actor.agency_id is None:
        return Q(pk__in=[])
    if is_prosecutor(actor):
        return Q(office_id=actor.agency_id)
    if actor.role in UNIT_ROLES:
        return Q(case__unit_id=actor.agency_id)
    return Q(pk__in=[])


def require_sees(actor: Actor, complaint: Complaint) -> None:
    if not sees(actor, complaint):
        raise NotFound


def require_decides(actor: Actor, complaint: Complaint) -> None:
    """Decisions, hearings, measures: the office's prosecutors only. The unit sees the
    complaint (so it gets ``PermissionDenied``); anyone else gets ``NotFound``."""
    require_sees(actor, complaint)
    if not is_prosecutor_of(actor, complaint.office_id):
        raise PermissionDenied


def may_decide(actor: Actor, complaint: Complaint) -> bool:
    return is_prosecutor_of(actor, complaint.office_id)


def may_report_breach(actor: Actor, complaint: Complaint) -> bool:
    return sees(actor, complaint)


def can_use_queue(actor: Actor) -> bool:
    return is_prosecutor(actor)


def can_see_case_status(actor: Actor) -> bool:
    return actor.role in UNIT_ROLES and actor.agency_id is not None
