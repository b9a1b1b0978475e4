"""Reads of the service network, scoped to the actor.

The directory is small (a few thousand agencies) and read constantly, so lists and search
come from the in-process index (``network.index``): no query per page once warm, and search
folds accents and Arabic spelling variants, which SQL cannot do portably. An agency's own
page reads the database for the details the index does not keep (address, contacts, focal
points, jurisdiction). A shelter's protected address is never loaded here: only
``services.shelter_address_reveal`` opens it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import datetime

from django.utils import timezone

from himaya.core.actor import Actor
from himaya.core.pagination import clamp_limit, decode_cursor, encode_cursor
from himaya.network import policies
from himaya.network.errors import AgencyNotFound
from himaya.network.hours import Interval, WeeklyHours, format_hours
from himaya.network.index import AgencyEntry, CommuneEntry, NetworkIndex, get_index
from himaya.network.models import Agency, AgencyKind, Weekday
from himaya.network.text import fold

_CURSOR_SALT = "network.directory"


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryQuery:
    q: str = ""
    kind: str | None = None
    service: str | None = None
    language: str | None = None
    province: str | None = None  # province code
    open_now: bool = False
    include_inactive: bool = False


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    items: list[AgencyEntry]
    next_cursor: str | None
    total: int


def _matches(
    a: AgencyEntry, query: DirectoryQuery, words: list[str], index: NetworkIndex, at: datetime
) -> bool:
    """Whether ``a`` passes every filter of ``query``; ``words`` are its folded search
    words (folded once per search, not once per agency)."""
    province = index.provinces.get(a.province_id) if a.province_id else None
    checks = (
        query.include_inactive or a.is_active,
        # The administration "agency" holds accounts, not services: only when asked for.
        a.kind == query.kind if query.kind else a.kind != AgencyKind.ADMINISTRATION,
        not query.service or query.service in a.services,
        not query.language or query.language in a.languages,
        not query.province or (province is not None and province.code == query.province),
        not query.open_now or (a.is_available(at) and a.open_at(at) is True),
    )
    if not all(checks):
        return False
    if words:
        commune = index.communes_by_id.get(a.commune_id) if a.commune_id else None
        haystack = a.search_key + (" " + commune.search_key if commune else "")
        return all(word in haystack for word in words)
    return True


def _directory_order(index: NetworkIndex) -> tuple[tuple[str, AgencyEntry], ...]:
    """Every agency of the snapshot with its sort key (the folded French name), in
    directory order: the key, then the id. Folding names costs more than everything else a
    directory page does, so it is done once per snapshot (``NetworkIndex.derived``)."""
    return tuple(sorted(((fold(a.name_fr), a) for a in index.agencies.values()), key=_position))


def _position(row: tuple[str, AgencyEntry]) -> tuple[str, int]:
    return (row[0], row[1].id)


def directory_search(
    *,
    actor: Actor | None,
    query: DirectoryQuery,
    cursor: str | None = None,
    limit: int | None = None,
    at: datetime | None = None,
) -> DirectoryPage:
    """Agencies matching every filter, by French name, one keyset page at a time.

    Staff only (404 for anyone else). Inactive agencies only for the administrator."""
    policies.check_browse(actor)
    if query.include_inactive and not policies.can_edit_network(actor):
        query = replace(query, include_inactive=False)
    index = get_index()
    at = at or timezone.now()
    order = index.derived("network.directory.order", _directory_order)
    words = fold(query.q).split()
    rows = [row for row in order if _matches(row[1], query, words, index, at)]
    size = clamp_limit(limit)
    start = 0
    if cursor:
        after_key, after_id = decode_cursor(cursor, salt=_CURSOR_SALT)
        start = bisect_right(rows, (str(after_key), after_id), key=_position)
    page = rows[start : start + size]
    next_cursor = None
    if start + size < len(rows) and page:
        last_key, last = page[-1]
        next_cursor = encode_cursor(sort_value=last_key, pk=last.id, salt=_CURSOR_SALT)
    return DirectoryPage(items=[a for _key, a in page], next_cursor=next_cursor, total=len(rows))


@dataclass(frozen=True, slots=True)
class AgencyDetail:
    agency: Agency
    entry: AgencyEntry
    hours_text: str
    hours_lines: list[tuple[str, str]]
    commune_name: str
    province_name: str
    focal_points: list[tuple[str, str]]
    default_unit: AgencyEntry | None
    competent_communes: list[str]
    may_reveal_address: bool


def agency_detail(*, actor: Actor | None, agency_id: int) -> AgencyDetail:
    """One agency's page. The protected address column is not even loaded."""
    policies.check_browse(actor)
    agency = (
        Agency.objects.defer("protected_address")
        .select_related("commune", "commune__province")
        .filter(pk=agency_id)
        .first()
    )
    index = get_index()
    entry = index.agencies.get(agency_id)
    if agency is None or entry is None:
        raise AgencyNotFound()
    if not agency.is_active and not policies.can_edit_network(actor):
        raise AgencyNotFound()
    intervals = tuple(Interval(h.weekday, h.opens, h.closes) for h in agency.opening_hours.all())
    weekly = WeeklyHours(always_open=agency.open_24_7, intervals=intervals)
    communes = []
    if agency.kind == AgencyKind.PROSECUTION_OFFICE:
        communes = list(
            agency.jurisdictions.order_by("commune__name_fr").values_list(
                "commune__name_fr", flat=True
            )
        )
    return AgencyDetail(
        agency=agency,
        entry=entry,
        hours_text=format_hours(weekly),
        hours_lines=hours_lines(intervals),
        commune_name=agency.commune.name_fr if agency.commune else "",
        province_name=agency.commune.province.name_fr if agency.commune else "",
        focal_points=list(
            agency.focal_points.filter(is_active=True).values_list("full_name", "phone")
        ),
        default_unit=index.agencies.get(agency.default_unit_id) if agency.default_unit_id else None,
        competent_communes=communes,
        may_reveal_address=agency.kind == AgencyKind.SHELTER
        and policies.may_reveal_shelter_address(actor, shelter_id=agency.pk),
    )


def hours_lines(intervals: tuple[Interval, ...]) -> list[tuple[str, str]]:
    """(day, "08:30–12:00, 14:00–18:00") per open weekday, Monday first."""
    spans: dict[int, list[str]] = {}
    for i in sorted(intervals, key=lambda i: (i.weekday, i.opens)):
        spans.setdefault(i.weekday, []).append(f"{i.opens:%H:%M}–{i.closes:%H:%M}")
    return [(str(Weekday(day).label), ", ".join(items)) for day, items in sorted(spans.items())]


def actor_station(actor: Actor | None) -> AgencyEntry | None:
    """The district station the actor works at, if she acts for one (focal points)."""
    if actor is None or actor.agency_id is None:
        return None
    entry = get_index().agencies.get(actor.agency_id)
    if entry is None or entry.kind != AgencyKind.DISTRICT_STATION:
        return None
    return entry


def place_names(entry: AgencyEntry, index: NetworkIndex | None = None) -> tuple[str, str]:
    """(commune, province) names of an index entry."""
    index = index or get_index()
    commune = index.communes_by_id.get(entry.commune_id) if entry.commune_id else None
    province = index.provinces.get(commune.province_id) if commune else None
    return (commune.name_fr if commune else "", province.name_fr if province else "")


def find_communes(text: str, *, limit: int = 20) -> list[CommuneEntry]:
    """Communes whose code is ``text`` or whose names contain every word of it."""
    index = get_index()
    exact = index.communes_by_code.get(text.strip())
    if exact is not None:
        return [exact]
    words = fold(text).split()
    if not words:
        return []
    found = [c for c in index.communes_by_id.values() if all(w in c.search_key for w in words)]
    exact_name = [c for c in found if fold(c.name_fr) == " ".join(words)]
    found.sort(key=lambda c: (-c.population_total, c.code))
    return (exact_name or found)[:limit]


def province_choices() -> list[tuple[str, str]]:
    """(code, French name) of every province, by folded name (sorted once per snapshot)."""
    return list(get_index().derived("network.province_choices", _province_choices))


def _province_choices(index: NetworkIndex) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(((p.code, p.name_fr) for p in index.provinces.values()), key=lambda x: fold(x[1]))
    )


def stations_referring_to(unit_id: int) -> list[AgencyEntry]:
    """Active district stations whose default unit is ``unit_id``, by name."""
    index = get_index()
    return sorted(
        (
            a
            for a in index.agencies.values()
            if a.kind == AgencyKind.DISTRICT_STATION
            and a.is_active
            and a.default_unit_id == unit_id
        ),
        key=lambda a: fold(a.name_fr),
    )


@dataclass(frozen=True, slots=True)
class ResolvedCodes:
    commune_id: int | None
    default_unit_id: int | None
    competent_commune_ids: list[int]
    errors: dict[str, list[str]]


def resolve_codes(
    *, commune_code: str, default_unit_code: str, competent_codes: list[str]
) -> ResolvedCodes:
    """Turn the codes typed in the edit form into ids, naming the codes that match nothing."""
    from django.utils.translation import gettext as _

    index = get_index()
    errors: dict[str, list[str]] = {}
    commune = index.communes_by_code.get(commune_code) if commune_code else None
    if commune_code and commune is None:
        errors["commune_code"] = [_("No commune has this code.")]
    unit_id = None
    if default_unit_code:
        unit_id = Agency.objects.filter(code=default_unit_code).values_list("id", flat=True).first()
        if unit_id is None:
            errors["default_unit_code"] = [_("No agency has this code.")]
    ids = []
    unknown = []
    for code in competent_codes:
        found = index.communes_by_code.get(code)
        if found is None:
            unknown.append(code)
        else:
            ids.append(found.id)
    if unknown:
        errors["competent_communes"] = [
            _("No commune has these codes: %(codes)s") % {"codes": ", ".join(unknown[:10])}
        ]
    return ResolvedCodes(
        commune_id=commune.id if commune else None,
        default_unit_id=unit_id,
        competent_commune_ids=ids,
        errors=errors,
    )


def agency_for_edit(
    *, actor: Actor, agency_id: int
) -> tuple[Agency, WeeklyHours, list[tuple[str, str]], list[str], str]:
    """What the edit form starts from (never the sealed address)."""
    if not policies.can_edit_network(actor):
        raise AgencyNotFound()
    agency = (
        Agency.objects.defer("protected_address")
        .select_related("commune", "default_unit")
        .filter(pk=agency_id)
        .first()
    )
    if agency is None:
        raise AgencyNotFound()
    hours = WeeklyHours(
        always_open=agency.open_24_7,
        intervals=tuple(Interval(h.weekday, h.opens, h.closes) for h in agency.opening_hours.all()),
    )
    points = list(agency.focal_points.filter(is_active=True).values_list("full_name", "phone"))
    codes = sorted(agency.jurisdictions.values_list("commune__code", flat=True))
    unit_code = (agency.default_unit.code or "") if agency.default_unit else ""
    return agency, hours, points, codes, unit_code
