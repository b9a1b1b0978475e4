"""Reading the geography: look-ups by code, a province's communes, the SVG map."""

from __future__ import annotations

import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from himaya.core.errors import NotFound
from himaya.geo import projection, selectors
from himaya.geo.loader import load_geography
from himaya.geo.models import Commune

pytestmark = pytest.mark.django_db


@pytest.fixture
def geography() -> None:
    load_geography()


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@pytest.mark.usefixtures("geography")
def test_commune_by_code_finds_casablanca_near_its_centre() -> None:
    commune = selectors.commune_by_code("06.141.01.0")
    assert commune.name_ar == "الدار البيضاء"
    assert commune.province.region.code == "06"
    assert km(commune.latitude, commune.longitude, 33.57, -7.59) < 25


@pytest.mark.usefixtures("geography")
@pytest.mark.parametrize(
    ("code", "lat", "lon"),
    [
        ("04.421.01.0", 34.02, -6.84),  # Rabat
        ("07.351.01.0", 31.63, -7.99),  # Marrakech
        ("11.321.01.03", 27.15, -13.20),  # Laâyoune
    ],
)
def test_known_cities_are_within_25_km_of_their_centre(code: str, lat: float, lon: float) -> None:
    commune = selectors.commune_by_code(code)
    assert km(commune.latitude, commune.longitude, lat, lon) < 25


@pytest.mark.usefixtures("geography")
def test_an_unknown_commune_code_is_not_found() -> None:
    with pytest.raises(NotFound):
        selectors.commune_by_code("99.999.99.99")
    with pytest.raises(NotFound):
        selectors.province_by_code("99.999")


@pytest.mark.usefixtures("geography")
def test_communes_in_province_takes_a_province_or_its_code() -> None:
    province = selectors.province_by_code("01.511")
    by_row = list(selectors.communes_in_province(province))
    by_code = list(selectors.communes_in_province("01.511"))

    assert by_row == by_code
    assert len(by_row) == 12  # Tanger-Assilah, HCP 2024
    assert {c.province_id for c in by_row} == {province.pk}
    assert [c.code for c in by_row] == sorted(c.code for c in by_row)
    assert selectors.communes_in_province("99.999").count() == 0


@pytest.mark.usefixtures("geography")
def test_the_province_map_comes_in_one_query_with_its_view_box() -> None:
    with CaptureQueriesContext(connection) as queries:
        geo_map = selectors.province_map_paths()

    assert len(queries.captured_queries) == 1
    assert geo_map.view_box == f"0 0 {geo_map.width} {geo_map.height}"
    assert len(geo_map.provinces) == 75
    for province in geo_map.provinces:
        assert province.d.startswith("M")
        assert province.d.endswith("Z")
        assert projection.in_view_box(province.label_x, province.label_y), province.code


@pytest.mark.usefixtures("geography")
def test_every_commune_projects_inside_the_map() -> None:
    for lat, lon in Commune.objects.values_list("latitude", "longitude"):
        x, y = selectors.project(lat, lon)
        assert projection.in_view_box(x, y)


def test_projection_keeps_morocco_inside_the_view_box_and_round_trips() -> None:
    corners = [(20.7, -17.2), (36.0, -17.2), (20.7, -0.9), (36.0, -0.9), (27.15, -13.2)]
    for lat, lon in corners:
        x, y = projection.project(lat, lon)
        assert projection.in_view_box(x, y), (lat, lon)
        back = projection.unproject(x, y)
        assert back == pytest.approx((lat, lon), abs=1e-9)
    assert not projection.in_view_box(*projection.project(37.0, -5.0))  # Andalusia
    assert not projection.in_view_box(*projection.project(30.0, 0.5))  # Algeria


def test_projection_puts_north_up_and_east_right_with_true_scale_at_lat0() -> None:
    x0, y0 = projection.project(projection.LAT0, -8.0)
    x1, y1 = projection.project(projection.LAT0 + 1, -7.0)
    assert y1 < y0  # north is up
    assert x1 > x0  # east is right
    # At the standard parallel one degree of longitude is cos(lat0) degrees of latitude.
    ratio = (x1 - x0) / (y0 - y1)
    assert ratio == pytest.approx(math.cos(math.radians(projection.LAT0)))
