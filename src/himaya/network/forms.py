"""Forms of the network pages: they parse and check shapes; rules live in validation/services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from himaya.network.hours import HoursSyntaxError, WeeklyHours, format_hours, parse_hours
from himaya.network.models import AgencyKind, Language, Service
from himaya.network.routing import Needs

_BLANK: list[tuple[str, Any]] = [("", _("Any"))]


class DirectoryForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_BLANK + AgencyKind.choices)
    service = forms.ChoiceField(
        label=_("Service"), required=False, choices=_BLANK + Service.choices
    )
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=_BLANK + Language.choices
    )
    province = forms.ChoiceField(label=_("Province"), required=False, choices=_BLANK)
    open_now = forms.BooleanField(label=_("Open now"), required=False)

    def __init__(self, *args: Any, provinces: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["province"]
        if isinstance(field, forms.ChoiceField):
            field.choices = _BLANK + provinces


class RouteForm(forms.Form):
    """Where she is (one of three ways) and what she needs."""

    commune = forms.CharField(label=_("Commune (code or name)"), required=False, max_length=100)
    latitude = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(
        label=_("Longitude"), required=False, min_value=-180, max_value=180
    )
    station = forms.IntegerField(
        label=_("District station"), required=False, min_value=1, widget=forms.HiddenInput
    )
    kind = forms.ChoiceField(
        label=_("Also find services of this kind"),
        required=False,
        choices=_BLANK
        + [
            (k.value, k.label)
            for k in (
                AgencyKind.SHELTER,
                AgencyKind.HOSPITAL_UNIT,
                AgencyKind.NGO_CENTRE,
                AgencyKind.LEGAL_AID,
                AgencyKind.PSYCHOSOCIAL,
                AgencyKind.GENDARMERIE_UNIT,
            )
        ],
    )
    language = forms.ChoiceField(
        label=_("She speaks"), required=False, choices=_BLANK + Language.choices
    )
    step_free_access = forms.BooleanField(label=_("Needs step-free access"), required=False)
    children = forms.BooleanField(label=_("Comes with her children"), required=False)
    minor = forms.BooleanField(label=_("Is under 18"), required=False)
    single_mother = forms.BooleanField(label=_("Is a single mother"), required=False)
    disability = forms.BooleanField(label=_("Has a disability"), required=False)
    open_24_7 = forms.BooleanField(label=_("Open 24/7 only"), required=False)
    open_now = forms.BooleanField(label=_("Open now only"), required=False)

    def needs(self) -> Needs:
        data = self.cleaned_data
        return Needs(
            language=data.get("language") or None,
            step_free_access=bool(data.get("step_free_access")),
            children=bool(data.get("children")),
            minor=bool(data.get("minor")),
            single_mother=bool(data.get("single_mother")),
            disability=bool(data.get("disability")),
            open_24_7=bool(data.get("open_24_7")),
            open_now=bool(data.get("open_now")),
        )

    def has_origin(self) -> bool:
        data = self.cleaned_data
        return bool(
            data.get("commune")
            or data.get("latitude") is not None
            or data.get("longitude") is not None
            or data.get("station")
        )


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you need the address?"),
        min_length=10,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Your reason is recorded with your name in the audit trail."),
    )


class AvailabilityForm(forms.Form):
    unavailable = forms.BooleanField(label=_("Temporarily unavailable"), required=False)
    until = forms.DateTimeField(
        label=_("Until (leave empty if unknown)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)


class HoursField(forms.CharField):
    def clean(self, value: Any) -> WeeklyHours:
        text = super().clean(value) or ""
        try:
            return parse_hours(text)
        except HoursSyntaxError as exc:
            raise forms.ValidationError(str(exc)) from exc


class AgencyForm(forms.Form):
    """The administrator's edit form for one agency."""

    kind = forms.ChoiceField(label=_("Kind"), choices=AgencyKind.choices)
    code = forms.CharField(label=_("Code"), required=False, max_length=32)
    name_ar = forms.CharField(label=_("Name (Arabic)"), max_length=200)
    name_fr = forms.CharField(label=_("Name (French)"), max_length=200)
    commune_code = forms.CharField(label=_("Commune code"), required=False, max_length=16)
    latitude = forms.FloatField(label=_("Latitude"), required=False)
    longitude = forms.FloatField(label=_("Longitude"), required=False)
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=300,
        help_text=_(
            "For a shelter the address is sealed and cannot be shown again here: leave "
            "empty to keep the current one, or type a new one to replace it."
        ),
    )
    hours = HoursField(
        label=_("Opening hours"),
        required=False,
        help_text=_("24/7, or for example: mon-fri 08:30-16:30; sat 09:00-12:00"),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages spoken"),
        required=False,
        choices=Language.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    services = forms.MultipleChoiceField(
        label=_("Services offered"),
        required=False,
        choices=Service.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    step_free_access = forms.BooleanField(label=_("Step-free access"), required=False)
    accessibility_notes = forms.CharField(
        label=_("Accessibility notes"), required=False, max_length=300
    )
    beds = forms.IntegerField(label=_("Beds (shelters)"), required=False, min_value=0)
    accepts_single_mothers = forms.BooleanField(label=_("Takes single mothers"), required=False)
    accepts_children = forms.BooleanField(
        label=_("Takes women with their children"), required=False
    )
    accepts_minors = forms.BooleanField(label=_("Takes girls under 18"), required=False)
    accepts_women_with_disabilities = forms.BooleanField(
        label=_("Takes women with disabilities"), required=False
    )
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    email = forms.EmailField(label=_("E-mail"), required=False)
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    default_unit_code = forms.CharField(
        label=_("Default police unit (code)"), required=False, max_length=32
    )
    focal_points = forms.CharField(
        label=_("Focal points"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: Name:phone"),
    )
    competent_communes = forms.CharField(
        label=_("Competent communes (codes)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Commune codes separated by spaces or new lines."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


def initial_from_agency(
    agency: Any,
    *,
    hours: WeeklyHours,
    focal_points: list[tuple[str, str]],
    competent_codes: list[str],
    default_unit_code: str,
) -> dict[str, Any]:
    return {
        "kind": agency.kind,
        "code": agency.code or "",
        "name_ar": agency.name_ar,
        "name_fr": agency.name_fr,
        "commune_code": agency.commune.code if agency.commune else "",
        "latitude": None if agency.kind == AgencyKind.SHELTER else agency.latitude,
        "longitude": None if agency.kind == AgencyKind.SHELTER else agency.longitude,
        # A shelter's address is never put back into a form: it stays sealed.
        "address": "" if agency.kind == AgencyKind.SHELTER else agency.address,
        "hours": format_hours(hours),
        "languages": agency.languages,
        "services": agency.services,
        "step_free_access": agency.step_free_access,
        "accessibility_notes": agency.accessibility_notes,
        "beds": agency.beds,
        "accepts_single_mothers": agency.accepts_single_mothers,
        "accepts_children": agency.accepts_children,
        "accepts_minors": agency.accepts_minors,
        "accepts_women_with_disabilities": agency.accepts_women_with_disabilities,
        "phone": agency.phone,
        "email": agency.email,
        "website": agency.website,
        "default_unit_code": default_unit_code,
        "focal_points": "\n".join(f"{n}:{p}" if p else n for n, p in focal_points),
        "competent_communes": " ".join(competent_codes),
        "is_active": agency.is_active,
    }
