"""The network map: an inline SVG of Morocco drawn from the committed province boundaries.

No tile server, no script: province paths from ``geo``, communes coloured by their distance
to the nearest police unit (coverage), district stations and police units as marks that link
to their pages. Every mark has a ``<title>`` (tooltip and accessible name); the page also
shows the same facts as a table for screen readers and printing.

Shelters are never drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from himaya.core.i18n import localized_name
from himaya.geo.projection import project
from himaya.geo.selectors import province_map_paths
from himaya.network.coverage import CoverageReport
from himaya.network.index import AgencyEntry, NetworkIndex
from himaya.network.models import AgencyKind

#: CSS classes of the coverage bands (network.css colours them, lightest = nearest).
BAND_CLASSES = ("band-0", "band-1", "band-2", "band-3", "band-4")


@dataclass(frozen=True, slots=True)
class LegendItem:
    css_class: str
    label: str


def band_class(distance_km: float | None, bounds: tuple[float, ...]) -> str:
    if distance_km is None:
        return BAND_CLASSES[-1]
    for i, bound in enumerate(bounds):
        if distance_km <= bound:
            return BAND_CLASSES[min(i, len(BAND_CLASSES) - 1)]
    return BAND_CLASSES[min(len(bounds), len(BAND_CLASSES) - 1)]


def band_legend(bounds: tuple[float, ...]) -> list[LegendItem]:
    items = []
    lower = 0.0
    for i, bound in enumerate(bounds):
        items.append(
            LegendItem(
                BAND_CLASSES[min(i, len(BAND_CLASSES) - 1)],
                _("%(low)d–%(high)d km from a unit") % {"low": lower, "high": bound},
            )
        )
        lower = bound
    items.append(
        LegendItem(
            BAND_CLASSES[min(len(bounds), len(BAND_CLASSES) - 1)],
            _("more than %(km)d km from a unit") % {"km": lower},
        )
    )
    return items


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def render_map(
    *,
    index: NetworkIndex,
    coverage: CoverageReport | None,
    bounds: tuple[float, ...],
    show_units: bool = True,
    show_stations: bool = True,
    highlight: int | None = None,
) -> SafeString:
    """The ``<svg>`` element (escaped piece by piece; safe to insert in a page)."""
    base = province_map_paths()
    title = _("Map of the service network of Morocco")
    desc = _(
        "Provinces of Morocco; communes coloured by distance from the nearest police unit; "
        "district stations as small squares and police units as circles. The same "
        "information is in the tables below the map."
    )
    out: list[str] = [
        # A group, not an image: an image's children are hidden from assistive technology,
        # and the unit marks are links (WCAG 4.1.2; axe "nested-interactive").
        f'<svg class="network-map" viewBox="{escape(base.view_box)}" role="group" '
        'aria-labelledby="map-title" aria-describedby="map-desc" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="map-title">{escape(title)}</title>',
        f'<desc id="map-desc">{escape(desc)}</desc>',
        '<g class="map-provinces">',
    ]
    out.extend(
        f'<path d="{escape(p.d)}"><title>{escape(p.name_fr)} — {escape(p.name_ar)}</title></path>'
        for p in base.provinces
        if p.d
    )
    out.append("</g>")
    if coverage is not None:
        out.extend(_coverage_layer(coverage, bounds))
    if show_stations:
        out.extend(_station_layer(index))
    if show_units:
        out.extend(_unit_layer(index, highlight))
    out.append("</svg>")
    # Every interpolated value above went through escape() or is a number we formatted.
    return mark_safe("".join(out))  # noqa: S308  # nosec B308 B703


def _coverage_layer(coverage: CoverageReport, bounds: tuple[float, ...]) -> list[str]:
    out = ['<g class="map-coverage">']
    for row in coverage.rows:
        x, y = project(row.commune.latitude, row.commune.longitude)
        # Short on purpose: 1,500 of these make most of the page's weight.
        label = _("%(commune)s: %(km)s km to a unit") % {
            "commune": localized_name(row.commune),
            "km": _fmt(row.distance_km) if row.distance_km is not None else "—",
        }
        out.append(
            f'<circle class="{band_class(row.distance_km, bounds)}" cx="{_fmt(x)}" '
            f'cy="{_fmt(y)}" r="2.2"><title>{escape(label)}</title></circle>'
        )
    out.append("</g>")
    return out


def _located(index: NetworkIndex, kind: str) -> list[tuple[AgencyEntry, float, float]]:
    found = []
    for agency in index.agencies.values():
        if agency.kind != kind or not agency.is_active:
            continue
        if agency.latitude is None or agency.longitude is None:
            continue
        x, y = project(agency.latitude, agency.longitude)
        found.append((agency, x, y))
    return found


def _station_layer(index: NetworkIndex) -> list[str]:
    out = ['<g class="map-stations">']
    out.extend(
        f'<rect x="{_fmt(x - 2.2)}" y="{_fmt(y - 2.2)}" width="4.4" height="4.4">'
        f"<title>{escape(localized_name(agency))}</title></rect>"
        for agency, x, y in _located(index, AgencyKind.DISTRICT_STATION)
    )
    out.append("</g>")
    return out


def _unit_layer(index: NetworkIndex, highlight: int | None) -> list[str]:
    out = ['<g class="map-units">']
    for agency, x, y in _located(index, AgencyKind.POLICE_UNIT):
        css = "unit"
        if agency.temporarily_unavailable:
            css += " unit--unavailable"
        if agency.id == highlight:
            css += " unit--highlight"
        url = reverse("network:agency", args=[agency.id])
        radius = 6 if agency.id == highlight else 4.2
        out.append(
            f'<a href="{escape(url)}"><circle class="{css}" cx="{_fmt(x)}" cy="{_fmt(y)}" '
            f'r="{radius}"><title>{escape(localized_name(agency))}</title></circle></a>'
        )
    out.append("</g>")
    return out
