"""Forms of the unit's case pages. They parse and check shapes only (a choice from the list,
a date that exists); what the values mean is checked by ``cases.services``, whose
``InvalidInput`` messages the views put back next to the fields.

Nothing here writes and nothing decides who may act: choices that depend on the actor
(officers of the unit, agencies to share with) are handed in by the view from selectors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from himaya.cases.models import AgeRange, ConsentPurpose, SharingBasis
from himaya.cases.policies import FieldGroup
from himaya.cases.selectors import QueueView
from himaya.cases.states import CaseState, ClosureReason

FIELD_GROUP_LABELS: dict[str, Any] = {
    FieldGroup.IDENTITY: _("Identity (name, CIN, date of birth)"),
    FieldGroup.CONTACT: _("Contact (phone, address, safe contact)"),
    FieldGroup.NARRATIVE: _("Her account and how she was heard"),
    FieldGroup.INCIDENTS: _("Incidents (dates, places, forms of violence)"),
    FieldGroup.PERPETRATORS: _("Alleged perpetrators"),
    FieldGroup.EVIDENCE: _("Evidence"),
    FieldGroup.DEPENDANTS: _("Children and other dependants"),
}
FIELD_GROUP_CHOICES = [(str(group), FIELD_GROUP_LABELS[group]) for group in FieldGroup]

QUEUE_LABELS: dict[str, Any] = {
    QueueView.NEW: _("New"),
    QueueView.MINE: _("Mine"),
    QueueView.OVERDUE: _("Overdue tasks"),
    QueueView.AWAITING_APPROVAL: _("Awaiting approval"),
}

WITHOUT_CONSENT_CHOICES = [
    (SharingBasis.LIFE_THREAT.value, SharingBasis.LIFE_THREAT.label),
    (SharingBasis.MINOR.value, SharingBasis.MINOR.label),
]


def _textarea(rows: int = 4, **attrs: str) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": str(rows), **attrs})


def _set_choices(form: forms.Form, name: str, choices: list[tuple[Any, Any]]) -> None:
    field = form.fields[name]
    if not isinstance(field, forms.ChoiceField):  # a real check: asserts vanish under -O
        raise TypeError(name)
    field.choices = choices


class DateInput(forms.DateInput):
    """The browser's own date picker; the value travels as YYYY-MM-DD in every language."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


# --- finding her again --------------------------------------------------------------------


class SearchForm(forms.Form):
    """What she gives at the desk: any of phone, CIN, name. Sent by POST so that nothing
    typed ends up in a URL, a browser history or a server log."""

    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    cin = forms.CharField(
        label=_("National ID (CIN)"),
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "ltr"}),
    )
    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=200,
        help_text=_("Any part of her name, in Arabic or Latin letters."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    date_of_birth = forms.DateField(label=_("Date of birth"), required=False, widget=DateInput())
    age_range = forms.ChoiceField(
        label=_("Age range"),
        required=False,
        choices=[("", "—"), *((v, label) for v, label in AgeRange.choices if v != "unknown")],
    )
    commune = forms.CharField(
        label=_("Commune (code or name)"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any((data.get("phone"), data.get("cin"), (data.get("name") or "").strip())):
            raise forms.ValidationError(_("Type her phone, her CIN or her name."))
        narrowing = data.get("date_of_birth") or data.get("commune") or data.get("age_range")
        if narrowing and not (data.get("name") or "").strip():
            self.add_error("name", _("The date of birth, age and commune narrow a name search."))
        return data


# --- the case page ------------------------------------------------------------------------


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Note"), max_length=20_000, widget=_textarea(4))


class TaskForm(forms.Form):
    description = forms.CharField(label=_("Task"), max_length=2_000, widget=_textarea(2))
    due_on = forms.DateField(label=_("Due"), widget=DateInput())
    assigned_to_id = forms.TypedChoiceField(
        label=_("For"), required=False, coerce=int, empty_value=None, choices=()
    )

    def __init__(self, *args: Any, officers: Sequence[tuple[int, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        _set_choices(self, "assigned_to_id", [("", _("Anyone in the unit")), *officers])


class AssignForm(forms.Form):
    officer_id = forms.TypedChoiceField(
        label=_("Assigned officer"), required=False, coerce=int, empty_value=None, choices=()
    )

    def __init__(self, *args: Any, officers: Sequence[tuple[int, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        _set_choices(self, "officer_id", [("", _("Nobody (back to the new cases)")), *officers])


class TransitionForm(forms.Form):
    to_state = forms.ChoiceField(choices=CaseState.choices, widget=forms.HiddenInput)


class ClosureRequestForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why close it?"), choices=ClosureReason.choices)


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why reopen it?"),
        max_length=1000,
        help_text=_("A sentence: it is kept in the audit trail."),
        widget=_textarea(2),
    )


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    granted = forms.TypedChoiceField(
        label=_("Her answer"),
        choices=[("yes", _("She agrees")), ("no", _("She does not agree"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    scope = forms.MultipleChoiceField(
        label=_("What may be shared (sharing purposes only)"),
        required=False,
        choices=FIELD_GROUP_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    confirm = forms.BooleanField(
        label=_("I read her answer back to her and she confirmed it."),
        error_messages={"required": _("Confirm that she gave this answer herself.")},
    )


class ConsentRevokeForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("She withdraws this consent; I read it back to her and she confirmed."),
        error_messages={"required": _("Confirm that she withdraws her consent.")},
    )


def _agency_choices(
    agencies: Iterable[tuple[str, Sequence[tuple[int, str]]]],
) -> list[tuple[Any, Any]]:
    return [("", "—"), *((group, list(items)) for group, items in agencies)]


class ShareWithoutConsentForm(forms.Form):
    agency_id = forms.TypedChoiceField(label=_("Share with"), coerce=int, choices=())
    basis = forms.ChoiceField(
        label=_("Legal basis"), choices=WITHOUT_CONSENT_CHOICES, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Why it cannot wait for her consent"),
        max_length=1000,
        help_text=_("Kept in the audit trail and shown to the unit chief."),
        widget=_textarea(3),
    )
    scope = forms.MultipleChoiceField(
        label=_("What to share (only what they need)"),
        choices=FIELD_GROUP_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        agencies: Iterable[tuple[str, Sequence[tuple[int, str]]]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "agency_id", _agency_choices(agencies))


class BreakGlassForm(forms.Form):
    reference = forms.CharField(
        label=_("Reference of the case file"),
        max_length=32,
        help_text=_("As the holding unit gives it, like U0042-2026-00017."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "ltr"}),
    )
    reason = forms.CharField(
        label=_("Why you need it now"),
        max_length=1000,
        help_text=_("Kept in the audit trail; the unit chief is alerted at once."),
        widget=_textarea(3),
    )


def add_service_errors(
    form: forms.Form,
    errors: Mapping[str, Sequence[object]],
    *,
    rename: Mapping[str, str] | None = None,
) -> None:
    """Put a service's ``InvalidInput.fields`` on the form: next to the field it names, or
    at the top of the form when the form has no such field."""
    for name, messages in errors.items():
        target = (rename or {}).get(name, name)
        for message in messages:
            form.add_error(target if target in form.fields else None, str(message))
