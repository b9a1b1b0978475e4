"""The forms of the referral pages. They parse and check shapes only; the services decide."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from himaya.cases.classification import ViolenceForm
from himaya.cases.forms import FIELD_GROUP_CHOICES
from himaya.cases.forms_intake import SAFE_CHANNELS
from himaya.cases.models import SharingBasis
from himaya.network.models import Language
from himaya.referrals.models import Danger, Need, Urgency
from himaya.referrals.services import CloseReason

DECLINABLE_CHOICES = [
    ("full_name", _("her name")),
    ("phone", _("her phone")),
    ("needs", _("what she needs now")),
    ("safe_contact", _("how to contact her safely")),
    ("residence_commune", _("where she lives")),
    ("preferred_language", _("her language")),
    ("forms", _("what happened")),
    ("date", _("when it happened")),
]

BASIS_CHOICES = [
    (SharingBasis.CONSENT.value, _("Her consent on record for this kind of service")),
    (SharingBasis.LIFE_THREAT.value, SharingBasis.LIFE_THREAT.label),
    (SharingBasis.MINOR.value, SharingBasis.MINOR.label),
]


def _text(label: Any, *, max_length: int, rows: int | None = None, required: bool = False) -> Any:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput()
    return forms.CharField(label=label, max_length=max_length, required=required, widget=widget)


class FirstContactForm(forms.Form):
    full_name = _text(_("Her name, if she gives it"), max_length=200)
    phone = _text(_("Her phone"), max_length=32)
    needs = _text(_("What she needs now"), max_length=2000, rows=3)
    immediate_danger = forms.ChoiceField(
        label=_("Is she in immediate danger?"), choices=Danger.choices, widget=forms.RadioSelect
    )
    safe_channel = forms.ChoiceField(
        label=_("How may the unit contact her safely?"),
        choices=[("", "—"), *SAFE_CHANNELS],
        required=False,
    )
    safe_times = _text(_("Safe times to contact her"), max_length=200)
    may_leave_message = forms.BooleanField(label=_("A message may be left"), required=False)
    note = _text(_("Short note"), max_length=2000, rows=3)
    commune = _text(
        _("Commune where she lives (code)"),
        max_length=32,
    )
    preferred_language = forms.ChoiceField(
        label=_("Her language"), choices=[("", "—"), *Language.choices], required=False
    )
    violence = forms.MultipleChoiceField(
        label=_("What happened (forms of violence she mentioned)"),
        choices=ViolenceForm.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    occurred_on = forms.DateField(
        label=_("When it happened"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    declined = forms.MultipleChoiceField(
        label=_("She preferred not to say"),
        choices=DECLINABLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    to_unit = forms.TypedChoiceField(
        label=_("Refer her to"), coerce=int, required=False, empty_value=None
    )
    override_reason = _text(_("Why this unit and not the one suggested"), max_length=1000, rows=2)

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_field = cast(forms.TypedChoiceField, self.fields["to_unit"])
        unit_field.choices = [("", _("The unit suggested by routing")), *units]


class ReferAgainForm(forms.Form):
    to_unit = forms.TypedChoiceField(
        label=_("Refer her to"), coerce=int, required=False, empty_value=None
    )
    override_reason = _text(_("Why this unit and not the one suggested"), max_length=1000, rows=2)

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_field = cast(forms.TypedChoiceField, self.fields["to_unit"])
        unit_field.choices = [("", _("The unit suggested by routing")), *units]


class NeedsForm(forms.Form):
    """Routing by need (GET): which services fit her."""

    need = forms.ChoiceField(label=_("She needs"), choices=Need.choices, required=False)
    language = forms.ChoiceField(
        label=_("Her language"), choices=[("", "—"), *Language.choices], required=False
    )
    children = forms.BooleanField(label=_("With her children"), required=False)
    step_free_access = forms.BooleanField(label=_("Step-free access"), required=False)
    open_24_7 = forms.BooleanField(label=_("Open 24/7"), required=False)


class ServiceReferralForm(forms.Form):
    agency = forms.TypedChoiceField(label=_("Refer her to"), coerce=int)
    need = forms.ChoiceField(label=_("Reason"), choices=Need.choices)
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=Urgency.choices, initial=Urgency.ROUTINE
    )
    scope = forms.MultipleChoiceField(
        label=_("What the service may see"),
        help_text=_("Only what she agreed to share with this kind of service."),
        choices=FIELD_GROUP_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    basis = forms.ChoiceField(
        label=_("Sharing rests on"), choices=BASIS_CHOICES, initial=SharingBasis.CONSENT
    )
    legal_reason = _text(
        _("Without her consent: the reason, in a sentence"), max_length=1000, rows=2
    )
    message = _text(_("Message to the service"), max_length=2000, rows=3)
    suggested = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, widget=forms.HiddenInput
    )
    override_reason = _text(
        _("Why this service and not the one suggested"), max_length=1000, rows=2
    )

    def __init__(
        self, *args: Any, agencies: list[tuple[int, str]], suggested: int | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        agency_field = cast(forms.TypedChoiceField, self.fields["agency"])
        agency_field.choices = [("", "—"), *agencies]
        suggested_field = cast(forms.TypedChoiceField, self.fields["suggested"])
        suggested_field.choices = [("", ""), *agencies]
        if suggested is not None and not self.is_bound:
            self.initial["agency"] = suggested
            self.initial["suggested"] = suggested


class DeclineForm(forms.Form):
    reason = _text(_("Why you decline"), max_length=1000, rows=3, required=True)


class ProvidedForm(forms.Form):
    provided = _text(_("What was provided"), max_length=2000, rows=3, required=True)


class CompleteForm(forms.Form):
    provided = _text(_("What was provided"), max_length=2000, rows=3)


class CloseForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why close it"),
        choices=[
            (value, label) for value, label in CloseReason.CHOICES if value in CloseReason.CHOSEN
        ],
    )
