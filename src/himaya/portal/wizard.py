"""The report and complaint forms: a few steps, each one screen, every answer kept.

What she typed travels between steps in ONE signed hidden field (``state``), never in the
URL and never in a cookie: the page holds it, the server checks its signature and age. The
state also carries the submission's idempotency key (a retry opens no second case), the time
the form was first shown (the minimum fill time) and, when traffic is suspicious, the
expected answer's digest of the simple question.

Answers are kept as she typed them (strings), so a page shown again after an error shows
exactly what she wrote; they become an ``OnlineReport`` only at the end (``to_report``).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from himaya.cases.classification import ViolenceForm
from himaya.cases.intake import ConsentData, FieldErrors, clean_cin, clean_phone
from himaya.cases.models import ConsentPurpose, Relationship
from himaya.cases.online import OnlineReport, ReportKind
from himaya.cases.policies import FieldGroup
from himaya.geo.models import Commune, Province

SALT = "himaya.portal.report"
MAX_AGE = 6 * 3600
MAX_STATE_CHARS = 60_000

STEPS = ("who", "what", "when", "where", "place", "safety", "contact", "identity", "review")

FORMS_CHOICES = [
    (ViolenceForm.PHYSICAL, _("Hitting, pushing, burning or any harm to the body")),
    (ViolenceForm.SEXUAL, _("Sexual acts or touching against your will")),
    (
        ViolenceForm.PSYCHOLOGICAL,
        _("Insults, threats, humiliation, or control of where you go and whom you see"),
    ),
    (
        ViolenceForm.ECONOMIC,
        _("Money taken or kept from you, stopped from working, or put out of the home"),
    ),
    (
        ViolenceForm.TECHNOLOGY,
        _("Harassment, threats or pictures shared by phone or on the internet"),
    ),
]
RELATIONSHIP_CHOICES = [
    ("", _("I prefer not to say")),
    (Relationship.SPOUSE, _("Husband")),
    (Relationship.EX_SPOUSE, _("Former husband")),
    (Relationship.FIANCE, _("Fiancé")),
    (Relationship.FAMILY, _("Someone in the family")),
    (Relationship.EMPLOYER, _("Employer")),
    (Relationship.COLLEAGUE, _("Someone at work")),
    (Relationship.ACQUAINTANCE, _("Someone I know")),
    (Relationship.STRANGER, _("A stranger")),
    (Relationship.ONLINE, _("An account on the internet")),
]
WHEN_CHOICES = [
    ("today", _("Today")),
    ("yesterday", _("Yesterday")),
    ("week", _("In the last 7 days")),
    ("month", _("In the last month")),
    ("longer", _("More than a month ago")),
    ("day", _("On this day:")),
    ("", _("I prefer not to say")),
]
SAFE_CHOICES = [
    ("yes", _("Yes, I am safe now")),
    ("no", _("No, I am not safe")),
    ("unsure", _("I am not sure")),
    ("", _("I prefer not to say")),
]
CONTACT_CHOICES = [
    ("portal", _("Only through this site, with my codename")),
    ("call", _("A phone call")),
    ("sms", _("A text message (SMS)")),
]
WHO_CHOICES = [
    ("self", _("It happened to me")),
    ("other", _("I am writing for someone else, with her agreement")),
]
YES_NO = [("yes", _("Yes")), ("no", _("No"))]

MSG_REQUIRED = _("Please answer this question.")
MSG_CHOICE = _("Choose one of the answers.")
MSG_DATE = _("Write the day like 2025-03-14.")
MSG_FUTURE = _("This day has not come yet.")
MSG_NAME_COMPLAINT = _("A complaint must give the name of the person who files it.")
MSG_ACCOUNT_COMPLAINT = _("A complaint must say what happened, in your own words.")


def _choice(choices: list[tuple[str, Any]], **kwargs: Any) -> forms.ChoiceField:
    return forms.ChoiceField(choices=choices, required=False, widget=forms.RadioSelect, **kwargs)


class WhoForm(forms.Form):
    who = _choice(WHO_CHOICES, label=_("Who is writing?"))


class WhatForm(forms.Form):
    forms_ = forms.MultipleChoiceField(
        choices=FORMS_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("What happened? Choose all that apply."),
    )
    forms_declined = forms.BooleanField(required=False, label=_("I prefer not to say"))
    relationship = forms.ChoiceField(
        choices=RELATIONSHIP_CHOICES, required=False, label=_("Who did it?")
    )
    account = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        label=_("In your own words (you can skip this)"),
    )


class WhenForm(forms.Form):
    when = _choice(WHEN_CHOICES, label=_("When did it happen (the last time)?"))
    day = forms.CharField(required=False, max_length=10, label=_("Day (year-month-day)"))


class WhereForm(forms.Form):
    province = forms.ChoiceField(choices=(), required=False, label=_("Province"))


class PlaceForm(forms.Form):
    commune = forms.ChoiceField(choices=(), required=False, label=_("Commune"))


class SafetyForm(forms.Form):
    safe_now = _choice(SAFE_CHOICES, label=_("Are you safe now?"))
    children = forms.IntegerField(
        required=False, min_value=0, max_value=20, label=_("How many children live with you?")
    )
    children_at_risk = _choice(YES_NO, label=_("Are the children in danger too?"))
    woman_officer = forms.BooleanField(
        required=False, label=_("I would like to speak with a woman officer")
    )


class ContactForm(forms.Form):
    channel = _choice(CONTACT_CHOICES, label=_("How may the unit contact you safely?"))
    phone = forms.CharField(required=False, max_length=32, label=_("Phone number"))
    safe_times = forms.CharField(
        required=False, max_length=200, label=_("When is it safe to call or write?")
    )
    may_leave_message = _choice(YES_NO, label=_("May they leave a message?"))
    code_word = forms.CharField(
        required=False,
        max_length=50,
        label=_("A code word they will say, so you know it is them (optional)"),
    )


class IdentityForm(forms.Form):
    full_name = forms.CharField(required=False, max_length=200, label=_("Full name"))
    cin = forms.CharField(required=False, max_length=16, label=_("National ID card number (CIN)"))
    date_of_birth = forms.CharField(
        required=False, max_length=10, label=_("Date of birth (year-month-day)")
    )
    statistics = forms.BooleanField(
        required=False,
        label=_("My answers may be counted, without my name, in national statistics"),
    )


class ReviewForm(forms.Form):
    answer = forms.CharField(required=False, max_length=10, label=_("Your answer"))


STEP_FORMS: dict[str, type[forms.Form]] = {
    "who": WhoForm,
    "what": WhatForm,
    "when": WhenForm,
    "where": WhereForm,
    "place": PlaceForm,
    "safety": SafetyForm,
    "contact": ContactForm,
    "identity": IdentityForm,
    "review": ReviewForm,
}


# --- state --------------------------------------------------------------------------------


@dataclass
class State:
    kind: str
    key: str
    started: float
    answers: dict[str, dict[str, Any]]
    step: str = "who"
    question: str = ""  # digest of the expected answer, when one is asked

    def dump(self) -> str:
        return signing.dumps(
            {
                "k": self.kind,
                "i": self.key,
                "s": self.started,
                "a": self.answers,
                "p": self.step,
                "q": self.question,
            },
            salt=SALT,
            compress=True,
        )

    def get(self, step: str, name: str, default: Any = "") -> Any:
        return self.answers.get(step, {}).get(name, default)


def new_state(kind: str) -> State:
    return State(kind=kind, key=secrets.token_urlsafe(24), started=time.time(), answers={})


def load_state(raw: str) -> State | None:
    """The state her page sent back, or ``None`` when forged, truncated or too old."""
    if not raw or len(raw) > MAX_STATE_CHARS:
        return None
    try:
        data = signing.loads(raw, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") not in ReportKind.values:
        return None
    step = data.get("p")
    return State(
        kind=str(data["k"]),
        key=str(data.get("i", "")),
        started=float(data.get("s", 0)),
        answers=answers if isinstance(answers := data.get("a"), dict) else {},
        step=step if step in STEPS else "who",
        question=str(data.get("q", "")),
    )


def question_digest(answer: str) -> str:
    return hashlib.sha256(f"portal-question:{answer.strip()}".encode()).hexdigest()


# --- forms bound to the geography ---------------------------------------------------------


def province_choices() -> list[tuple[str, str]]:
    from himaya.core.i18n import localized_name

    rows = Province.objects.order_by("name_fr")
    return [("", "—"), *((p.code, localized_name(p)) for p in rows)]


def commune_choices(province_code: str) -> list[tuple[str, str]]:
    from himaya.core.i18n import localized_name

    rows = Commune.objects.filter(province__code=province_code).order_by("name_fr")
    return [("", "—"), *((str(c.pk), localized_name(c)) for c in rows)]


def bound_form(step: str, state: State, data: Any | None = None) -> forms.Form:
    """The step's form, bound to what she just sent or to what she had typed before."""
    form_class = STEP_FORMS[step]
    initial = state.answers.get(step, {})
    form = form_class(data=data) if data is not None else form_class(initial=initial)
    if step == "where":
        form.fields["province"].choices = province_choices()  # type: ignore[attr-defined]
    if step == "place":
        form.fields["commune"].choices = commune_choices(  # type: ignore[attr-defined]
            str(state.get("where", "province"))
        )
    return form


def _parse_day(value: str, errors: dict[str, list[Any]], name: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩/", "0123456789-")))
    except ValueError:
        errors.setdefault(name, []).append(MSG_DATE)
        return None
    if day > timezone.localdate():
        errors.setdefault(name, []).append(MSG_FUTURE)
        return None
    return day


def _add(errors: dict[str, list[Any]], name: str, message: Any) -> None:
    errors.setdefault(name, []).append(message)


def _check_intake_field(errors: dict[str, list[Any]], name: str, value: str, cleaner: Any) -> None:
    """Run one of the intake's own checks (phone, CIN) and keep its message."""
    field_errors = FieldErrors()
    cleaner(value, name, field_errors)
    for message in field_errors.fields.get(name, []):
        _add(errors, name, message)


def _step_rules(step: str, state: State, raw: dict[str, Any], errors: dict[str, list[Any]]) -> None:
    """The checks a form's own fields cannot express."""
    complaint = state.kind == ReportKind.COMPLAINT
    if step == "what" and complaint and not str(raw["account"]).strip():
        _add(errors, "account", MSG_ACCOUNT_COMPLAINT)
    elif step == "when" and raw["when"] == "day":
        if str(raw["day"]).strip():
            _parse_day(str(raw["day"]), errors, "day")
        else:
            _add(errors, "day", MSG_DATE)
    elif step in ("where", "place"):
        name = "province" if step == "where" else "commune"
        if not raw[name]:
            _add(errors, name, MSG_REQUIRED)
    elif step == "contact":
        _check_intake_field(errors, "phone", str(raw["phone"]), clean_phone)
        if raw["channel"] in ("call", "sms") and not str(raw["phone"]).strip():
            _add(
                errors,
                "phone",
                _("Give the number to call or write to, or choose “only through this site”."),
            )
    elif step == "identity":
        _check_intake_field(errors, "cin", str(raw["cin"]), clean_cin)
        _parse_day(str(raw["date_of_birth"]), errors, "date_of_birth")
        if complaint and not str(raw["full_name"]).strip():
            _add(errors, "full_name", MSG_NAME_COMPLAINT)


def check_step(step: str, state: State, form: forms.Form) -> dict[str, list[Any]]:
    """Her answers to ``step``, checked beyond the form's own rules. Returns the errors by
    field; the answers are stored in ``state`` as she typed them (kept even when wrong)."""
    errors: dict[str, list[Any]] = {}
    if not form.is_valid():
        for name, messages in form.errors.items():
            errors[name] = [MSG_CHOICE if "choice" in str(m).lower() else m for m in messages]
    raw = {
        name: (form.data.getlist(name) if name == "forms_" else form.data.get(name, ""))  # type: ignore[attr-defined]
        for name in form.fields
    }
    _step_rules(step, state, raw, errors)
    if step != "review":
        state.answers[step] = {k: (v if isinstance(v, list) else str(v)) for k, v in raw.items()}
        if step == "where" and state.get("place", "commune"):
            # A new province makes the commune chosen before meaningless.
            keep = Commune.objects.filter(
                pk=_int(state.get("place", "commune")) or 0, province__code=raw["province"]
            ).exists()
            if not keep:
                state.answers.pop("place", None)
    return errors


def _int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 < number < 2**62 else None


def next_step(step: str) -> str:
    return STEPS[min(STEPS.index(step) + 1, len(STEPS) - 1)]


def previous_step(step: str) -> str:
    return STEPS[max(STEPS.index(step) - 1, 0)]


def first_unanswered_required(state: State) -> str | None:
    if not state.get("place", "commune"):
        return "where" if not state.get("where", "province") else "place"
    if state.kind == ReportKind.COMPLAINT:
        if not str(state.get("what", "account")).strip():
            return "what"
        if not str(state.get("identity", "full_name")).strip():
            return "identity"
    return None


def to_report(state: State, *, language: str, suspected_automated: bool) -> OnlineReport:
    """Her answers as an ``OnlineReport`` (the case-side checks run in ``cases.online``)."""
    today = timezone.localdate()
    errors: dict[str, list[Any]] = {}
    when = str(state.get("when", "when"))
    on = start = end = None
    if when == "today":
        on = today
    elif when == "yesterday":
        on = today - timedelta(days=1)
    elif when == "week":
        start, end = today - timedelta(days=7), today
    elif when == "month":
        start, end = today - timedelta(days=31), today
    elif when == "day":
        on = _parse_day(str(state.get("when", "day")), errors, "day")
    contact_channel = str(state.get("contact", "channel"))
    contact: dict[str, Any] = {
        "channel": {"call": "call", "sms": "sms"}.get(contact_channel, "no_contact")
    }
    if state.get("contact", "safe_times"):
        contact["safe_times"] = str(state.get("contact", "safe_times"))
    if state.get("contact", "may_leave_message") in ("yes", "no"):
        contact["may_leave_message"] = state.get("contact", "may_leave_message") == "yes"
    if state.get("contact", "code_word"):
        contact["code_word"] = str(state.get("contact", "code_word"))
    phone = str(state.get("contact", "phone")).strip()
    consents: list[ConsentData] = []
    if contact_channel == "call":
        consents.append(ConsentData(purpose=ConsentPurpose.CONTACT_PHONE, granted=True))
    if contact_channel == "sms":
        consents.append(ConsentData(purpose=ConsentPurpose.CONTACT_SMS, granted=True))
    if state.get("identity", "statistics") in ("on", "true", "True", True):
        consents.append(ConsentData(purpose=ConsentPurpose.STATISTICS, granted=True))
    if state.kind == ReportKind.COMPLAINT:
        consents.append(
            ConsentData(
                purpose=ConsentPurpose.SHARE_PROSECUTOR,
                granted=True,
                scope=[
                    FieldGroup.IDENTITY,
                    FieldGroup.NARRATIVE,
                    FieldGroup.INCIDENTS,
                    FieldGroup.PERPETRATORS,
                    FieldGroup.EVIDENCE,
                ],
            )
        )
    forms_chosen = state.get("what", "forms_", [])
    children = _int(state.get("safety", "children"))
    born = str(state.get("identity", "date_of_birth"))
    return OnlineReport(
        kind=state.kind,
        commune_id=_int(state.get("place", "commune")) or 0,
        on_behalf=state.get("who", "who") == "other",
        forms=[str(f) for f in forms_chosen] if isinstance(forms_chosen, list) else [],
        forms_declined=state.get("what", "forms_declined") in ("on", "true", "True", True)
        or not forms_chosen,
        relationship=str(state.get("what", "relationship")),
        account=str(state.get("what", "account")).strip(),
        occurred_on=on,
        occurred_from=start,
        occurred_to=end,
        date_declined=on is None and start is None,
        safe_now=str(state.get("safety", "safe_now")),
        children=children,
        children_at_risk=state.get("safety", "children_at_risk") == "yes",
        contact=contact,
        language=PORTAL_TO_CASE_LANGUAGE.get(language, ""),
        wants_woman_officer=state.get("safety", "woman_officer") in ("on", "true", "True", True),
        full_name=str(state.get("identity", "full_name")).strip(),
        cin=str(state.get("identity", "cin")).strip(),
        phone=phone,
        date_of_birth=_parse_day(born, errors, "date_of_birth") if born else None,
        consents=consents,
        suspected_automated=suspected_automated,
    )


#: The case file records languages as the network does (ISO 639-3 where one exists), and
#: has no code for Standard Moroccan Amazigh: its nearest, Central Atlas Tamazight, maps
#: back to Tifinagh notices (``cases.notices``).
PORTAL_TO_CASE_LANGUAGE = {"ar": "ar", "fr": "fr", "en": "en", "zgh": "tzm"}

#: Where a field named by the case-side validation is asked, to show its message there.
FIELD_STEPS: dict[str, tuple[str, str]] = {
    "full_name": ("identity", "full_name"),
    "survivor.full_name": ("identity", "full_name"),
    "survivor.cin": ("identity", "cin"),
    "survivor.date_of_birth": ("identity", "date_of_birth"),
    "survivor.phone": ("contact", "phone"),
    "survivor.safe_contact.phone": ("contact", "phone"),
    "survivor.safe_contact": ("contact", "safe_times"),
    "account": ("what", "account"),
    "narrative": ("what", "account"),
    "incidents.0.forms": ("what", "forms_"),
    "incidents.0.occurred_on": ("when", "day"),
    "incidents.0.occurred_from": ("when", "when"),
    "incidents.0.occurred_to": ("when", "when"),
    "incidents.0.commune_id": ("place", "commune"),
    "commune": ("place", "commune"),
    "survivor.residence_commune_id": ("place", "commune"),
    "children": ("safety", "children"),
}
