"""Routing: the nearest unit (ties, unavailable and closed units), the competent prosecution
office, the nearest services that fit her needs, and clear errors for bad origins."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from himaya.core.actor import Actor
from himaya.geo.models import Commune
from himaya.network import routing, services
from himaya.network.errors import AmbiguousOrigin, OutsideMorocco, UnknownCommune
from himaya.network.geometry import GridIndex, haversine_km
from himaya.network.models import AgencyKind, Language
from tests.network.helpers import agency

# A Wednesday, 11:00 in Morocco (UTC+1) and the same day at 23:00.
WEDNESDAY_MORNING = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
WEDNESDAY_NIGHT = datetime(2025, 1, 15, 22, 0, tzinfo=UTC)


def codes(reasons: tuple[routing.Reason, ...]) -> list[str]:
    return [r.code for r in reasons]


def test_haversine_matches_a_known_distance() -> None:
    # Rabat to Casablanca, about 87 km as the crow flies.
    assert haversine_km(33.9665, -6.8390, 33.5669, -7.5988) == pytest.approx(84.5, abs=3)


@pytest.mark.parametrize(("count", "cell"), [(800, 0.5), (30, 0.25), (5, 1.0)])
def test_grid_yields_points_in_the_same_order_as_a_brute_force_scan(
    count: int, cell: float
) -> None:
    rng = random.Random(count)
    points = [(rng.uniform(21, 36), rng.uniform(-17, -1), i) for i in range(count)]
    grid = GridIndex(points, cell_deg=cell)
    for _ in range(50):
        lat, lon = rng.uniform(21, 36), rng.uniform(-17, -1)
        expected = sorted(points, key=lambda p: haversine_km(lat, lon, p[0], p[1]))[:25]
        got = [item for _d, item in zip(range(25), grid.nearest(lat, lon), strict=False)]
        assert len(got) == min(25, count)
        assert [d for d, _ in got] == sorted(d for d, _ in got)
        assert [g[1] for g in got] == [p[2] for p in expected]


def test_nearest_unit_from_a_commune_is_the_closest_one(
    geo: dict[str, Commune], admin: Actor
) -> None:
    rabat = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], name="Unité Rabat")
    agency(admin, AgencyKind.POLICE_UNIT, geo["Casablanca"], name="Unité Casablanca")
    answer = routing.nearest_unit(routing.origin_from_commune("04.441.01.0"))  # Salé
    assert answer.unit is not None
    assert answer.unit.agency.id == rabat.pk
    assert answer.unit.distance_km == pytest.approx(
        haversine_km(34.0531, -6.7985, 33.9665, -6.8390)
    )
    assert codes(answer.reasons) == ["nearest", "distance"]
    assert "Unité Rabat" in answer.reasons[0].text
    assert [c.agency.name_fr for c in answer.alternatives] == ["Unité Casablanca"]


def test_an_unavailable_unit_is_passed_over_and_routing_moves_to_the_next(
    geo: dict[str, Commune], admin: Actor
) -> None:
    rabat = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], name="Unité Rabat")
    casa = agency(admin, AgencyKind.POLICE_UNIT, geo["Casablanca"], name="Unité Casablanca")
    services.agency_set_availability(
        actor=admin, agency_id=rabat.pk, unavailable=True, reason="Travaux"
    )
    answer = routing.nearest_unit(routing.origin_from_commune("04.421.01.0"))
    assert answer.unit is not None
    assert answer.unit.agency.id == casa.pk
    assert [c.agency.id for c in answer.skipped] == [rabat.pk]
    assert codes(answer.reasons)[0] == "unavailable"
    assert "Unité Rabat" in answer.reasons[0].text


def test_a_unit_unavailable_until_a_past_moment_takes_survivors_again(
    geo: dict[str, Commune], admin: Actor
) -> None:
    rabat = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"])
    agency(admin, AgencyKind.POLICE_UNIT, geo["Casablanca"])
    until = timezone.now() + timedelta(hours=2)
    services.agency_set_availability(actor=admin, agency_id=rabat.pk, unavailable=True, until=until)
    origin = routing.origin_from_commune("04.421.01.0")
    assert routing.nearest_unit(origin).unit.agency.id != rabat.pk  # type: ignore[union-attr]
    later = routing.nearest_unit(origin, at=until + timedelta(minutes=1))
    assert later.unit is not None
    assert later.unit.agency.id == rabat.pk


def test_a_tie_is_broken_by_open_now_then_by_code(geo: dict[str, Commune], admin: Actor) -> None:
    # Two units at the same reference point (no coordinates given: the commune's centre).
    office_hours = agency(
        admin, AgencyKind.POLICE_UNIT, geo["Rabat"], code="A-1", hours="mon-fri 08:30-16:30"
    )
    always = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], code="B-2", hours="24/7")
    origin = routing.origin_from_commune("04.441.01.0")

    morning = routing.nearest_unit(origin, at=WEDNESDAY_MORNING)
    assert morning.unit is not None
    # Both open: the 24/7 one wins over office hours.
    assert morning.unit.agency.id == always.pk
    assert [c.agency.id for c in morning.tied_with] == [office_hours.pk]
    assert "tie" in codes(morning.reasons)

    night = routing.nearest_unit(origin, at=WEDNESDAY_NIGHT)
    assert night.unit is not None
    assert night.unit.agency.id == always.pk
    tie_reason = next(r for r in night.reasons if r.code == "tie")
    assert "open now" in tie_reason.text


def test_a_tie_between_equal_units_goes_to_the_smaller_code(
    geo: dict[str, Commune], admin: Actor
) -> None:
    second = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], code="Z-9")
    first = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], code="A-1")
    answer = routing.nearest_unit(routing.origin_from_commune("04.421.01.0"))
    assert answer.unit is not None
    assert answer.unit.agency.id == first.pk
    assert [c.agency.id for c in answer.tied_with] == [second.pk]
    assert answer.unit.distance_km == 0


def test_a_closed_unit_comes_with_the_nearest_open_one(
    geo: dict[str, Commune], admin: Actor
) -> None:
    rabat = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], hours="mon-fri 08:30-16:30")
    casa = agency(admin, AgencyKind.POLICE_UNIT, geo["Casablanca"], hours="24/7")
    origin = routing.origin_from_commune("04.421.01.0")

    answer = routing.nearest_unit(origin, at=WEDNESDAY_NIGHT)
    assert answer.unit is not None
    assert answer.unit.agency.id == rabat.pk
    assert answer.unit.open_now is False
    assert "closed" in codes(answer.reasons)
    assert answer.open_alternative is not None
    assert answer.open_alternative.agency.id == casa.pk

    strict = routing.nearest_unit(origin, at=WEDNESDAY_NIGHT, require_open=True)
    assert strict.unit is not None
    assert strict.unit.agency.id == casa.pk
    assert [c.agency.id for c in strict.skipped] == [rabat.pk]


def test_no_available_unit_gives_an_answer_that_says_so(
    geo: dict[str, Commune], admin: Actor
) -> None:
    only = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"])
    services.agency_set_availability(actor=admin, agency_id=only.pk, unavailable=True)
    answer = routing.nearest_unit(routing.origin_from_commune("04.421.01.0"))
    assert answer.unit is None
    assert codes(answer.reasons) == ["unavailable", "no_unit_available"]


def test_a_district_station_goes_to_its_default_unit_even_if_another_is_nearer(
    geo: dict[str, Commune], admin: Actor
) -> None:
    agency(admin, AgencyKind.POLICE_UNIT, geo["Salé"], name="Unité Salé")
    rabat = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], name="Unité Rabat")
    station = agency(admin, AgencyKind.DISTRICT_STATION, geo["Salé"], default_unit_id=rabat.pk)
    answer = routing.nearest_unit(routing.origin_from_station(station.pk))
    assert answer.unit is not None
    assert answer.unit.agency.id == rabat.pk
    assert codes(answer.reasons)[0] == "default_unit"


def test_a_station_whose_default_unit_is_unavailable_goes_to_the_nearest_other(
    geo: dict[str, Commune], admin: Actor
) -> None:
    sale = agency(admin, AgencyKind.POLICE_UNIT, geo["Salé"], name="Unité Salé")
    rabat = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], name="Unité Rabat")
    station = agency(admin, AgencyKind.DISTRICT_STATION, geo["Ameur"], default_unit_id=rabat.pk)
    services.agency_set_availability(actor=admin, agency_id=rabat.pk, unavailable=True)
    answer = routing.nearest_unit(routing.origin_from_station(station.pk))
    assert answer.unit is not None
    assert answer.unit.agency.id == sale.pk
    assert codes(answer.reasons)[:1] == ["default_unit_unavailable"]


def test_an_unknown_commune_is_a_clear_error(geo: dict[str, Commune]) -> None:
    with pytest.raises(UnknownCommune) as caught:
        routing.origin_from_commune("99.999.99.99")
    assert "99.999.99.99" in str(caught.value.message)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (40.4168, -3.7038),  # Madrid
        (36.7538, 3.0588),  # Algiers
        (28.1235, -15.4363),  # Las Palmas, Canary Islands
        (31.0, -20.0),  # the Atlantic
        (-6.84, 33.97),  # Rabat with latitude and longitude swapped
        (95.0, 0.0),  # not a coordinate at all
    ],
)
def test_a_point_outside_morocco_is_a_clear_error(
    geo: dict[str, Commune], lat: float, lon: float
) -> None:
    with pytest.raises(OutsideMorocco):
        routing.origin_from_point(lat, lon)


def test_a_point_in_morocco_is_placed_in_the_commune_with_the_nearest_centre(
    geo: dict[str, Commune],
) -> None:
    origin = routing.origin_from_point(33.95, -6.85)
    assert origin.commune is not None
    assert origin.commune.code == "04.421.01.0"


def test_giving_two_origins_at_once_is_refused(geo: dict[str, Commune]) -> None:
    with pytest.raises(AmbiguousOrigin):
        routing.resolve_origin(commune="04.421.01.0", latitude=33.9, longitude=-6.8)
    with pytest.raises(AmbiguousOrigin):
        routing.resolve_origin(latitude=33.9)


def test_the_competent_prosecution_office_is_the_one_holding_the_commune(
    geo: dict[str, Commune], admin: Actor
) -> None:
    rabat = agency(
        admin,
        AgencyKind.PROSECUTION_OFFICE,
        geo["Rabat"],
        competent_commune_ids=[geo["Rabat"].pk],
    )
    sale = agency(
        admin,
        AgencyKind.PROSECUTION_OFFICE,
        geo["Salé"],
        competent_commune_ids=[geo["Salé"].pk, geo["Ameur"].pk],
    )
    # Ameur is nearer Salé's office anyway; Rabat is nearer... Rabat: check jurisdiction wins.
    answer = routing.competent_prosecution(routing.origin_from_commune("04.441.05.01"))
    assert answer.office is not None
    assert answer.office.agency.id == sale.pk
    assert codes(answer.reasons)[0] == "jurisdiction"
    answer = routing.competent_prosecution(routing.origin_from_commune("04.421.01.0"))
    assert answer.office is not None
    assert answer.office.agency.id == rabat.pk


def test_a_commune_without_recorded_jurisdiction_gets_the_nearest_office_flagged(
    geo: dict[str, Commune], admin: Actor
) -> None:
    office = agency(
        admin,
        AgencyKind.PROSECUTION_OFFICE,
        geo["Casablanca"],
        competent_commune_ids=[geo["Casablanca"].pk],
    )
    answer = routing.competent_prosecution(routing.origin_from_commune("04.421.01.0"))
    assert answer.office is not None
    assert answer.office.agency.id == office.pk
    assert codes(answer.reasons)[0] == "no_jurisdiction"


def test_nearest_services_meet_every_need_and_say_why(
    geo: dict[str, Commune], admin: Actor
) -> None:
    agency(
        admin,
        AgencyKind.SHELTER,
        geo["Rabat"],
        name="Sans enfants",
        languages=[Language.ARABIC],
        accepts_children=False,
        beds=10,
    )
    with_children = agency(
        admin,
        AgencyKind.SHELTER,
        geo["Casablanca"],
        name="Avec enfants",
        languages=[Language.ARABIC, Language.TACHELHIT],
        accepts_children=True,
        beds=20,
    )
    agency(
        admin,
        AgencyKind.SHELTER,
        geo["Agadir"],
        name="Loin",
        languages=[Language.TACHELHIT],
        accepts_children=True,
    )
    needs = routing.Needs(language=Language.TACHELHIT, children=True)
    answer = routing.nearest_services(
        routing.origin_from_commune("04.421.01.0"), kind=AgencyKind.SHELTER, needs=needs
    )
    assert [c.agency.name_fr for c in answer.results] == ["Avec enfants", "Loin"]
    first = answer.results[0]
    assert first.agency.id == with_children.pk
    assert {"distance", "language", "children"} <= set(codes(first.reasons))


def test_nearest_services_open_now_leaves_out_closed_ones(
    geo: dict[str, Commune], admin: Actor
) -> None:
    agency(admin, AgencyKind.NGO_CENTRE, geo["Rabat"], name="Jour", hours="mon-fri 09:00-17:00")
    agency(admin, AgencyKind.NGO_CENTRE, geo["Casablanca"], name="Toujours", hours="24/7")
    origin = routing.origin_from_commune("04.421.01.0")
    night = routing.nearest_services(
        origin,
        kind=AgencyKind.NGO_CENTRE,
        needs=routing.Needs(open_now=True),
        at=WEDNESDAY_NIGHT,
    )
    assert [c.agency.name_fr for c in night.results] == ["Toujours"]
    day = routing.nearest_services(
        origin,
        kind=AgencyKind.NGO_CENTRE,
        needs=routing.Needs(open_now=True),
        at=WEDNESDAY_MORNING,
    )
    assert [c.agency.name_fr for c in day.results] == ["Jour", "Toujours"]


def test_no_service_fitting_every_need_says_so(geo: dict[str, Commune], admin: Actor) -> None:
    agency(admin, AgencyKind.SHELTER, geo["Rabat"], accepts_minors=False)
    answer = routing.nearest_services(
        routing.origin_from_commune("04.421.01.0"),
        kind=AgencyKind.SHELTER,
        needs=routing.Needs(minor=True),
    )
    assert answer.results == ()
    assert codes(answer.reasons) == ["none_found"]


def test_routing_makes_no_database_query_once_the_index_is_warm(
    geo: dict[str, Commune],
    admin: Actor,
    django_assert_num_queries: object,
) -> None:
    agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"])
    agency(admin, AgencyKind.SHELTER, geo["Casablanca"])
    routing.nearest_unit(routing.origin_from_commune("04.421.01.0"))  # warm up
    with django_assert_num_queries(0):  # type: ignore[operator]
        for code in ("04.421.01.0", "06.141.01.0", "09.001.05.01"):
            origin = routing.origin_from_commune(code)
            routing.nearest_unit(origin)
            routing.competent_prosecution(origin)
            routing.nearest_services(origin, kind=AgencyKind.SHELTER)


def test_a_change_through_the_services_is_seen_by_the_next_routing_call(
    geo: dict[str, Commune], admin: Actor
) -> None:
    agency(admin, AgencyKind.POLICE_UNIT, geo["Casablanca"])
    origin = routing.origin_from_commune("04.421.01.0")
    assert routing.nearest_unit(origin).unit.agency.commune_id == geo["Casablanca"].pk  # type: ignore[union-attr]
    rabat = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"])
    assert routing.nearest_unit(origin).unit.agency.id == rabat.pk  # type: ignore[union-attr]
