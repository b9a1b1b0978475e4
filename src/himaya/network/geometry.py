"""Great-circle distances and a coarse latitude/longitude grid for nearest-neighbour search.

Pure Python (no numpy on the target machines): a grid of ``cell_deg`` cells is searched ring by
ring around the query, and points are yielded in increasing distance as soon as a lower bound
proves nothing closer can be hiding in a ring not yet searched. For the national network (a few
thousand points) a query touches a few dozen cells.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088

#: A generous box around Morocco including the southern provinces; a first, cheap check before
#: the "near a commune" test in ``routing``.
MOROCCO_BOUNDS = (20.5, 36.1, -17.3, -0.9)  # south, north, west, east


def inside_morocco_box(lat: float, lon: float) -> bool:
    south, north, west, east = MOROCCO_BOUNDS
    return south <= lat <= north and west <= lon <= east


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points given in degrees."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(slots=True)
class _Point[T]:
    lat_r: float
    lon_r: float
    cos_lat: float
    item: T


class GridIndex[T]:
    """Points bucketed in a lat/lon grid; ``nearest`` yields them by increasing distance."""

    def __init__(self, points: Sequence[tuple[float, float, T]], *, cell_deg: float = 0.5):
        self.cell_deg = cell_deg
        self._cells: dict[tuple[int, int], list[_Point[T]]] = {}
        self._max_abs_lat = 0.0
        self._size = 0
        rows: list[int] = []
        cols: list[int] = []
        for lat, lon, item in points:
            key = self._key(lat, lon)
            lat_r = math.radians(lat)
            self._cells.setdefault(key, []).append(
                _Point(lat_r, math.radians(lon), math.cos(lat_r), item)
            )
            self._max_abs_lat = max(self._max_abs_lat, abs(lat))
            rows.append(key[0])
            cols.append(key[1])
            self._size += 1
        self._row_span = (min(rows), max(rows)) if rows else (0, 0)
        self._col_span = (min(cols), max(cols)) if cols else (0, 0)

    def __len__(self) -> int:
        return self._size

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return (math.floor(lat / self.cell_deg), math.floor(lon / self.cell_deg))

    def _ring_lower_bound_km(self, ring: int, query_abs_lat: float) -> float:
        """A distance below which no point outside rings 0..``ring`` can lie.

        A point beyond ring ``ring`` differs from the query (which may sit anywhere in the
        central cell) by at least ``ring`` whole cells in latitude or in longitude. Angular
        distance is at least the latitude difference, and at least
        ``2·asin(cos φmax · sin(Δλ/2))`` for a longitude difference, where φmax bounds both
        latitudes (the haversine formula with its latitude term dropped).
        """
        if ring <= 0:
            return 0.0
        delta = math.radians(ring * self.cell_deg)
        phi_max = math.radians(min(89.9, max(self._max_abs_lat, query_abs_lat)))
        by_lat = delta
        by_lon = 2 * math.asin(min(1.0, math.cos(phi_max) * math.sin(min(math.pi, delta) / 2)))
        return EARTH_RADIUS_KM * min(by_lat, by_lon)

    def nearest(
        self,
        lat: float,
        lon: float,
        *,
        accept: Callable[[T], bool] | None = None,
    ) -> Iterator[tuple[float, T]]:
        """Yield ``(distance_km, item)`` in increasing distance, skipping what ``accept``
        refuses. Lazy: stop iterating as soon as you have what you need."""
        if not self._size:
            return
        q_lat = math.radians(lat)
        q_lon = math.radians(lon)
        q_cos = math.cos(q_lat)
        row0, col0 = self._key(lat, lon)
        max_ring = max(
            abs(row0 - self._row_span[0]),
            abs(row0 - self._row_span[1]),
            abs(col0 - self._col_span[0]),
            abs(col0 - self._col_span[1]),
        )
        heap: list[tuple[float, int, T]] = []
        counter = 0  # tie-breaker so that items themselves are never compared
        cells = self._cells
        sin = math.sin
        asin = math.asin
        sqrt = math.sqrt
        occupied = len(cells)
        ring = 0
        while True:
            if 8 * ring >= occupied:
                # Sparse data far from the query: walking rings of mostly empty cells costs
                # more than taking every remaining occupied cell at once (then all is seen).
                keys: Iterable[tuple[int, int]] = [
                    k for k in cells if max(abs(k[0] - row0), abs(k[1] - col0)) >= ring
                ]
                max_ring = ring
            else:
                keys = _ring_keys(row0, col0, ring)
            for key in keys:
                bucket = cells.get(key)
                if not bucket:
                    continue
                for p in bucket:
                    if accept is not None and not accept(p.item):
                        continue
                    h = (
                        sin((p.lat_r - q_lat) / 2) ** 2
                        + q_cos * p.cos_lat * sin((p.lon_r - q_lon) / 2) ** 2
                    )
                    d = 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))
                    heapq.heappush(heap, (d, counter, p.item))
                    counter += 1
            if ring >= max_ring:
                while heap:
                    d, _, item = heapq.heappop(heap)
                    yield d, item
                return
            # Everything not yet seen lies in ring ring+1 or beyond: at least ``ring`` whole
            # cells away in latitude or longitude.
            bound = self._ring_lower_bound_km(ring, abs(lat))
            while heap and heap[0][0] <= bound:
                d, _, item = heapq.heappop(heap)
                yield d, item
            ring += 1


def _ring_keys(row: int, col: int, ring: int) -> Iterator[tuple[int, int]]:
    if ring == 0:
        yield (row, col)
        return
    for c in range(col - ring, col + ring + 1):
        yield (row - ring, c)
        yield (row + ring, c)
    for r in range(row - ring + 1, row + ring):
        yield (r, col - ring)
        yield (r, col + ring)
