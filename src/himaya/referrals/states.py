"""A referral's life cycle as data: states and the transitions allowed between them.

::

    sent ──► accepted ──► completed
      │          └──────► closed
      ├──► declined
      └──► withdrawn

``sent`` and ``accepted`` are *active*: while a referral is active its grant (for a referral to
a service) lets the receiving agency see the consented fields, and no second referral of the
same case to the same agency may be sent. Every other state is final and ends that access.
Being overdue is not a state: it is a flag (``escalation_level``) on a ``sent`` referral
whose acceptance deadline passed.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReferralState(models.TextChoices):
    SENT = "sent", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")


ACTIVE_STATES = frozenset({ReferralState.SENT, ReferralState.ACCEPTED})

TRANSITIONS: dict[ReferralState, frozenset[ReferralState]] = {
    ReferralState.SENT: frozenset(
        {ReferralState.ACCEPTED, ReferralState.DECLINED, ReferralState.WITHDRAWN}
    ),
    ReferralState.ACCEPTED: frozenset({ReferralState.COMPLETED, ReferralState.CLOSED}),
    ReferralState.DECLINED: frozenset(),
    ReferralState.WITHDRAWN: frozenset(),
    ReferralState.COMPLETED: frozenset(),
    ReferralState.CLOSED: frozenset(),
}


class EscalationLevel(models.IntegerChoices):
    NONE = 0, _("On time")
    CHIEF = 1, _("Overdue: the unit chief was alerted")
    CENTRAL = 2, _("Overdue: the central unit was alerted")


def can_transition(current: str, target: str) -> bool:
    return ReferralState(target) in TRANSITIONS.get(ReferralState(current), frozenset())
