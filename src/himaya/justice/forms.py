"""Forms of the justice pages: parse and type what was posted; the services decide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from himaya.cases.forms import DateInput, add_service_errors
from himaya.cases.models import SharingBasis
from himaya.justice.models import IssuingAuthority, MeasureBasis
from himaya.justice.states import DecisionKind, HearingOutcome

__all__ = [
    "BreachForm",
    "DecisionForm",
    "ForwardForm",
    "HearingForm",
    "MeasureForm",
    "OutcomeForm",
    "add_service_errors",
]


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": str(rows)})


def _set_choices(form: forms.Form, name: str, choices: list[tuple[Any, Any]]) -> None:
    field = form.fields[name]
    if not isinstance(field, forms.ChoiceField):  # a real check: asserts vanish under -O
        raise TypeError(name)
    field.choices = choices


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class ForwardForm(forms.Form):
    office_id = forms.TypedChoiceField(
        label=_("Prosecution office"), coerce=int, required=False, empty_value=None, choices=()
    )
    basis = forms.ChoiceField(
        label=_("On which ground"),
        required=False,
        choices=(),
        help_text=_(
            "Her consent to share with the prosecutor, or, only where the law compels it, a "
            "legal basis (the unit chief is alerted)."
        ),
    )
    reason = forms.CharField(
        label=_("Reason (legal basis only)"), required=False, max_length=1000, widget=_textarea(2)
    )

    def __init__(self, *args: Any, offices: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "office_id", [("", _("The competent office")), *offices])
        _set_choices(
            self,
            "basis",
            [
                ("", _("Her consent")),
                (SharingBasis.MINOR, SharingBasis.MINOR.label),
                (SharingBasis.LIFE_THREAT, SharingBasis.LIFE_THREAT.label),
            ],
        )


DECISION_CHOICES = [
    (kind.value, kind.label)
    for kind in DecisionKind
    if kind is not DecisionKind.PROTECTION_MEASURES
]


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Decision"), choices=DECISION_CHOICES)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=5000,
        widget=_textarea(3),
        help_text=_("Required for a dismissal."),
    )


class HearingForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label=_("Date and time"), widget=DateTimeInput(), input_formats=["%Y-%m-%dT%H:%M"]
    )
    place = forms.CharField(label=_("Place (court and room)"), required=False, max_length=200)
    remote = forms.BooleanField(label=_("Remote hearing"), required=False)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=HearingOutcome.choices)
    sentence = forms.CharField(
        label=_("Sentence"),
        required=False,
        max_length=5000,
        widget=_textarea(2),
        help_text=_("Required for a conviction. Measures ordered on conviction: add them below."),
    )


class MeasureForm(forms.Form):
    kind = forms.ChoiceField(label=_("Measure"), choices=())
    distance_m = forms.IntegerField(
        label=_("Distance (metres)"),
        required=False,
        min_value=1,
        max_value=100_000,
        help_text=_("For a no-approach measure."),
    )
    legal_basis = forms.ChoiceField(label=_("Legal basis"), choices=MeasureBasis.choices)
    authority = forms.ChoiceField(label=_("Issuing authority"), choices=IssuingAuthority.choices)
    starts_on = forms.DateField(label=_("Start"), widget=DateInput())
    ends_on = forms.DateField(
        label=_("End"),
        required=False,
        widget=DateInput(),
        help_text=_("Leave empty: until further order."),
    )
    protected = forms.MultipleChoiceField(
        label=_("Protected persons"), choices=(), widget=forms.CheckboxSelectMultiple
    )
    conditions = forms.CharField(
        label=_("Conditions"),
        required=False,
        max_length=5000,
        widget=_textarea(2),
        help_text=_("Places, routes, times. Kept sealed."),
    )
    on_conviction = forms.BooleanField(label=_("Ordered on conviction"), required=False)

    def __init__(
        self,
        *args: Any,
        kinds: Sequence[tuple[str, str]] = (),
        protected: Sequence[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "kind", list(kinds))
        _set_choices(self, "protected", list(protected))
        if not self.is_bound:
            self.initial.setdefault("protected", ["survivor"])


class BreachForm(forms.Form):
    description = forms.CharField(label=_("What happened"), max_length=5000, widget=_textarea(3))
