"""The case file's life cycle as data: states and the transitions allowed between them.

A case is referred (to services) and forwarded (to the prosecutor) in either order; closing
needs the unit chief's approval, so an officer can only *request* closure. A closed case can
be reopened. Every transition is a timeline entry written by ``cases.services``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseState(models.TextChoices):
    OPEN = "open", _("Open")
    ASSESSED = "assessed", _("Assessed")
    REFERRED = "referred", _("Referred")
    FORWARDED = "forwarded", _("Forwarded to the prosecutor")
    CLOSURE_REQUESTED = "closure_requested", _("Closure awaiting approval")
    CLOSED = "closed", _("Closed")


_ACTIVE = (CaseState.OPEN, CaseState.ASSESSED, CaseState.REFERRED, CaseState.FORWARDED)

TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.OPEN: frozenset(
        {
            CaseState.ASSESSED,
            CaseState.REFERRED,
            CaseState.FORWARDED,
            CaseState.CLOSURE_REQUESTED,
        }
    ),
    CaseState.ASSESSED: frozenset(
        {CaseState.REFERRED, CaseState.FORWARDED, CaseState.CLOSURE_REQUESTED}
    ),
    CaseState.REFERRED: frozenset({CaseState.FORWARDED, CaseState.CLOSURE_REQUESTED}),
    CaseState.FORWARDED: frozenset({CaseState.REFERRED, CaseState.CLOSURE_REQUESTED}),
    # The chief approves (closed) or sends it back to where it was.
    CaseState.CLOSURE_REQUESTED: frozenset({CaseState.CLOSED, *_ACTIVE}),
    CaseState.CLOSED: frozenset({CaseState.OPEN}),
}

ACTIVE_STATES = frozenset(_ACTIVE)


class ClosureReason(models.TextChoices):
    SERVICES_COMPLETED = "services_completed", _("Services completed")
    SURVIVOR_DECIDED = "survivor_decided", _("She decided to stop")
    TRANSFERRED = "transferred", _("Transferred to another unit")
    JUSTICE_COMPLETED = "justice_completed", _("Justice process completed")
    NO_CONTACT = "no_contact", _("No safe contact possible")
    DUPLICATE = "duplicate", _("Duplicate of another file")


def can_transition(current: str, target: str) -> bool:
    return CaseState(target) in TRANSITIONS.get(CaseState(current), frozenset())
