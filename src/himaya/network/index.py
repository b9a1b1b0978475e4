"""The in-process snapshot of the network that routing, coverage and directory search read.

Built once from the database (a handful of queries), then every routing call is pure Python
with no query. Freshness: every write to the network goes through ``network.services`` which
calls ``bump_revision()``: the local snapshot is dropped at once (and again on commit), and the
``NetworkRevision`` token changes so that other web processes notice within
``REVISION_CHECK_SECONDS`` (one tiny query per process per interval, never one per call).
"""

from __future__ import annotations

import math
import secrets
import threading
import time as monotonic_time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.db import transaction

from himaya.geo.models import Commune, Province
from himaya.network.geometry import GridIndex
from himaya.network.hours import Interval, WeeklyHours, is_open, week_ranges
from himaya.network.models import Agency, Jurisdiction, NetworkRevision, OpeningHours
from himaya.network.text import fold

#: How often a process asks the database whether the network changed elsewhere.
REVISION_CHECK_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class AgencyEntry:
    id: int
    code: str
    kind: str
    name_fr: str
    name_ar: str
    is_active: bool
    is_synthetic: bool
    commune_id: int | None
    province_id: int | None
    latitude: float | None
    longitude: float | None
    always_open: bool
    ranges: tuple[tuple[int, int], ...]
    has_hours: bool
    languages: frozenset[str]
    services: frozenset[str]
    step_free_access: bool
    beds: int | None
    accepts_single_mothers: bool
    accepts_children: bool
    accepts_minors: bool
    accepts_women_with_disabilities: bool
    temporarily_unavailable: bool
    unavailable_until: datetime | None
    default_unit_id: int | None
    search_key: str

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def is_available(self, at: datetime) -> bool:
        """Active and not marked temporarily unavailable at ``at``."""
        if not self.is_active:
            return False
        if not self.temporarily_unavailable:
            return True
        return self.unavailable_until is not None and self.unavailable_until <= at

    def open_at(self, at: datetime) -> bool | None:
        """True/False from the published hours; None when no hours are published."""
        if not self.has_hours:
            return None
        return is_open(self.always_open, self.ranges, at)


@dataclass(frozen=True, slots=True)
class CommuneEntry:
    id: int
    code: str
    name_fr: str
    name_ar: str
    province_id: int
    is_urban: bool
    latitude: float
    longitude: float
    population_total: int
    population_women: int | None
    search_key: str


@dataclass(frozen=True, slots=True)
class ProvinceEntry:
    id: int
    code: str
    name_fr: str
    name_ar: str


@dataclass(slots=True)
class NetworkIndex:
    token: str
    agencies: dict[int, AgencyEntry]
    communes_by_code: dict[str, CommuneEntry]
    communes_by_id: dict[int, CommuneEntry]
    provinces: dict[int, ProvinceEntry]
    prosecution_by_commune: dict[int, int]
    commune_grid: GridIndex[CommuneEntry]
    _grids: dict[str, GridIndex[AgencyEntry]] = field(default_factory=dict)
    _derived: dict[Hashable, Any] = field(default_factory=dict)

    def derived[T](self, key: Hashable, build: Callable[[NetworkIndex], T]) -> T:
        """``build(self)``, computed once for this snapshot and kept as long as it is.

        For results that depend on nothing but the network (the directory's order, the
        coverage report): they go stale exactly when the snapshot does, and a change to the
        network replaces the snapshot (``get_index``), so no other invalidation is needed.
        ``key`` names the result and everything else it depends on (a module-qualified
        string, or a tuple starting with one); the result is shared by every request, so it
        must be immutable. Two threads may build the same result at once: both get equal
        values and one is kept, which costs less than a lock every reader would wait on."""
        try:
            return cast(T, self._derived[key])
        except KeyError:
            value = build(self)
            self._derived[key] = value
            return value

    def grid(self, kind: str | None) -> GridIndex[AgencyEntry]:
        """Active agencies of ``kind`` (all kinds for None) that have coordinates."""
        key = kind or "*"
        grid = self._grids.get(key)
        if grid is None:
            points = [
                (a.latitude, a.longitude, a)
                for a in self.agencies.values()
                if a.is_active
                and a.latitude is not None
                and a.longitude is not None
                and (kind is None or a.kind == kind)
            ]
            grid = GridIndex(points, cell_deg=cell_size_for(points))
            self._grids[key] = grid
        return grid


def cell_size_for(points: list[tuple[float, float, AgencyEntry]]) -> float:
    """The grid cell (degrees) for a set of points: a fraction of the mean spacing, so that
    sparse kinds (a few dozen shelters) do not walk through rings of empty cells and dense
    ones (units clustered in cities) do not compute distances to whole cities at once.
    The factor was measured with the demo network (see bench/bench_routing.py)."""
    if len(points) < 2:
        return 4.0
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    area = max(1.0, (max(lats) - min(lats)) * (max(lons) - min(lons)))
    return min(4.0, max(0.25, 0.3 * math.sqrt(area / len(points))))


_lock = threading.Lock()
_current: NetworkIndex | None = None
_checked_at = 0.0


def _read_token() -> str:
    row = NetworkRevision.objects.filter(pk=1).values_list("token", flat=True).first()
    return row or ""


def _build() -> NetworkIndex:
    token = _read_token()
    provinces = {
        p["id"]: ProvinceEntry(p["id"], p["code"], p["name_fr"], p["name_ar"])
        for p in Province.objects.values("id", "code", "name_fr", "name_ar")
    }
    communes_by_id: dict[int, CommuneEntry] = {}
    for c in Commune.objects.values(
        "id",
        "code",
        "name_fr",
        "name_ar",
        "province_id",
        "is_urban",
        "latitude",
        "longitude",
        "population_total",
        "population_women",
    ):
        communes_by_id[c["id"]] = CommuneEntry(
            id=c["id"],
            code=c["code"],
            name_fr=c["name_fr"],
            name_ar=c["name_ar"],
            province_id=c["province_id"],
            is_urban=c["is_urban"],
            latitude=c["latitude"],
            longitude=c["longitude"],
            population_total=c["population_total"],
            population_women=c["population_women"],
            search_key=fold(f"{c['name_fr']} {c['name_ar']} {c['code']}"),
        )
    hours: dict[int, list[Interval]] = {}
    for h in OpeningHours.objects.values("agency_id", "weekday", "opens", "closes"):
        hours.setdefault(h["agency_id"], []).append(Interval(h["weekday"], h["opens"], h["closes"]))
    agencies: dict[int, AgencyEntry] = {}
    for a in Agency.objects.values(
        "id",
        "code",
        "kind",
        "name_fr",
        "name_ar",
        "is_active",
        "is_synthetic",
        "commune_id",
        "latitude",
        "longitude",
        "open_24_7",
        "languages",
        "services",
        "step_free_access",
        "beds",
        "accepts_single_mothers",
        "accepts_children",
        "accepts_minors",
        "accepts_women_with_disabilities",
        "temporarily_unavailable",
        "unavailable_until",
        "default_unit_id",
    ):
        commune = communes_by_id.get(a["commune_id"]) if a["commune_id"] else None
        weekly = WeeklyHours(always_open=a["open_24_7"], intervals=tuple(hours.get(a["id"], ())))
        agencies[a["id"]] = AgencyEntry(
            id=a["id"],
            code=a["code"] or "",
            kind=a["kind"],
            name_fr=a["name_fr"],
            name_ar=a["name_ar"],
            is_active=a["is_active"],
            is_synthetic=a["is_synthetic"],
            commune_id=a["commune_id"],
            province_id=commune.province_id if commune else None,
            latitude=a["latitude"],
            longitude=a["longitude"],
            always_open=weekly.always_open,
            ranges=week_ranges(weekly),
            has_hours=weekly.is_published,
            languages=frozenset(a["languages"] or ()),
            services=frozenset(a["services"] or ()),
            step_free_access=a["step_free_access"],
            beds=a["beds"],
            accepts_single_mothers=a["accepts_single_mothers"],
            accepts_children=a["accepts_children"],
            accepts_minors=a["accepts_minors"],
            accepts_women_with_disabilities=a["accepts_women_with_disabilities"],
            temporarily_unavailable=a["temporarily_unavailable"],
            unavailable_until=a["unavailable_until"],
            default_unit_id=a["default_unit_id"],
            search_key=fold(f"{a['name_fr']} {a['name_ar']} {a['code'] or ''}"),
        )
    prosecution_by_commune = dict(
        Jurisdiction.objects.filter(office__is_active=True).values_list("commune_id", "office_id")
    )
    return NetworkIndex(
        token=token,
        agencies=agencies,
        communes_by_code={c.code: c for c in communes_by_id.values()},
        communes_by_id=communes_by_id,
        provinces=provinces,
        prosecution_by_commune=prosecution_by_commune,
        commune_grid=GridIndex([(c.latitude, c.longitude, c) for c in communes_by_id.values()]),
    )


def get_index() -> NetworkIndex:
    """The current snapshot, rebuilt when this process or another changed the network."""
    global _current, _checked_at  # noqa: PLW0603 - the process-wide cache is the point
    index = _current
    now = monotonic_time.monotonic()
    if index is not None and now - _checked_at < REVISION_CHECK_SECONDS:
        return index
    with _lock:
        index = _current
        if index is not None and now - _checked_at < REVISION_CHECK_SECONDS:
            return index
        if index is None or _read_token() != index.token:
            index = _build()
            _current = index
        _checked_at = monotonic_time.monotonic()
        return index


def invalidate() -> None:
    """Drop this process's snapshot; the next read rebuilds it."""
    global _current  # noqa: PLW0603
    with _lock:
        _current = None


def bump_revision() -> None:
    """Record that the network changed. Call inside the writing transaction."""
    token = secrets.token_hex(16)
    updated = NetworkRevision.objects.filter(pk=1).update(token=token)
    if not updated:
        NetworkRevision.objects.create(pk=1, token=token)
    invalidate()
    # A read between now and the commit may rebuild from the old rows: drop it again after.
    transaction.on_commit(invalidate)


def agencies_of_kind(index: NetworkIndex, kinds: Iterable[str]) -> list[AgencyEntry]:
    wanted = set(kinds)
    return [a for a in index.agencies.values() if a.kind in wanted]
