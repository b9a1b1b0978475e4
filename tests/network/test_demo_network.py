"""The synthetic demo network, built on the real (committed) geography of Morocco."""

from __future__ import annotations

import io
from collections import Counter

import pytest

from himaya.core.models import AuditEvent
from himaya.demo.network import build_network, dhondt
from himaya.geo.loader import load_geography
from himaya.geo.models import Commune, Province
from himaya.network import routing
from himaya.network.geometry import haversine_km
from himaya.network.models import Agency, AgencyKind, Jurisdiction


def test_dhondt_shares_seats_in_proportion_and_keeps_initial_seats() -> None:
    assert dhondt({"a": 100.0, "b": 50.0, "c": 10.0}, 3) == {"a": 2, "b": 1, "c": 0}
    assert dhondt({"a": 100.0, "b": 50.0}, 1, initial={"b": 1}) == {"a": 1, "b": 1}
    assert dhondt({"a": 1.0}, 0) == {"a": 0}


@pytest.mark.slow
def test_the_demo_network_follows_the_published_shape_of_the_real_one(db: None) -> None:
    load_geography()
    out = io.StringIO()
    build_network(out)
    kinds = Counter(Agency.objects.values_list("kind", flat=True))
    assert kinds[AgencyKind.POLICE_UNIT] == 132
    assert kinds[AgencyKind.DISTRICT_STATION] == 440
    assert kinds[AgencyKind.HELPLINE] == 1
    assert kinds[AgencyKind.SHELTER] > 0
    assert "created" in out.getvalue()

    # Everything says it is synthetic.
    assert not Agency.objects.filter(is_synthetic=False).exists()
    assert not Agency.objects.exclude(code__startswith="DEMO-").exists()
    assert not Agency.objects.exclude(name_fr__endswith="(démo)").exists()
    assert not Agency.objects.exclude(name_ar__endswith="(تجريبي)").exists()

    # At least one police unit in every province, always in its most populous urban commune.
    for province in Province.objects.all():
        communes = list(Commune.objects.filter(province=province, is_urban=True))
        communes = communes or list(Commune.objects.filter(province=province))
        seat = max(communes, key=lambda c: (c.population_total, c.code))
        assert Agency.objects.filter(kind=AgencyKind.POLICE_UNIT, commune=seat).exists(), seat
    # The largest city has several units, spread around it.
    casablanca_units = Agency.objects.filter(
        kind=AgencyKind.POLICE_UNIT, commune__name_fr="Casablanca"
    )
    assert casablanca_units.count() > 5
    assert len(set(casablanca_units.values_list("latitude", "longitude"))) == (
        casablanca_units.count()
    )

    # Each district station points at its nearest unit and has a focal point.
    units = list(Agency.objects.filter(kind=AgencyKind.POLICE_UNIT))
    for station in Agency.objects.filter(kind=AgencyKind.DISTRICT_STATION)[:40]:
        assert station.focal_points.count() == 1
        assert station.latitude is not None
        assert station.longitude is not None
        nearest = min(
            units,
            key=lambda u: haversine_km(
                station.latitude or 0, station.longitude or 0, u.latitude or 0, u.longitude or 0
            ),
        )
        assert station.default_unit_id == nearest.pk

    # A prosecution office in every province, and every commune in exactly one jurisdiction.
    assert Jurisdiction.objects.count() == Commune.objects.count()
    provinces_with_office = set(
        Agency.objects.filter(kind=AgencyKind.PROSECUTION_OFFICE).values_list(
            "commune__province", flat=True
        )
    )
    assert provinces_with_office == set(Province.objects.values_list("id", flat=True))

    # Gendarmerie units are in rural communes; shelters sit at their commune's centre.
    assert not Agency.objects.filter(
        kind=AgencyKind.GENDARMERIE_UNIT, commune__is_urban=True
    ).exists()
    for shelter in Agency.objects.filter(kind=AgencyKind.SHELTER).select_related("commune"):
        assert shelter.address == ""
        assert shelter.commune is not None
        assert (shelter.latitude, shelter.longitude) == (
            shelter.commune.latitude,
            shelter.commune.longitude,
        )
        assert "(démo)" in str(shelter.protected_address)

    # Routing works across the whole country.
    answer = routing.nearest_unit(routing.origin_from_commune("06.141.01.0"))
    assert answer.unit is not None
    assert answer.unit.agency.kind == AgencyKind.POLICE_UNIT

    # A second run finds everything present and changes nothing.
    before = (Agency.objects.count(), AuditEvent.objects.count())
    again = io.StringIO()
    build_network(again)
    assert "already complete" in again.getvalue()
    assert (Agency.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.slow
def test_the_counts_are_parameters(db: None) -> None:
    load_geography()
    build_network(units=137, district_stations=445, shelters=5, seed=1)
    kinds = Counter(Agency.objects.values_list("kind", flat=True))
    assert kinds[AgencyKind.POLICE_UNIT] == 137
    assert kinds[AgencyKind.DISTRICT_STATION] == 445
    assert kinds[AgencyKind.SHELTER] == 5


def test_building_without_geography_says_what_to_do(db: None) -> None:
    with pytest.raises(ValueError, match="geography"):
        build_network()
