"""Loading the geography into the database: complete, idempotent, quick to repeat."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from himaya.geo.loader import load_geography
from himaya.geo.models import Commune, CoordinateSource, Province, ProvinceKind, Region

pytestmark = pytest.mark.django_db


def _writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


def test_loading_creates_every_region_province_and_commune() -> None:
    result = load_geography()

    assert (result.regions.created, result.provinces.created, result.communes.created) == (
        12,
        75,
        1503,
    )
    assert result.changed
    assert Region.objects.count() == 12
    assert Province.objects.count() == 75
    assert Commune.objects.count() == 1503
    assert Province.objects.filter(kind=ProvinceKind.PREFECTURE).exists()
    assert not Province.objects.filter(boundary_svg="").exists()
    assert not Commune.objects.filter(coordinate_source="").exists()
    assert set(Commune.objects.values_list("coordinate_source", flat=True)) <= set(
        CoordinateSource.values
    )


def test_loaded_communes_keep_their_figures_and_hierarchy() -> None:
    load_geography()

    casablanca = Commune.objects.select_related("province__region").get(code="06.141.01.0")
    assert casablanca.name_fr == "Casablanca"
    assert casablanca.name_ar == "الدار البيضاء"
    assert casablanca.is_urban
    assert casablanca.province.code == "06.141"
    assert casablanca.province.region.code == "06"
    assert casablanca.population_total == 3_197_332
    assert casablanca.population_women == 1_627_276
    assert casablanca.population_legal == 3_215_935
    # No breakdown by sex published for this commune: stored as unknown, not as zero.
    assert Commune.objects.get(code="12.066.01.03").population_women is None
    for commune in Commune.objects.all():
        assert 20.7 <= commune.latitude <= 36.0
        assert -17.2 <= commune.longitude <= -0.9
        assert commune.population_total > 0
        assert commune.population_women is None or commune.population_women <= (
            commune.population_total
        )


def test_a_second_load_changes_nothing_writes_nothing_and_is_quick() -> None:
    load_geography()

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        again = load_geography()
    elapsed = time.perf_counter() - started

    assert not again.changed
    assert (again.regions.unchanged, again.provinces.unchanged, again.communes.unchanged) == (
        12,
        75,
        1503,
    )
    assert _writes(queries) == []
    assert elapsed < 1.0


def test_a_row_edited_in_the_database_is_put_back_and_only_that_row_is_written() -> None:
    load_geography()
    Commune.objects.filter(code="07.351.01.0").update(name_fr="Marrakesh", latitude=0.0)

    with CaptureQueriesContext(connection) as queries:
        result = load_geography()

    assert result.communes.updated == 1
    assert result.communes.unchanged == 1502
    assert result.regions.updated == result.provinces.updated == 0
    marrakech = Commune.objects.get(code="07.351.01.0")
    assert marrakech.name_fr == "Marrakech"
    assert marrakech.latitude > 31
    assert len(_writes(queries)) == 1


def test_rows_no_longer_in_the_data_are_reported_and_kept() -> None:
    load_geography()
    province = Province.objects.get(code="01.511")
    Commune.objects.create(
        code="01.511.99.99",
        province=province,
        name_fr="Ancienne commune",
        name_ar="جماعة سابقة",
        latitude=35.7,
        longitude=-5.8,
    )

    result = load_geography()

    assert result.communes.stale == ("01.511.99.99",)
    assert Commune.objects.filter(code="01.511.99.99").exists()
    assert "01.511.99.99" in result.summary()


def test_load_geo_command_loads_and_reports() -> None:
    out = io.StringIO()
    call_command("load_geo", stdout=out)
    assert "communes: 1503 created, 0 updated, 0 unchanged" in out.getvalue()

    out = io.StringIO()
    call_command("load_geo", stdout=out, verbosity=2)
    assert "communes: 0 created, 0 updated, 1503 unchanged" in out.getvalue()
    assert Commune.objects.count() == 1503
