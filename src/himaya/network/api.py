"""The service network's API: directory and routing (mounted at /api/v1/network/).

Authentication is the API's (token with the ``network:read`` scope, or a verified staff
session), declared where the router is mounted in ``himaya.api``; the acting person arrives
as ``request.auth``. The same selectors, services and policies as the pages. A shelter's
address never appears in any answer except the audited reveal.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from himaya.core.actor import Actor
from himaya.core.api_errors import Unauthenticated
from himaya.core.pagination import MAX_LIMIT
from himaya.network import policies, routing, selectors, services
from himaya.network.coverage import network_coverage
from himaya.network.index import AgencyEntry, get_index
from himaya.network.models import AgencyKind

router = Router(tags=["network"])


def _actor(request: HttpRequest) -> Actor:
    actor = getattr(request, "auth", None)
    if not isinstance(actor, Actor):
        raise Unauthenticated()
    policies.check_browse(actor)
    return actor


# --- Schemas --------------------------------------------------------------------------------


class AgencySummaryOut(Schema):
    id: int
    code: str
    kind: str
    name_fr: str
    name_ar: str
    commune_code: str | None
    province_code: str | None
    #: Null for shelters: their location is never published.
    latitude: float | None
    longitude: float | None
    open_24_7: bool
    languages: list[str]
    services: list[str]
    step_free_access: bool
    temporarily_unavailable: bool
    is_active: bool
    is_synthetic: bool


class DirectoryOut(Schema):
    items: list[AgencySummaryOut]
    next_cursor: str | None
    total: int


class DirectoryQueryIn(Schema):
    q: str = Field(default="", max_length=100)
    kind: AgencyKind | None = None
    service: str | None = Field(default=None, max_length=40)
    language: str | None = Field(default=None, max_length=8)
    province: str | None = Field(default=None, max_length=16, description="Province HCP code")
    open_now: bool = False
    cursor: str | None = Field(default=None, max_length=512)
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)


class HoursOut(Schema):
    weekday: int
    opens: str
    closes: str


class FocalPointOut(Schema):
    name: str
    phone: str


class AgencyOut(AgencySummaryOut):
    #: Public address; always empty for a shelter.
    address: str
    accessibility_notes: str
    hours: list[HoursOut]
    beds: int | None
    accepts_single_mothers: bool
    accepts_children: bool
    accepts_minors: bool
    accepts_women_with_disabilities: bool
    phone: str
    email: str
    website: str
    default_unit_id: int | None
    focal_points: list[FocalPointOut]
    competent_communes: list[str]
    unavailable_until: datetime | None
    unavailable_reason: str


class RevealIn(Schema):
    reason: str = Field(min_length=10, max_length=500)


class RevealOut(Schema):
    address: str


class OriginIn(Schema):
    commune: str | None = Field(default=None, max_length=32, description="Commune HCP code")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    station: int | None = Field(default=None, ge=1, description="District station id")


class UnitQueryIn(OriginIn):
    require_open: bool = False


class ServicesQueryIn(OriginIn):
    kind: AgencyKind | None = None
    service: str | None = Field(default=None, max_length=40)
    language: str | None = Field(default=None, max_length=8)
    step_free_access: bool = False
    children: bool = False
    minor: bool = False
    single_mother: bool = False
    disability: bool = False
    open_24_7: bool = False
    open_now: bool = False
    limit: int = Field(default=3, ge=1, le=20)
    max_km: float | None = Field(default=None, gt=0, le=3000)


class ReasonOut(Schema):
    code: str
    text: str


class CandidateOut(Schema):
    id: int
    code: str
    kind: str
    name_fr: str
    name_ar: str
    distance_km: float
    open_now: bool | None
    reasons: list[ReasonOut]


class OriginOut(Schema):
    kind: str
    latitude: float
    longitude: float
    commune_code: str | None
    station_id: int | None


class UnitAnswerOut(Schema):
    origin: OriginOut
    unit: CandidateOut | None
    reasons: list[ReasonOut]
    skipped: list[CandidateOut]
    tied_with: list[CandidateOut]
    alternatives: list[CandidateOut]
    open_alternative: CandidateOut | None


class ProsecutionAnswerOut(Schema):
    origin: OriginOut
    office: CandidateOut | None
    reasons: list[ReasonOut]


class ServicesAnswerOut(Schema):
    origin: OriginOut
    results: list[CandidateOut]
    reasons: list[ReasonOut]


class BandOut(Schema):
    upper_km: float | None
    communes: int
    women: int


class CoverageRowOut(Schema):
    commune_code: str
    commune_name_fr: str
    province_name_fr: str
    distance_km: float | None
    unit_id: int | None
    women: int
    women_estimated: bool


class CoverageOut(Schema):
    units: int
    women_total: int
    mean_distance_km: float | None
    bands: list[BandOut]
    rows: list[CoverageRowOut]


class CoverageQueryIn(Schema):
    limit: int = Field(default=100, ge=1, le=5000)


# --- Serialisation --------------------------------------------------------------------------


def _summary(entry: AgencyEntry) -> dict[str, object]:
    index = get_index()
    commune = index.communes_by_id.get(entry.commune_id) if entry.commune_id else None
    province = index.provinces.get(commune.province_id) if commune else None
    hidden = entry.kind == AgencyKind.SHELTER
    return {
        "id": entry.id,
        "code": entry.code,
        "kind": entry.kind,
        "name_fr": entry.name_fr,
        "name_ar": entry.name_ar,
        "commune_code": commune.code if commune else None,
        "province_code": province.code if province else None,
        "latitude": None if hidden else entry.latitude,
        "longitude": None if hidden else entry.longitude,
        "open_24_7": entry.always_open,
        "languages": sorted(entry.languages),
        "services": sorted(entry.services),
        "step_free_access": entry.step_free_access,
        "temporarily_unavailable": entry.temporarily_unavailable,
        "is_active": entry.is_active,
        "is_synthetic": entry.is_synthetic,
    }


def _candidate(c: routing.Candidate | None) -> dict[str, object] | None:
    if c is None:
        return None
    return {
        "id": c.agency.id,
        "code": c.agency.code,
        "kind": c.agency.kind,
        "name_fr": c.agency.name_fr,
        "name_ar": c.agency.name_ar,
        "distance_km": round(c.distance_km, 3),
        "open_now": c.open_now,
        "reasons": [_reason(r) for r in c.reasons],
    }


def _reason(r: routing.Reason) -> dict[str, str]:
    return {"code": r.code, "text": r.text}


def _origin(origin: routing.Origin) -> dict[str, object]:
    return {
        "kind": origin.kind,
        "latitude": origin.latitude,
        "longitude": origin.longitude,
        "commune_code": origin.commune.code if origin.commune else None,
        "station_id": origin.station.id if origin.station else None,
    }


def _resolve(query: OriginIn) -> routing.Origin:
    return routing.resolve_origin(
        commune=query.commune,
        latitude=query.latitude,
        longitude=query.longitude,
        station=query.station,
    )


# --- Endpoints ------------------------------------------------------------------------------


@router.get("/agencies", response=DirectoryOut, summary="Search the directory")
def agency_list(request: HttpRequest, query: Query[DirectoryQueryIn]) -> dict[str, object]:
    actor = _actor(request)
    page = selectors.directory_search(
        actor=actor,
        query=selectors.DirectoryQuery(
            q=query.q,
            kind=query.kind.value if query.kind else None,
            service=query.service,
            language=query.language,
            province=query.province,
            open_now=query.open_now,
        ),
        cursor=query.cursor,
        limit=query.limit,
    )
    return {
        "items": [_summary(a) for a in page.items],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }


@router.get("/agencies/{agency_id}", response=AgencyOut, summary="One agency")
def agency_get(request: HttpRequest, agency_id: int) -> dict[str, object]:
    actor = _actor(request)
    detail = selectors.agency_detail(actor=actor, agency_id=agency_id)
    agency = detail.agency
    shelter = agency.kind == AgencyKind.SHELTER
    return {
        **_summary(detail.entry),
        "address": "" if shelter else agency.address,
        "accessibility_notes": agency.accessibility_notes,
        "hours": [
            {"weekday": h.weekday, "opens": f"{h.opens:%H:%M}", "closes": f"{h.closes:%H:%M}"}
            for h in agency.opening_hours.all()
        ],
        "beds": agency.beds,
        "accepts_single_mothers": agency.accepts_single_mothers,
        "accepts_children": agency.accepts_children,
        "accepts_minors": agency.accepts_minors,
        "accepts_women_with_disabilities": agency.accepts_women_with_disabilities,
        "phone": agency.phone,
        "email": agency.email,
        "website": agency.website,
        "default_unit_id": agency.default_unit_id,
        "focal_points": [{"name": n, "phone": p} for n, p in detail.focal_points],
        "competent_communes": list(
            agency.jurisdictions.order_by("commune__code").values_list("commune__code", flat=True)
        ),
        "unavailable_until": agency.unavailable_until,
        "unavailable_reason": agency.unavailable_reason,
    }


@router.post(
    "/agencies/{agency_id}/address",
    response=RevealOut,
    summary="Reveal a shelter's address (audited; needs a fresh second factor)",
)
def agency_reveal_address(
    request: HttpRequest, agency_id: int, payload: RevealIn
) -> dict[str, str]:
    actor = _actor(request)
    address = services.shelter_address_reveal(
        actor=actor, agency_id=agency_id, reason=payload.reason
    )
    return {"address": address}


@router.get("/route/unit", response=UnitAnswerOut, summary="Nearest police unit")
def route_unit(request: HttpRequest, query: Query[UnitQueryIn]) -> dict[str, object]:
    _actor(request)
    answer = routing.nearest_unit(_resolve(query), require_open=query.require_open)
    return {
        "origin": _origin(answer.origin),
        "unit": _candidate(answer.unit),
        "reasons": [_reason(r) for r in answer.reasons],
        "skipped": [_candidate(c) for c in answer.skipped],
        "tied_with": [_candidate(c) for c in answer.tied_with],
        "alternatives": [_candidate(c) for c in answer.alternatives],
        "open_alternative": _candidate(answer.open_alternative),
    }


@router.get(
    "/route/prosecution", response=ProsecutionAnswerOut, summary="Competent prosecution office"
)
def route_prosecution(request: HttpRequest, query: Query[OriginIn]) -> dict[str, object]:
    _actor(request)
    answer = routing.competent_prosecution(_resolve(query))
    return {
        "origin": _origin(answer.origin),
        "office": _candidate(answer.office),
        "reasons": [_reason(r) for r in answer.reasons],
    }


@router.get(
    "/route/services", response=ServicesAnswerOut, summary="Nearest services that fit her needs"
)
def route_services(request: HttpRequest, query: Query[ServicesQueryIn]) -> dict[str, object]:
    _actor(request)
    needs = routing.Needs(
        language=query.language,
        service=query.service,
        step_free_access=query.step_free_access,
        children=query.children,
        minor=query.minor,
        single_mother=query.single_mother,
        disability=query.disability,
        open_24_7=query.open_24_7,
        open_now=query.open_now,
    )
    answer = routing.nearest_services(
        _resolve(query),
        kind=query.kind.value if query.kind else None,
        needs=needs,
        limit=query.limit,
        max_km=query.max_km,
    )
    return {
        "origin": _origin(answer.origin),
        "results": [_candidate(c) for c in answer.results],
        "reasons": [_reason(r) for r in answer.reasons],
    }


@router.get("/coverage", response=CoverageOut, summary="Communes farthest from a police unit")
def coverage(request: HttpRequest, query: Query[CoverageQueryIn]) -> dict[str, object]:
    _actor(request)
    report = network_coverage()
    return {
        "units": report.units,
        "women_total": report.women_total,
        "mean_distance_km": report.mean_distance_km,
        "bands": [
            {"upper_km": b.upper_km, "communes": b.communes, "women": b.women} for b in report.bands
        ],
        "rows": [
            {
                "commune_code": r.commune.code,
                "commune_name_fr": r.commune.name_fr,
                "province_name_fr": r.province_name,
                "distance_km": None if r.distance_km is None else round(r.distance_km, 3),
                "unit_id": r.unit_id,
                "women": r.women,
                "women_estimated": r.women_estimated,
            }
            for r in report.rows[: query.limit]
        ],
    }
