"""Messages of the justice app's refusals (translated; never anything about her)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

NO_CONSENT = _(
    "She has not agreed to share her file with the prosecutor. Record her consent first, "
    "or forward on a legal basis with a reason."
)
NO_COMPETENT_OFFICE = _(
    "No competent prosecution office is recorded for this case's communes. Choose the office."
)
NOT_AN_OFFICE = _("Choose a prosecution office from the directory.")
ALREADY_FORWARDED_ELSEWHERE = _(
    "This complaint is already with another prosecution office. It cannot be forwarded twice."
)
COMPLAINT_CLOSED = _(
    "This complaint is closed (dismissed or judged): nothing more can be decided on it."
)
DECISION_NOT_NOW = _("This decision is not possible at the complaint's current step.")
MEASURE_IS_A_FORM = _("Record the protection measure itself, with its form below.")
HEARING_IN_PAST = _("The hearing date is in the past. Choose a future date and time.")
HEARING_NEEDS_PROCEEDINGS = _(
    "Open proceedings or refer to an investigating judge before setting a hearing."
)
HEARING_NEEDS_PLACE = _("Say where the hearing takes place, or mark it as remote.")
OUTCOME_RECORDED = _("The outcome of this hearing is already recorded.")
OUTCOME_BEFORE_HEARING = _("The outcome can be recorded once the hearing has taken place.")
END_BEFORE_START = _("The end must not come before the start.")
DISTANCE_NEEDED = _("Say the distance he must keep, in metres.")
NOBODY_PROTECTED = _("Choose who the measure protects.")
MEASURE_ENDED = _("This measure is no longer in force.")
CHOOSE = _("Choose a value from the list.")
REQUIRED = _("This field is required.")
WRITE_REASON = _("Write the reason in a sentence.")
TOO_LONG = _("This is too long.")
BAD_KEY = _("A retry key of 8 to 64 letters, digits, dashes or underscores is required.")
