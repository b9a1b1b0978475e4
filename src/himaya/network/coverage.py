"""Coverage: how far the women of each commune live from the nearest police unit.

Distances run from each commune's reference point to the nearest active unit (great circle).
The census gives women per commune where published; where it does not, half the commune's
population is used and the row says so (``women_estimated``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from himaya.network.index import AgencyEntry, CommuneEntry, NetworkIndex, get_index
from himaya.network.models import AgencyKind

#: Distance bands (km) of the summary; the last band is "farther than the last bound".
DEFAULT_BANDS: tuple[float, ...] = (10.0, 25.0, 50.0, 100.0)


@dataclass(frozen=True, slots=True)
class CoverageRow:
    commune: CommuneEntry
    province_name: str
    distance_km: float | None  # None when no unit exists at all
    unit_id: int | None
    unit_name: str
    women: int
    women_estimated: bool


@dataclass(frozen=True, slots=True)
class Band:
    upper_km: float | None  # None: beyond the last bound
    communes: int
    women: int


@dataclass(frozen=True, slots=True)
class CoverageReport:
    rows: tuple[CoverageRow, ...]  # farthest first
    bands: tuple[Band, ...]
    women_total: int
    mean_distance_km: float | None  # weighted by women
    units: int


def women_of(commune: CommuneEntry) -> tuple[int, bool]:
    if commune.population_women is not None:
        return commune.population_women, False
    return commune.population_total // 2, True


def network_coverage(
    *, bands: tuple[float, ...] = DEFAULT_BANDS, index: NetworkIndex | None = None
) -> CoverageReport:
    """The report of the network as built (``coverage_report`` without ``at``), computed
    once per snapshot of the network: it depends on nothing else, and finding every
    commune's nearest unit is most of what the coverage and map pages cost. A change to
    the network replaces the snapshot, and the report with it."""
    index = index or get_index()
    return index.derived(
        ("network.coverage", tuple(bands)),
        lambda snapshot: coverage_report(bands=bands, index=snapshot),
    )


def coverage_report(
    *,
    bands: tuple[float, ...] = DEFAULT_BANDS,
    at: datetime | None = None,
    index: NetworkIndex | None = None,
) -> CoverageReport:
    """Every commune with its distance to the nearest unit, farthest first.

    With ``at``, units temporarily unavailable at that moment are left out (today's
    coverage); without it the report shows the network as built.
    """
    index = index or get_index()
    grid = index.grid(AgencyKind.POLICE_UNIT)

    accept = None
    if at is not None:
        moment = at

        def accept(agency: AgencyEntry) -> bool:
            return agency.is_available(moment)

    rows: list[CoverageRow] = []
    for commune in index.communes_by_id.values():
        hit = next(grid.nearest(commune.latitude, commune.longitude, accept=accept), None)
        women, estimated = women_of(commune)
        province = index.provinces.get(commune.province_id)
        rows.append(
            CoverageRow(
                commune=commune,
                province_name=province.name_fr if province else "",
                distance_km=hit[0] if hit else None,
                unit_id=hit[1].id if hit else None,
                unit_name=hit[1].name_fr if hit else "",
                women=women,
                women_estimated=estimated,
            )
        )
    inf = float("inf")
    rows.sort(
        key=lambda r: (
            -(r.distance_km if r.distance_km is not None else inf),
            -r.women,
            r.commune.code,
        )
    )
    bounds = sorted(bands)
    counts = [0] * (len(bounds) + 1)
    women_in = [0] * (len(bounds) + 1)
    weighted = 0.0
    women_with_distance = 0
    for row in rows:
        slot = len(bounds)
        if row.distance_km is not None:
            weighted += row.distance_km * row.women
            women_with_distance += row.women
            for i, bound in enumerate(bounds):
                if row.distance_km <= bound:
                    slot = i
                    break
        counts[slot] += 1
        women_in[slot] += row.women
    summary = tuple(
        Band(upper_km=bounds[i] if i < len(bounds) else None, communes=counts[i], women=women_in[i])
        for i in range(len(bounds) + 1)
    )
    return CoverageReport(
        rows=tuple(rows),
        bands=summary,
        women_total=sum(women_in),
        mean_distance_km=(weighted / women_with_distance) if women_with_distance else None,
        units=len(grid),
    )
