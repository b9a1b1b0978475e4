"""Where to send a survivor: nearest police unit, competent prosecution office, nearest services.

Every answer explains itself: the distance, and the reasons the agency was chosen or passed
over (unavailable, closed, tied, does not speak her language…). Distances are great-circle
distances between the origin (a commune's reference point, a given point, or a district
station) and the agency's coordinates; a shelter's coordinates are those of its commune.

All functions read the in-process index (``network.index``): no database query per call once
the index is warm. ``at`` (aware datetime, default now) decides availability and "open now".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from himaya.core.i18n import localized_name
from himaya.network.errors import (
    AgencyNotFound,
    AmbiguousOrigin,
    OutsideMorocco,
    UnknownCommune,
    UnknownKind,
    UnknownLanguage,
)
from himaya.network.geometry import haversine_km, inside_morocco_box
from himaya.network.index import AgencyEntry, CommuneEntry, NetworkIndex, get_index
from himaya.network.models import AgencyKind, Language

#: Two agencies closer to each other's distance than this are tied (same building, same
#: commune reference point); the tie is then broken by open-now, 24/7, and code.
TIE_TOLERANCE_KM = 0.05
#: A point farther than this from every commune's reference point is not in Morocco (large
#: Saharan communes have reference points up to ~120 km from their edges).
MAX_KM_FROM_A_COMMUNE = 150.0
#: How many runner-up units an answer lists.
ALTERNATIVES = 2
# Choices' ``values`` build a new list on every access: look them up once.
_KINDS = frozenset(AgencyKind.values)
_LANGUAGE_LABELS = dict(Language.choices)


@dataclass(frozen=True, slots=True)
class Reason:
    """A machine code (stable, for tests and API clients) and a translated sentence."""

    code: str
    text: str


@dataclass(frozen=True, slots=True)
class Origin:
    kind: str  # "commune" | "point" | "station"
    latitude: float
    longitude: float
    commune: CommuneEntry | None
    station: AgencyEntry | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    agency: AgencyEntry
    distance_km: float
    open_now: bool | None
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class UnitAnswer:
    origin: Origin
    unit: Candidate | None
    reasons: tuple[Reason, ...]
    skipped: tuple[Candidate, ...] = ()
    tied_with: tuple[Candidate, ...] = ()
    alternatives: tuple[Candidate, ...] = ()
    open_alternative: Candidate | None = None


@dataclass(frozen=True, slots=True)
class ProsecutionAnswer:
    origin: Origin
    office: Candidate | None
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Needs:
    """What the survivor needs from a service; every field left at its default is ignored."""

    language: str | None = None
    service: str | None = None
    step_free_access: bool = False
    children: bool = False
    minor: bool = False
    single_mother: bool = False
    disability: bool = False
    open_24_7: bool = False
    open_now: bool = False

    def is_empty(self) -> bool:
        return self == Needs()


@dataclass(frozen=True, slots=True)
class ServicesAnswer:
    origin: Origin
    kind: str | None
    needs: Needs
    results: tuple[Candidate, ...]
    reasons: tuple[Reason, ...] = field(default=())


# --- Origins --------------------------------------------------------------------------------


def origin_from_commune(code: str, *, index: NetworkIndex | None = None) -> Origin:
    index = index or get_index()
    commune = index.communes_by_code.get(code.strip())
    if commune is None:
        raise UnknownCommune(_("No commune has the code “%(code)s”.") % {"code": code.strip()[:32]})
    return Origin("commune", commune.latitude, commune.longitude, commune)


def origin_from_point(
    latitude: float, longitude: float, *, index: NetworkIndex | None = None
) -> Origin:
    """A point in Morocco; its commune is the one with the nearest reference point."""
    index = index or get_index()
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise OutsideMorocco(
            _("Latitude must be between -90 and 90, longitude between -180 and 180.")
        )
    if not inside_morocco_box(latitude, longitude):
        raise OutsideMorocco()
    nearest = next(index.commune_grid.nearest(latitude, longitude), None)
    if nearest is None or nearest[0] > MAX_KM_FROM_A_COMMUNE:
        raise OutsideMorocco()
    return Origin("point", latitude, longitude, nearest[1])


def origin_from_station(station_id: int, *, index: NetworkIndex | None = None) -> Origin:
    index = index or get_index()
    station = index.agencies.get(station_id)
    if station is None or station.kind != AgencyKind.DISTRICT_STATION or not station.is_active:
        raise AgencyNotFound(_("No active district station has this id."))
    commune = index.communes_by_id.get(station.commune_id) if station.commune_id else None
    if station.latitude is not None and station.longitude is not None:
        lat, lon = station.latitude, station.longitude
    elif commune is not None:
        lat, lon = commune.latitude, commune.longitude
    else:
        raise AgencyNotFound(_("This district station has no location."))
    return Origin("station", lat, lon, commune, station)


def resolve_origin(
    *,
    commune: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    station: int | None = None,
    index: NetworkIndex | None = None,
) -> Origin:
    """Exactly one of: a commune code, a point (both coordinates), a district station id."""
    given = [
        commune not in (None, ""),
        latitude is not None or longitude is not None,
        station is not None,
    ]
    if sum(given) != 1:
        raise AmbiguousOrigin()
    index = index or get_index()
    if commune:
        return origin_from_commune(commune, index=index)
    if station is not None:
        return origin_from_station(station, index=index)
    if latitude is None or longitude is None:
        raise AmbiguousOrigin(_("Give both latitude and longitude."))
    return origin_from_point(latitude, longitude, index=index)


# --- Explanations ---------------------------------------------------------------------------


def _km(distance: float) -> str:
    return f"{distance:.1f}"


def _distance_reason(c: Candidate, origin: Origin) -> Reason:
    if origin.kind == "station" and origin.station is not None:
        where = _("from the station %(name)s") % {"name": localized_name(origin.station)}
    elif origin.kind == "commune" and origin.commune is not None:
        where = _("from the centre of %(name)s") % {"name": localized_name(origin.commune)}
    else:
        where = _("from the given point")
    if c.agency.kind == AgencyKind.SHELTER:
        return Reason(
            "distance",
            _("About %(km)s km %(where)s (measured to the shelter's commune).")
            % {"km": _km(c.distance_km), "where": where},
        )
    return Reason(
        "distance", _("%(km)s km %(where)s.") % {"km": _km(c.distance_km), "where": where}
    )


def _unavailable_reason(agency: AgencyEntry) -> Reason:
    if not agency.is_active:
        return Reason(
            "inactive", _("%(name)s is no longer active.") % {"name": localized_name(agency)}
        )
    if agency.unavailable_until is not None:
        until = timezone.localtime(agency.unavailable_until).strftime("%Y-%m-%d %H:%M")
        return Reason(
            "unavailable",
            _("%(name)s is temporarily unavailable until %(until)s.")
            % {"name": localized_name(agency), "until": until},
        )
    return Reason(
        "unavailable", _("%(name)s is temporarily unavailable.") % {"name": localized_name(agency)}
    )


def _candidate(agency: AgencyEntry, distance: float, at: datetime) -> Candidate:
    return Candidate(agency=agency, distance_km=distance, open_now=agency.open_at(at))


def _tie_key(c: Candidate) -> tuple[int, int, str, int]:
    # Open now beats unknown hours beats closed; 24/7 beats office hours; then the code, so
    # the same question always gets the same answer.
    open_rank = {True: 0, None: 1, False: 2}[c.open_now]
    return (open_rank, 0 if c.agency.always_open else 1, c.agency.code, c.agency.id)


# --- Nearest police unit --------------------------------------------------------------------


def nearest_unit(
    origin: Origin,
    *,
    at: datetime | None = None,
    require_open: bool = False,
    use_default_unit: bool = True,
    index: NetworkIndex | None = None,
) -> UnitAnswer:
    """The police unit a survivor at ``origin`` should be referred to.

    A district station's default unit comes first when it is available. Otherwise the nearest
    available unit; units marked temporarily unavailable are passed over (and listed in
    ``skipped``); with ``require_open`` so are units closed at ``at``. When the chosen unit
    is closed at ``at`` the nearest open one is offered as ``open_alternative``.
    """
    index = index or get_index()
    at = at or timezone.now()
    reasons: list[Reason] = []
    skipped: list[Candidate] = []
    station = origin.station
    if use_default_unit and station is not None and station.default_unit_id is not None:
        answer = _via_default_unit(
            origin,
            station=station,
            index=index,
            at=at,
            require_open=require_open,
            reasons=reasons,
            skipped=skipped,
        )
        if answer is not None:
            return answer

    best: Candidate | None = None
    ties: list[Candidate] = []
    alternatives: list[Candidate] = []
    for candidate, skip_reason in _walk_units(
        origin, index=index, at=at, require_open=require_open, exclude=set()
    ):
        if skip_reason is not None:
            if best is None:
                skipped.append(candidate)
                reasons.append(skip_reason)
        elif best is None:
            best = candidate
        elif candidate.distance_km - best.distance_km <= TIE_TOLERANCE_KM:
            ties.append(candidate)
        else:
            alternatives.append(candidate)
            if len(alternatives) >= ALTERNATIVES:
                break

    if best is None:
        reasons.append(
            Reason(
                "no_unit_available",
                _(
                    "No police unit is available. Call the helpline or the nearest district "
                    "station."
                ),
            )
        )
        return UnitAnswer(origin=origin, unit=None, reasons=tuple(reasons), skipped=tuple(skipped))

    group = sorted([best, *ties], key=_tie_key)
    chosen, tied_with = group[0], group[1:]
    reasons.append(
        Reason(
            "nearest",
            _("%(unit)s is the nearest available police unit.")
            % {"unit": localized_name(chosen.agency)},
        )
    )
    reasons.append(_distance_reason(chosen, origin))
    if tied_with:
        reasons.append(
            Reason(
                "tie",
                _("Tied at the same distance with %(others)s; chosen because %(why)s.")
                % {
                    "others": ", ".join(localized_name(c.agency) for c in tied_with),
                    "why": _tie_explanation(chosen, tied_with[0]),
                },
            )
        )
    open_alt = None
    if chosen.open_now is False:
        reasons.append(_closed_reason(chosen))
        open_alt = _first_open(origin, index=index, at=at, exclude={chosen.agency.id})
    return UnitAnswer(
        origin=origin,
        unit=chosen,
        reasons=tuple(reasons),
        skipped=tuple(skipped),
        tied_with=tuple(tied_with),
        alternatives=tuple(alternatives),
        open_alternative=open_alt,
    )


def _via_default_unit(
    origin: Origin,
    *,
    station: AgencyEntry,
    index: NetworkIndex,
    at: datetime,
    require_open: bool,
    reasons: list[Reason],
    skipped: list[Candidate],
) -> UnitAnswer | None:
    """The answer through the station's default unit, or None (with the reason recorded)
    when that unit cannot take her now."""
    default = index.agencies.get(station.default_unit_id or 0)
    if default is None:
        return None
    candidate = _candidate(default, _distance_to(origin, default), at)
    if not default.is_available(at) or (require_open and candidate.open_now is False):
        why = _unavailable_reason(default) if not default.is_available(at) else None
        reasons.append(
            Reason(
                "default_unit_unavailable",
                _("The station's default unit cannot take her now: %(why)s")
                % {"why": (why or _closed_reason(candidate)).text},
            )
        )
        skipped.append(candidate)
        return None
    reasons.append(
        Reason(
            "default_unit",
            _("%(unit)s is the default unit of %(station)s.")
            % {"unit": localized_name(default), "station": localized_name(station)},
        )
    )
    reasons.append(_distance_reason(candidate, origin))
    others = _walk_units(
        origin, index=index, at=at, require_open=require_open, exclude={default.id}
    )
    usable = (c for c, why in others if why is None)
    alternatives = tuple(c for _i, c in zip(range(ALTERNATIVES), usable, strict=False))
    open_alternative = None
    if candidate.open_now is False:
        reasons.append(_closed_reason(candidate))
        open_alternative = _first_open(origin, index=index, at=at, exclude={default.id})
    return UnitAnswer(
        origin=origin,
        unit=candidate,
        reasons=tuple(reasons),
        alternatives=alternatives,
        open_alternative=open_alternative,
    )


def _tie_explanation(chosen: Candidate, other: Candidate) -> str:
    if chosen.open_now is True and other.open_now is not True:
        return _("it is open now")
    if chosen.agency.always_open and not other.agency.always_open:
        return _("it is open 24/7")
    return _("its code comes first")


def _closed_reason(c: Candidate) -> Reason:
    return Reason(
        "closed", _("%(name)s is closed at this hour.") % {"name": localized_name(c.agency)}
    )


def _walk_units(
    origin: Origin,
    *,
    index: NetworkIndex,
    at: datetime,
    require_open: bool,
    exclude: set[int],
) -> Iterator[tuple[Candidate, Reason | None]]:
    """Police units by distance, each with the reason it cannot be used (or None)."""
    grid = index.grid(AgencyKind.POLICE_UNIT)
    for distance, agency in grid.nearest(origin.latitude, origin.longitude):
        if agency.id in exclude:
            continue
        candidate = _candidate(agency, distance, at)
        if not agency.is_available(at):
            yield candidate, _unavailable_reason(agency)
        elif require_open and candidate.open_now is False:
            yield candidate, _closed_reason(candidate)
        else:
            yield candidate, None


def _first_open(
    origin: Origin, *, index: NetworkIndex, at: datetime, exclude: set[int]
) -> Candidate | None:
    for candidate, reason in _walk_units(
        origin, index=index, at=at, require_open=True, exclude=exclude
    ):
        if reason is None:
            return candidate
    return None


# --- Competent prosecution office -----------------------------------------------------------


def competent_prosecution(
    origin: Origin, *, at: datetime | None = None, index: NetworkIndex | None = None
) -> ProsecutionAnswer:
    """The prosecution office competent for the origin's commune.

    A point's commune is the one with the nearest reference point (said in the answer, since
    near a boundary it can be the neighbour). A commune with no recorded jurisdiction gets
    the nearest office, flagged so that someone checks the competence.
    """
    index = index or get_index()
    at = at or timezone.now()
    reasons: list[Reason] = []
    commune = origin.commune
    if origin.kind == "point" and commune is not None:
        reasons.append(
            Reason(
                "point_commune",
                _("The point was placed in %(commune)s, the commune whose centre is nearest.")
                % {"commune": localized_name(commune)},
            )
        )
    office_id = index.prosecution_by_commune.get(commune.id) if commune is not None else None
    office = index.agencies.get(office_id) if office_id is not None else None
    if office is not None and office.is_active and commune is not None:
        distance = _distance_to(origin, office)
        candidate = _candidate(office, distance, at)
        reasons.append(
            Reason(
                "jurisdiction",
                _("%(office)s is competent for %(commune)s.")
                % {"office": localized_name(office), "commune": localized_name(commune)},
            )
        )
        reasons.append(_distance_reason(candidate, origin))
        return ProsecutionAnswer(origin=origin, office=candidate, reasons=tuple(reasons))

    grid = index.grid(AgencyKind.PROSECUTION_OFFICE)
    nearest = next(grid.nearest(origin.latitude, origin.longitude), None)
    if nearest is None:
        reasons.append(
            Reason("no_office", _("No prosecution office is recorded in the directory."))
        )
        return ProsecutionAnswer(origin=origin, office=None, reasons=tuple(reasons))
    candidate = _candidate(nearest[1], nearest[0], at)
    reasons.append(
        Reason(
            "no_jurisdiction",
            _(
                "No competent office is recorded for this commune; %(office)s is the nearest. "
                "Check its competence before filing."
            )
            % {"office": localized_name(nearest[1])},
        )
    )
    reasons.append(_distance_reason(candidate, origin))
    return ProsecutionAnswer(origin=origin, office=candidate, reasons=tuple(reasons))


def _distance_to(origin: Origin, agency: AgencyEntry) -> float:
    if agency.latitude is None or agency.longitude is None:
        return 0.0
    return haversine_km(origin.latitude, origin.longitude, agency.latitude, agency.longitude)


# --- Nearest services that fit her needs ----------------------------------------------------


def _fits(agency: AgencyEntry, needs: Needs, at: datetime) -> bool:
    if not agency.is_available(at):
        return False
    checks = (
        not needs.language or needs.language in agency.languages,
        not needs.service or needs.service in agency.services,
        not needs.step_free_access or agency.step_free_access,
        not needs.children or agency.accepts_children,
        not needs.minor or agency.accepts_minors,
        not needs.single_mother or agency.accepts_single_mothers,
        not needs.disability or agency.accepts_women_with_disabilities,
        not needs.open_24_7 or agency.always_open,
    )
    if not all(checks):
        return False
    return not needs.open_now or agency.open_at(at) is True


def _fit_reasons(agency: AgencyEntry, needs: Needs) -> list[Reason]:
    reasons: list[Reason] = []
    if needs.language:
        label = _LANGUAGE_LABELS.get(needs.language, needs.language)
        reasons.append(Reason("language", _("Speaks %(language)s.") % {"language": label}))
    if needs.service:
        reasons.append(Reason("service", _("Offers the service asked for.")))
    if needs.step_free_access:
        reasons.append(Reason("step_free_access", _("Step-free access.")))
    if needs.children:
        reasons.append(Reason("children", _("Takes women with their children.")))
    if needs.minor:
        reasons.append(Reason("minor", _("Takes girls under 18.")))
    if needs.single_mother:
        reasons.append(Reason("single_mother", _("Takes single mothers.")))
    if needs.disability:
        reasons.append(Reason("disability", _("Takes women with disabilities.")))
    if needs.open_24_7 or agency.always_open:
        reasons.append(Reason("open_24_7", _("Open 24/7.")))
    elif needs.open_now:
        reasons.append(Reason("open_now", _("Open now.")))
    return reasons


def nearest_services(
    origin: Origin,
    *,
    kind: str | None = None,
    needs: Needs | None = None,
    limit: int = 3,
    max_km: float | None = None,
    at: datetime | None = None,
    index: NetworkIndex | None = None,
) -> ServicesAnswer:
    """Up to ``limit`` available agencies (of ``kind``, or of any kind offering
    ``needs.service``) nearest to ``origin`` that meet every stated need."""
    index = index or get_index()
    at = at or timezone.now()
    needs = needs or Needs()
    if kind is not None and kind not in _KINDS:
        raise UnknownKind()
    if needs.language and needs.language not in _LANGUAGE_LABELS:
        raise UnknownLanguage()
    grid = index.grid(kind)
    results: list[Candidate] = []
    for distance, agency in grid.nearest(
        origin.latitude, origin.longitude, accept=lambda a: _fits(a, needs, at)
    ):
        if max_km is not None and distance > max_km:
            break
        candidate = _candidate(agency, distance, at)
        results.append(
            Candidate(
                agency=agency,
                distance_km=distance,
                open_now=candidate.open_now,
                reasons=(_distance_reason(candidate, origin), *_fit_reasons(agency, needs)),
            )
        )
        if len(results) >= limit:
            break
    reasons: tuple[Reason, ...] = ()
    if not results:
        reasons = (
            Reason(
                "none_found",
                _(
                    "No available service meets every need given. Relax a need or call the "
                    "helpline."
                ),
            ),
        )
    return ServicesAnswer(
        origin=origin, kind=kind, needs=needs, results=tuple(results), reasons=reasons
    )
