"""Reads of Morocco's geography.

Geography is public reference data (HCP census tables, administrative boundaries): every
member of staff may read all of it, so these selectors take no actor and scope nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from himaya.core.errors import NotFound
from himaya.geo.models import Commune, Province, Region
from himaya.geo.projection import HEIGHT, VIEW_BOX, WIDTH, in_view_box, project

__all__ = [
    "MapProvince",
    "ProvinceMap",
    "commune_by_code",
    "communes_in_province",
    "in_view_box",
    "project",
    "province_by_code",
    "province_map_paths",
    "provinces",
    "regions",
]


def regions() -> QuerySet[Region]:
    return Region.objects.order_by("code")


def provinces() -> QuerySet[Province]:
    """Every province and prefecture, without the (large) boundary column."""
    return Province.objects.select_related("region").defer("boundary_svg").order_by("code")


def province_by_code(code: str) -> Province:
    try:
        return Province.objects.select_related("region").get(code=code)
    except Province.DoesNotExist:
        raise NotFound() from None


def commune_by_code(code: str) -> Commune:
    """The commune with this HCP code (``01.511.01.01``); NotFound if there is none."""
    try:
        return Commune.objects.select_related("province__region").get(code=code)
    except Commune.DoesNotExist:
        raise NotFound() from None


def communes_in_province(province: Province | str) -> QuerySet[Commune]:
    """The communes of a province (given as a row or its HCP code), in code order."""
    qs = Commune.objects.select_related("province")
    if isinstance(province, Province):
        qs = qs.filter(province=province)
    else:
        qs = qs.filter(province__code=province)
    return qs.order_by("code")


@dataclass(frozen=True, slots=True)
class MapProvince:
    code: str
    name_fr: str
    name_ar: str
    #: SVG path data (``<path d="…">``) of the simplified boundary, in map units.
    d: str
    #: Where a label or marker for the province goes, in map units.
    label_x: float
    label_y: float


@dataclass(frozen=True, slots=True)
class ProvinceMap:
    #: The ``viewBox`` attribute of the ``<svg>`` holding the map (``"0 0 WIDTH HEIGHT"``).
    view_box: str
    width: int
    height: int
    provinces: tuple[MapProvince, ...]


def province_map_paths() -> ProvinceMap:
    """The province boundaries for an SVG map of Morocco, with the map's view box.

    Points (a unit, a commune) go on the same map through :func:`project`.
    """
    rows = Province.objects.order_by("code").values_list(
        "code", "name_fr", "name_ar", "boundary_svg", "latitude", "longitude"
    )
    items = []
    for code, name_fr, name_ar, d, lat, lon in rows:
        x, y = project(lat, lon)
        items.append(MapProvince(code, name_fr, name_ar, d, round(x, 1), round(y, 1)))
    return ProvinceMap(view_box=VIEW_BOX, width=WIDTH, height=HEIGHT, provinces=tuple(items))
