"""Fixtures of the network tests: a small geography made in the test database and actors.
(The routing index is reset before every test by ``tests/conftest.py``.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation

from himaya.core.actor import Actor
from himaya.geo.models import Commune, Province, Region


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English (the site's default language is Arabic)."""
    with translation.override("en"):
        yield


# A few real communes of Morocco (rounded reference points, 2024 populations).
COMMUNES = [
    # code, province, name_fr, name_ar, urban, lat, lon, population, women
    ("04.421.01.0", "04.421", "Rabat", "الرباط", True, 33.9665, -6.8390, 503375, 260634),
    ("04.441.01.0", "04.441", "Salé", "سلا", True, 34.0531, -6.7985, 938863, 475000),
    ("04.441.05.01", "04.441", "Ameur", "عامر", False, 34.0500, -6.6500, 50000, None),
    (
        "06.141.01.0",
        "06.141",
        "Casablanca",
        "الدار البيضاء",
        True,
        33.5669,
        -7.5988,
        3197332,
        1627276,
    ),
    ("09.001.01.0", "09.001", "Agadir", "أكادير", True, 30.4202, -9.5982, 480000, 240000),
    ("09.001.05.01", "09.001", "Imouzzer", "إموزار", False, 30.7100, -9.4700, 12000, 6000),
]
PROVINCES = [
    ("04.421", "04", "Rabat", "الرباط", 33.97, -6.84),
    ("04.441", "04", "Salé", "سلا", 34.05, -6.78),
    ("06.141", "06", "Casablanca", "الدار البيضاء", 33.57, -7.60),
    ("09.001", "09", "Agadir-Ida-Ou-Tanane", "أكادير إداوتنان", 30.42, -9.60),
]


@pytest.fixture
def geo(db: None) -> dict[str, Commune]:
    """Communes by French name."""
    regions = {
        code: Region.objects.create(code=code, name_fr=f"Région {code}", name_ar=f"جهة {code}")
        for code in ("04", "06", "09")
    }
    provinces = {
        code: Province.objects.create(
            code=code,
            region=regions[region],
            name_fr=name_fr,
            name_ar=name_ar,
            latitude=lat,
            longitude=lon,
            boundary_svg="M0 0L10 0L10 10Z",
        )
        for code, region, name_fr, name_ar, lat, lon in PROVINCES
    }
    communes = {}
    for code, province, name_fr, name_ar, urban, lat, lon, population, women in COMMUNES:
        communes[name_fr] = Commune.objects.create(
            code=code,
            province=provinces[province],
            name_fr=name_fr,
            name_ar=name_ar,
            is_urban=urban,
            latitude=lat,
            longitude=lon,
            population_total=population,
            population_women=women,
        )
    return communes


def make_actor(role: str | None, *, agency_id: int | None = None, verified: bool = False) -> Actor:
    return Actor(
        user_id=1000 + len(role or ""),
        username=f"test-{role}",
        role=role,
        agency_id=agency_id,
        membership_id=2000,
        recently_verified=verified,
    )


@pytest.fixture
def admin() -> Actor:
    return make_actor("system_admin", verified=True)
