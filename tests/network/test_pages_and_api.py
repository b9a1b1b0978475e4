"""The staff pages and the API of the network: directory, agency page, routing, map,
coverage, the administrator's edits, availability, and errors for bad origins."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from himaya.accounts.roles import Role
from himaya.core.actor import Actor
from himaya.core.models import AuditEvent
from himaya.geo.models import Commune
from himaya.network import selectors
from himaya.network.models import Agency, AgencyKind, Language
from tests.network.conftest import make_actor
from tests.network.helpers import Staff, agency, login, make_staff


@pytest.fixture
def network(geo: dict[str, Commune], admin: Actor) -> dict[str, Agency]:
    rabat = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], name="Unité Rabat")
    casa = agency(admin, AgencyKind.POLICE_UNIT, geo["Casablanca"], name="Unité Casablanca")
    station = agency(
        admin,
        AgencyKind.DISTRICT_STATION,
        geo["Salé"],
        name="Arrondissement Salé 1",
        default_unit_id=rabat.pk,
        focal_points=[("Nadia Alaoui", "+212 600 000 001")],
    )
    ngo = agency(
        admin,
        AgencyKind.NGO_CENTRE,
        geo["Agadir"],
        name="Centre d'écoute Tiwizi",
        languages=[Language.TACHELHIT, Language.ARABIC],
        hours="mon-fri 09:00-17:00",
    )
    office = agency(
        admin,
        AgencyKind.PROSECUTION_OFFICE,
        geo["Salé"],
        name="Parquet de Salé",
        competent_commune_ids=[geo["Salé"].pk, geo["Ameur"].pk],
    )
    return {"rabat": rabat, "casa": casa, "station": station, "ngo": ngo, "office": office}


def signed_in(role: str, agency: Agency | None = None) -> tuple[Client, Staff]:
    client = Client()
    staff = make_staff(role, agency)
    login(client, staff)
    return client, staff


def test_a_focal_points_pages_suggest_the_unit_for_her_district(
    network: dict[str, Agency],
) -> None:
    client, _staff = signed_in(Role.FOCAL_POINT, network["station"])
    home = client.get(reverse("network:directory"))
    assert home.status_code == 200
    panel = home.content.decode().split('class="card station-panel"')[1].split("</section>")[0]
    assert "Unité Rabat" in panel
    assert 'data-reason="default_unit"' in panel
    station_page = client.get(reverse("network:agency", args=[network["station"].pk]))
    text = station_page.content.decode()
    assert "Refer survivors from this station to" in text
    assert reverse("network:agency", args=[network["rabat"].pk]) in text
    assert "Nadia Alaoui" in text


def test_the_directory_filters_by_kind_language_province_and_name(
    network: dict[str, Agency],
) -> None:
    client, _staff = signed_in(Role.HELPLINE_OPERATOR)

    def names(query: str) -> list[str]:
        page = client.get(reverse("network:directory") + query).content.decode()
        found = re.findall(r'<a href="/network/agencies/\d+/">([^<]+)</a>', page)
        return [html.unescape(name) for name in found]

    assert names("?kind=police_unit") == ["Unité Casablanca", "Unité Rabat"]
    assert names("?language=shi") == ["Centre d'écoute Tiwizi"]
    assert names("?province=04.441") == ["Arrondissement Salé 1", "Parquet de Salé"]
    assert names("?q=tiwizi") == ["Centre d'écoute Tiwizi"]
    assert names("?q=ecoute") == ["Centre d'écoute Tiwizi"]  # accents folded
    assert names("?q=sale") == ["Arrondissement Salé 1", "Parquet de Salé"]

    arabic = Client()
    login(arabic, make_staff(Role.HELPLINE_OPERATOR), language="ar")
    page = arabic.get(reverse("network:directory") + "?kind=police_unit").content.decode()
    assert 'dir="rtl"' in page
    assert network["rabat"].name_ar in page


def test_the_directory_is_paged_by_keyset(network: dict[str, Agency]) -> None:
    actor = make_actor("unit_officer")
    first = selectors.directory_search(actor=actor, query=selectors.DirectoryQuery(), limit=2)
    assert first.total == 5
    second = selectors.directory_search(
        actor=actor, query=selectors.DirectoryQuery(), cursor=first.next_cursor, limit=2
    )
    third = selectors.directory_search(
        actor=actor, query=selectors.DirectoryQuery(), cursor=second.next_cursor, limit=2
    )
    seen = [a.name_fr for a in (*first.items, *second.items, *third.items)]
    assert len(seen) == len(set(seen)) == 5
    assert third.next_cursor is None


def test_the_directory_page_costs_a_fixed_number_of_queries(
    network: dict[str, Agency],
    geo: dict[str, Commune],
    admin: Actor,
    django_assert_max_num_queries: object,
) -> None:
    client, _staff = signed_in(Role.UNIT_OFFICER)
    client.get(reverse("network:directory"))
    for _ in range(30):
        agency(admin, AgencyKind.LEGAL_AID, geo["Rabat"])
    client.get(reverse("network:directory"))  # index rebuilt
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        response = client.get(reverse("network:directory"))
    assert response.status_code == 200


def test_the_map_is_an_accessible_svg_with_units_stations_and_coverage(
    network: dict[str, Agency],
) -> None:
    client, _staff = signed_in(Role.NATIONAL_ANALYST)
    page = client.get(reverse("network:map")).content.decode()
    svg = page[page.index('<svg class="network-map"') : page.index("</svg>")]
    assert 'role="group"' in svg  # not "img": its unit marks are links
    assert '<title id="map-title">' in svg
    assert '<desc id="map-desc">' in svg
    assert svg.count('class="unit"') == 2
    assert svg.count("<rect ") == 1
    assert svg.count('class="band-') == 6  # one mark per commune
    assert "<script" not in page.split("</head>")[1]
    assert "Unité Rabat" in page  # the table alternative names them too


def test_the_coverage_page_lists_the_farthest_communes_first(
    network: dict[str, Agency],
) -> None:
    client, _staff = signed_in(Role.NATIONAL_ANALYST)
    page = client.get(reverse("network:coverage")).content.decode()
    rows = re.findall(r'<span class="ltr code">([0-9.]+)</span>', page)
    # Agadir, then Imouzzer in the hills above it (a little nearer Casablanca's unit).
    assert rows[:2] == ["09.001.01.0", "09.001.05.01"]


def test_the_route_page_answers_with_reasons_and_asks_when_a_name_is_ambiguous(
    network: dict[str, Agency],
) -> None:
    client, _staff = signed_in(Role.HELPLINE_OPERATOR)
    answer = client.get(reverse("network:route") + "?commune=Salé&kind=ngo_centre&language=shi")
    text = answer.content.decode()
    assert answer.status_code == 200
    assert 'data-answer="unit"' in text
    assert "Unité Rabat" in text
    assert "Parquet de Salé" in text
    assert 'data-reason="jurisdiction"' in text
    assert "Centre d&#x27;écoute Tiwizi" in text

    unknown = client.get(reverse("network:route") + "?commune=Atlantis")
    assert unknown.status_code == 422
    assert "No commune matches" in unknown.content.decode()

    outside = client.get(reverse("network:route") + "?latitude=40.4&longitude=-3.7")
    assert outside.status_code == 422
    assert "outside Morocco" in outside.content.decode()


def test_only_the_administrator_adds_and_edits_agencies(
    network: dict[str, Agency], geo: dict[str, Commune]
) -> None:
    officer, _staff = signed_in(Role.UNIT_CHIEF, network["rabat"])
    assert officer.get(reverse("network:agency_new")).status_code == 404
    assert officer.post(reverse("network:agency_new"), {"kind": "legal_aid"}).status_code == 404

    admin_client, _admin = signed_in(Role.SYSTEM_ADMIN)
    form = {
        "kind": "legal_aid",
        "code": "AJ-RABAT",
        "name_ar": "المساعدة القانونية",
        "name_fr": "Aide juridique Rabat",
        "commune_code": "04.421.01.0",
        "hours": "mon-fri 09:00-16:00",
        "languages": ["ar", "fr"],
        "services": ["legal_aid"],
        "is_active": "on",
    }
    created = admin_client.post(reverse("network:agency_new"), form)
    assert created.status_code == 302
    new = Agency.objects.get(code="AJ-RABAT")
    assert new.opening_hours.count() == 5
    assert AuditEvent.objects.filter(action="network.agency.create", target_id=str(new.pk)).exists()

    bad = admin_client.post(
        reverse("network:agency_edit", args=[new.pk]),
        {**form, "commune_code": "00.000", "hours": "lundi 9h"},
    )
    assert bad.status_code == 422
    assert "monday" not in bad.content.decode()  # the error names the faulty part
    assert "lundi" in bad.content.decode()

    edited = admin_client.post(
        reverse("network:agency_edit", args=[new.pk]), {**form, "name_fr": "Aide juridique"}
    )
    assert edited.status_code == 302
    new.refresh_from_db()
    assert new.name_fr == "Aide juridique"


def test_a_unit_chief_marks_her_own_unit_unavailable_and_routing_moves_on(
    network: dict[str, Agency],
) -> None:
    chief, _staff = signed_in(Role.UNIT_CHIEF, network["rabat"])
    response = chief.post(
        reverse("network:availability", args=[network["rabat"].pk]),
        {"unavailable": "on", "reason": "Coupure d'électricité"},
    )
    assert response.status_code == 302
    route = chief.get(reverse("network:route") + "?commune=04.421.01.0").content.decode()
    main = route.split('data-answer="unit"')[1].split("</div>")[0]
    assert "Unité Casablanca" in main
    assert "Coupure" not in main or "unavailable" in main

    other, _staff = signed_in(Role.UNIT_CHIEF, network["casa"])
    refused = other.post(
        reverse("network:availability", args=[network["rabat"].pk]), {"unavailable": ""}
    )
    assert refused.status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(network: dict[str, Agency]) -> None:
    response = Client().get(reverse("network:directory"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    api = Client().get("/api/v1/network/agencies")
    assert api.status_code == 401


def test_the_api_routes_and_explains(network: dict[str, Agency]) -> None:
    client, _staff = signed_in(Role.HELPLINE_OPERATOR)
    answer = client.get("/api/v1/network/route/unit?commune=04.441.01.0").json()
    assert answer["unit"]["id"] == network["rabat"].pk
    assert [r["code"] for r in answer["reasons"]] == ["nearest", "distance"]
    assert answer["origin"]["commune_code"] == "04.441.01.0"

    station = client.get(f"/api/v1/network/route/unit?station={network['station'].pk}").json()
    assert station["reasons"][0]["code"] == "default_unit"

    office = client.get("/api/v1/network/route/prosecution?commune=04.441.05.01").json()
    assert office["office"]["id"] == network["office"].pk

    listing = client.get("/api/v1/network/agencies?kind=police_unit&limit=1").json()
    assert listing["total"] == 2
    following = client.get(
        "/api/v1/network/agencies", {"kind": "police_unit", "cursor": listing["next_cursor"]}
    ).json()
    assert {listing["items"][0]["id"], following["items"][0]["id"]} == {
        network["rabat"].pk,
        network["casa"].pk,
    }


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("commune=99.999.99.99", "unknown_commune"),
        ("latitude=48.85&longitude=2.35", "outside_morocco"),
        ("latitude=33.9", "ambiguous_origin"),
        ("commune=04.421.01.0&station=1", "ambiguous_origin"),
        ("station=999999", "agency_not_found"),
    ],
)
def test_the_api_refuses_bad_origins_clearly(
    network: dict[str, Agency], query: str, code: str
) -> None:
    client, _staff = signed_in(Role.UNIT_OFFICER)
    response = client.get(f"/api/v1/network/route/unit?{query}")
    assert response.status_code in (404, 422)
    assert response.json()["error"]["code"] == code
