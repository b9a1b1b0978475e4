"""Who may do what with a referral: role × agency × side (sender or receiver) × state.

The only place that decides; services call ``require`` before writing and selectors use
``side_of`` to scope reads. The rules:

* a referral to a unit is sent by a **focal point** of the district station, received by the
  **unit's staff** (chief and officers);
* a referral to a service is sent by the **staff of the unit** that holds the case, received by
  the service providers of the receiving agency;
* the sender withdraws (while it waits) or closes (once accepted); the receiver accepts or
  declines (while it waits), records what was provided, admits and sees her leave (a
  shelter), and completes or closes it;
* anyone else does not learn that the referral exists: ``NotFound``, exactly as for a
  missing one. Someone who may see it but not do this step gets ``PermissionDenied``, and a
  step the state no longer allows (accepting a withdrawn referral) a ``Conflict`` saying why.

What the receiver of a referral to a service may read of the case is not decided here but by
``cases.policies`` through the referral's ``Grant``.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from himaya.cases.policies import CASEWORK_ROLES, UNIT_ROLES
from himaya.core.actor import Actor
from himaya.core.errors import Conflict, NotFound, PermissionDenied
from himaya.network.models import AgencyKind
from himaya.referrals.models import Referral, ReferralKind
from himaya.referrals.states import ReferralState

FOCAL_POINT = "focal_point"
SERVICE_PROVIDER = "service_provider"
#: Kinds of agency a unit refers a survivor to.
SERVICE_KINDS = frozenset(
    {
        AgencyKind.SHELTER,
        AgencyKind.HOSPITAL_UNIT,
        AgencyKind.LEGAL_AID,
        AgencyKind.PSYCHOSOCIAL,
        AgencyKind.NGO_CENTRE,
    }
)


class Side(StrEnum):
    SENDER = "sender"
    RECEIVER = "receiver"


class Step(StrEnum):
    READ = "read"
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    RECORD_PROVIDED = "record_provided"
    COMPLETE = "complete"
    CLOSE = "close"
    ADMIT = "admit"
    DEPART = "depart"
    REFER_AGAIN = "refer_again"
    CONSENT_WITHDRAWN = "consent_withdrawn"


#: Which side takes each step, and from which states.
_STEPS: dict[Step, tuple[frozenset[Side], frozenset[ReferralState]]] = {
    Step.ACCEPT: (frozenset({Side.RECEIVER}), frozenset({ReferralState.SENT})),
    Step.DECLINE: (frozenset({Side.RECEIVER}), frozenset({ReferralState.SENT})),
    Step.WITHDRAW: (frozenset({Side.SENDER}), frozenset({ReferralState.SENT})),
    Step.RECORD_PROVIDED: (frozenset({Side.RECEIVER}), frozenset({ReferralState.ACCEPTED})),
    Step.COMPLETE: (frozenset({Side.RECEIVER}), frozenset({ReferralState.ACCEPTED})),
    Step.CLOSE: (
        frozenset({Side.SENDER, Side.RECEIVER}),
        frozenset({ReferralState.ACCEPTED}),
    ),
    Step.ADMIT: (frozenset({Side.RECEIVER}), frozenset({ReferralState.ACCEPTED})),
    Step.DEPART: (frozenset({Side.RECEIVER}), frozenset({ReferralState.ACCEPTED})),
    Step.REFER_AGAIN: (
        frozenset({Side.SENDER}),
        frozenset({ReferralState.DECLINED, ReferralState.WITHDRAWN}),
    ),
    Step.CONSENT_WITHDRAWN: (
        frozenset({Side.SENDER}),
        frozenset({ReferralState.SENT, ReferralState.ACCEPTED}),
    ),
}

#: Why a step is refused in a state, in words for the person who tried.
_STATE_MESSAGES = {
    ReferralState.SENT: _("This referral is still waiting for an answer."),
    ReferralState.ACCEPTED: _("This referral was already accepted."),
    ReferralState.DECLINED: _("This referral was declined; it can no longer be changed."),
    ReferralState.WITHDRAWN: _("This referral was withdrawn; it can no longer be accepted."),
    ReferralState.COMPLETED: _("This referral is completed; it can no longer be changed."),
    ReferralState.CLOSED: _("This referral is closed; it can no longer be changed."),
}


def is_focal_point(actor: Actor) -> bool:
    return actor.role == FOCAL_POINT and actor.agency_id is not None and not actor.is_system


def is_unit_staff(actor: Actor) -> bool:
    return actor.role in UNIT_ROLES and actor.agency_id is not None and not actor.is_system


def may_receive_services(actor: Actor) -> bool:
    """The staff of a service (shelter, hospital unit, legal aid, NGO…) receive referrals to
    services. Prosecutors and the helpline receive cases by other doors (forwarding,
    emergency access), not as referrals."""
    return (
        actor.role == SERVICE_PROVIDER
        and SERVICE_PROVIDER in CASEWORK_ROLES
        and actor.agency_id is not None
        and not actor.is_system
    )


def has_referral_pages(actor: Actor) -> bool:
    """Whether the referrals pages (a queue of one's own) are for this actor."""
    return is_focal_point(actor) or is_unit_staff(actor) or may_receive_services(actor)


def side_of(actor: Actor, referral: Referral) -> Side | None:
    """Whether the actor acts for the sending or the receiving agency; None: neither."""
    if actor.is_system or actor.agency_id is None:
        return None
    sender_roles = {FOCAL_POINT} if referral.kind == ReferralKind.TO_UNIT else UNIT_ROLES
    if referral.from_agency_id == actor.agency_id and actor.role in sender_roles:
        return Side.SENDER
    if referral.to_agency_id == actor.agency_id:
        if referral.kind == ReferralKind.TO_UNIT and actor.role in UNIT_ROLES:
            return Side.RECEIVER
        if referral.kind == ReferralKind.TO_SERVICE and may_receive_services(actor):
            return Side.RECEIVER
    return None


def allowed(actor: Actor, step: Step, referral: Referral) -> bool:
    side = side_of(actor, referral)
    if side is None:
        return False
    if step is Step.READ:
        return True
    sides, states = _STEPS[step]
    return side in sides and referral.state in states


def require(actor: Actor, step: Step, referral: Referral) -> Side:
    """The actor's side, or: ``NotFound`` for an outsider (a refusal looks like a missing
    referral), ``PermissionDenied`` for the wrong side, ``Conflict`` (with the reason) when
    the referral's state no longer allows the step."""
    side = side_of(actor, referral)
    if side is None:
        raise NotFound
    if step is Step.READ:
        return side
    sides, states = _STEPS[step]
    if side not in sides:
        raise PermissionDenied
    if referral.state not in states:
        raise Conflict(_STATE_MESSAGES[ReferralState(referral.state)])
    return side


def sees_first_contact(actor: Actor, referral: Referral) -> bool:
    """The first contact's content is for the station that wrote it until a unit accepts
    her (after that it is the unit's case), and for the unit while the referral waits or
    once it accepted it. A unit that declined sees it no longer."""
    side = side_of(actor, referral)
    if referral.kind != ReferralKind.TO_UNIT or side is None:
        return False
    if side is Side.SENDER:
        return referral.state != ReferralState.ACCEPTED
    return referral.state in (ReferralState.SENT, ReferralState.ACCEPTED)
