"""The rules an agency's data must meet, shared by the edit form, the services and the CSV
import (which reports every broken rule with its line instead of stopping at the first)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.translation import gettext as _

from himaya.network.geometry import haversine_km, inside_morocco_box
from himaya.network.hours import WeeklyHours
from himaya.network.models import NATIONAL_KINDS, AgencyKind, Language, Service

#: A given position farther than this from its commune's reference point is most likely a
#: typing error (swapped or mistyped coordinates) rather than a real place in the commune.
MAX_KM_FROM_OWN_COMMUNE = 150.0
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 .-]{2,30}$")
CAPACITY_KINDS = frozenset({AgencyKind.SHELTER})


@dataclass(kw_only=True)
class AgencyData:
    """Everything about an agency that the directory edits. ``address=None`` on update keeps
    the current address (the administrator cannot read a shelter's back to re-type it)."""

    kind: str
    name_ar: str
    name_fr: str
    code: str | None = None
    commune_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = ""
    hours: WeeklyHours = field(default_factory=lambda: WeeklyHours(False, ()))
    languages: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    step_free_access: bool = False
    accessibility_notes: str = ""
    beds: int | None = None
    accepts_single_mothers: bool = False
    accepts_children: bool = False
    accepts_minors: bool = False
    accepts_women_with_disabilities: bool = False
    phone: str = ""
    email: str = ""
    website: str = ""
    default_unit_id: int | None = None
    focal_points: list[tuple[str, str]] = field(default_factory=list)
    competent_commune_ids: list[int] = field(default_factory=list)
    is_active: bool = True
    is_synthetic: bool = False


@dataclass(frozen=True, slots=True)
class CommuneRef:
    id: int
    latitude: float
    longitude: float


type _Add = Callable[[str, str], None]


def check_agency(
    data: AgencyData,
    *,
    commune: CommuneRef | None,
    default_unit_kind: str | None = None,
) -> dict[str, list[str]]:
    """Every broken rule, by field name. ``commune`` is the looked-up ``data.commune_id``
    (None if missing or unknown); ``default_unit_kind`` the kind of ``data.default_unit_id``."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    _check_identity(data, commune, add)
    _check_position(data, commune, add)
    _check_lists(data, add)
    _check_contacts(data, add)
    _check_links(data, default_unit_kind, add)
    return errors


def _check_identity(data: AgencyData, commune: CommuneRef | None, add: _Add) -> None:
    if data.kind not in AgencyKind.values:
        add("kind", _("“%(value)s” is not a kind of agency.") % {"value": data.kind[:40]})
    if not data.name_ar.strip():
        add("name_ar", _("The Arabic name is required."))
    if not data.name_fr.strip():
        add("name_fr", _("The French name is required."))
    if data.code and not _CODE_RE.match(data.code):
        add("code", _("A code is 1 to 32 letters, digits, dots, dashes or underscores."))
    if data.commune_id is None and data.kind not in NATIONAL_KINDS:
        add("commune_code", _("The commune is required for this kind of agency."))
    elif data.commune_id is not None and commune is None:
        add("commune_code", _("No commune has this code."))
    if data.beds is not None and data.kind not in CAPACITY_KINDS:
        add("beds", _("Only shelters have beds."))


def _check_lists(data: AgencyData, add: _Add) -> None:
    for language in data.languages:
        if language not in Language.values:
            add("languages", _("“%(value)s” is not a language code.") % {"value": language[:20]})
    for service in data.services:
        if service not in Service.values:
            add("services", _("“%(value)s” is not a service code.") % {"value": service[:40]})


def _check_contacts(data: AgencyData, add: _Add) -> None:
    if data.phone and not _PHONE_RE.match(data.phone):
        add("phone", _("Write a phone number with digits only (and an optional leading +)."))
    if data.email:
        try:
            EmailValidator()(data.email)
        except ValidationError:
            add("email", _("Enter a valid e-mail address."))
    if data.website:
        try:
            URLValidator(schemes=["https", "http"])(data.website)
        except ValidationError:
            add("website", _("Enter a valid web address."))


def _check_links(data: AgencyData, default_unit_kind: str | None, add: _Add) -> None:
    if data.default_unit_id is not None:
        if data.kind != AgencyKind.DISTRICT_STATION:
            add("default_unit_code", _("Only a district station has a default unit."))
        elif default_unit_kind is None:
            add("default_unit_code", _("No agency has this code."))
        elif default_unit_kind != AgencyKind.POLICE_UNIT:
            add("default_unit_code", _("The default unit must be a police unit."))
    if data.focal_points and data.kind != AgencyKind.DISTRICT_STATION:
        add("focal_points", _("Only a district station has focal points."))
    for name, phone in data.focal_points:
        if not name.strip():
            add("focal_points", _("Each focal point needs a name."))
        if phone and not _PHONE_RE.match(phone):
            add("focal_points", _("A focal point's phone has digits only."))
    if data.competent_commune_ids and data.kind != AgencyKind.PROSECUTION_OFFICE:
        add("competent_communes", _("Only a prosecution office has competent communes."))


def _check_position(data: AgencyData, commune: CommuneRef | None, add: _Add) -> None:
    lat, lon = data.latitude, data.longitude
    if (lat is None) != (lon is None):
        add("latitude", _("Give both latitude and longitude, or neither."))
        return
    if lat is None or lon is None:
        return
    if data.kind == AgencyKind.SHELTER:
        # Not an error: the position is simply never stored (see services).
        return
    if not inside_morocco_box(lat, lon):
        hint = ""
        if inside_morocco_box(lon, lat):
            hint = " " + _("Latitude and longitude look swapped.")
        add("latitude", _("This position is outside Morocco.") + hint)
        return
    if commune is not None:
        distance = haversine_km(lat, lon, commune.latitude, commune.longitude)
        if distance > MAX_KM_FROM_OWN_COMMUNE:
            add(
                "latitude",
                _("This position is %(km)d km from its commune: check the coordinates.")
                % {"km": round(distance)},
            )
