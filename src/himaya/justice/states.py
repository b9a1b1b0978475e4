"""The complaint's life cycle at the prosecution office, as data.

A complaint arrives (``received``) from the unit or from her, online. The prosecutor decides:
open proceedings, ask for further investigation, refer it to an investigating judge, or
dismiss it with a reason. Protection measures can be ordered at any step before a final
outcome and do not move the complaint. A hearing's outcome (conviction or acquittal) makes
it ``judged``. ``dismissed`` and ``judged`` are final: nothing more is decided on them here
(a dismissed complaint taken up again is a new complaint, forwarded again).

Hearings and measures have their own small state sets below. Every transition writes a
justice timeline row (``ComplaintEvent``) and a ``cases.TimelineEntry`` on the case.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ComplaintState(models.TextChoices):
    RECEIVED = "received", _("Awaiting the prosecutor's decision")
    INVESTIGATION = "investigation", _("Further investigation requested")
    PROCEEDINGS = "proceedings", _("Proceedings opened")
    INVESTIGATING_JUDGE = "investigating_judge", _("Referred to an investigating judge")
    JUDGED = "judged", _("Judged")
    DISMISSED = "dismissed", _("Dismissed")


class DecisionKind(models.TextChoices):
    OPEN_PROCEEDINGS = "open_proceedings", _("Open proceedings")
    FURTHER_INVESTIGATION = "further_investigation", _("Request further investigation")
    PROTECTION_MEASURES = "protection_measures", _("Order protection measures")
    REFER_INVESTIGATING_JUDGE = "refer_investigating_judge", _("Refer to an investigating judge")
    DISMISS = "dismiss", _("Dismiss, with a reason")


#: Where each decision takes the complaint; ``None``: it stays where it is.
DECISION_TARGET: dict[DecisionKind, ComplaintState | None] = {
    DecisionKind.OPEN_PROCEEDINGS: ComplaintState.PROCEEDINGS,
    DecisionKind.FURTHER_INVESTIGATION: ComplaintState.INVESTIGATION,
    DecisionKind.PROTECTION_MEASURES: None,
    DecisionKind.REFER_INVESTIGATING_JUDGE: ComplaintState.INVESTIGATING_JUDGE,
    DecisionKind.DISMISS: ComplaintState.DISMISSED,
}

TRANSITIONS: dict[ComplaintState, frozenset[ComplaintState]] = {
    ComplaintState.RECEIVED: frozenset(
        {
            ComplaintState.INVESTIGATION,
            ComplaintState.PROCEEDINGS,
            ComplaintState.INVESTIGATING_JUDGE,
            ComplaintState.DISMISSED,
        }
    ),
    ComplaintState.INVESTIGATION: frozenset(
        {
            ComplaintState.PROCEEDINGS,
            ComplaintState.INVESTIGATING_JUDGE,
            ComplaintState.DISMISSED,
        }
    ),
    ComplaintState.PROCEEDINGS: frozenset(
        {ComplaintState.INVESTIGATING_JUDGE, ComplaintState.JUDGED, ComplaintState.DISMISSED}
    ),
    ComplaintState.INVESTIGATING_JUDGE: frozenset(
        {ComplaintState.PROCEEDINGS, ComplaintState.JUDGED, ComplaintState.DISMISSED}
    ),
    ComplaintState.JUDGED: frozenset(),
    ComplaintState.DISMISSED: frozenset(),
}

FINAL_STATES = frozenset({ComplaintState.JUDGED, ComplaintState.DISMISSED})
#: The prosecutor's "awaiting decision" queue.
AWAITING_STATES = frozenset({ComplaintState.RECEIVED, ComplaintState.INVESTIGATION})


class HearingState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    HELD = "held", _("Held")


class HearingOutcome(models.TextChoices):
    CONVICTION = "conviction", _("Conviction")
    ACQUITTAL = "acquittal", _("Acquittal")
    ADJOURNED = "adjourned", _("Adjourned")


class MeasureState(models.TextChoices):
    ACTIVE = "active", _("In force")
    ENDED = "ended", _("Ended")


def can_transition(current: str, target: str) -> bool:
    return ComplaintState(target) in TRANSITIONS.get(ComplaintState(current), frozenset())
