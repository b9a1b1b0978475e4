"""The coverage report: communes by distance to the nearest unit, with the women affected."""

from __future__ import annotations

import pytest
from django.utils import timezone

from himaya.core.actor import Actor
from himaya.geo.models import Commune
from himaya.network import services
from himaya.network.coverage import coverage_report
from himaya.network.models import AgencyKind
from tests.network.helpers import agency


def test_communes_are_listed_farthest_first_with_the_women_they_hold(
    geo: dict[str, Commune], admin: Actor
) -> None:
    agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"])
    report = coverage_report(bands=(10.0, 100.0))
    assert [r.commune.name_fr for r in report.rows[:2]] == ["Agadir", "Imouzzer"]
    assert report.rows[-1].commune.name_fr == "Rabat"
    assert report.rows[-1].distance_km == 0
    ameur = next(r for r in report.rows if r.commune.name_fr == "Ameur")
    # No census figure for women in Ameur: half the population, flagged as an estimate.
    assert (ameur.women, ameur.women_estimated) == (25000, True)
    # Rabat; Salé (10.3 km), Ameur and Casablanca; Agadir and Imouzzer.
    assert [b.communes for b in report.bands] == [1, 3, 2]
    assert report.women_total == sum(r.women for r in report.rows)
    assert report.units == 1


def test_without_any_unit_every_commune_is_uncovered(geo: dict[str, Commune]) -> None:
    report = coverage_report()
    assert all(r.distance_km is None for r in report.rows)
    assert report.bands[-1].communes == len(geo)
    assert report.mean_distance_km is None


def test_today_s_coverage_leaves_out_units_that_are_unavailable_now(
    geo: dict[str, Commune], admin: Actor
) -> None:
    rabat = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"])
    agency(admin, AgencyKind.POLICE_UNIT, geo["Agadir"])
    services.agency_set_availability(actor=admin, agency_id=rabat.pk, unavailable=True)
    built = coverage_report()
    today = coverage_report(at=timezone.now())
    rabat_built = next(r for r in built.rows if r.commune.name_fr == "Rabat")
    rabat_today = next(r for r in today.rows if r.commune.name_fr == "Rabat")
    assert rabat_built.distance_km == 0
    assert rabat_today.distance_km == pytest.approx(480, abs=40)
