"""What the directory and coverage pages derive from the network is computed once per
snapshot of it: a second load redoes none of it, and a change to the network shows at once in
the process that made it and, after the revision check, in every other one."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from himaya.accounts.roles import Role
from himaya.core.actor import Actor
from himaya.geo.models import Commune
from himaya.network import coverage, index, selectors, services
from himaya.network.models import Agency, AgencyKind
from himaya.network.validation import AgencyData
from tests.network.conftest import make_actor
from tests.network.helpers import agency, login, make_staff

AGADIR = "09.001.01.0"
IMOUZZER = "09.001.05.01"


@pytest.fixture
def units(geo: dict[str, Commune], admin: Actor) -> dict[str, Agency]:
    return {
        "rabat": agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], name="Unité Rabat"),
        "casa": agency(admin, AgencyKind.POLICE_UNIT, geo["Casablanca"], name="Unité Casa"),
    }


@pytest.fixture
def staff_client(units: dict[str, Agency]) -> Client:
    client = Client()
    login(client, make_staff(Role.NATIONAL_ANALYST))
    return client


class Calls:
    """Counts the calls of a module function while still calling it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
        self.count = 0
        real: Callable[..., Any] = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    # The CSRF token is new on every response; everything else must be the same.
    return re.sub(
        r'(name="csrf-token" content|name="csrfmiddlewaretoken" value)="[^"]*"',
        "",
        response.content.decode(),
    )


def coverage_codes(client: Client) -> list[str]:
    return re.findall(
        r'<span class="ltr code">([0-9.]+)</span>', page(client, reverse("network:coverage"))
    )


def directory_names(client: Client, query: str = "") -> list[str]:
    text = page(client, reverse("network:directory") + query)
    found = re.findall(r'<a href="/network/agencies/\d+/">([^<]+)</a>', text)
    return [html.unescape(name) for name in found]


def as_another_process_saw_it(
    monkeypatch: pytest.MonkeyPatch, snapshot: index.NetworkIndex
) -> None:
    """Put back the snapshot this process held before the change, as a process that did not
    make the change still holds it, its last revision check just done."""
    monkeypatch.setattr(index, "_current", snapshot)
    monkeypatch.setattr(index, "_checked_at", time.monotonic())


def revision_check_due(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "_checked_at", time.monotonic() - index.REVISION_CHECK_SECONDS - 1)


# --- Directory ------------------------------------------------------------------------------


def test_a_second_directory_load_sorts_nothing_again(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ordered = Calls(monkeypatch, selectors, "_directory_order")
    provinces = Calls(monkeypatch, selectors, "_province_choices")
    first = page(staff_client, reverse("network:directory"))
    assert page(staff_client, reverse("network:directory")) == first
    assert directory_names(staff_client, "?kind=police_unit") == ["Unité Casa", "Unité Rabat"]
    assert directory_names(staff_client, "?q=rabat") == ["Unité Rabat"]
    assert (ordered.count, provinces.count) == (1, 1)


def test_the_directory_pages_through_the_order_of_the_snapshot(
    units: dict[str, Agency], geo: dict[str, Commune], admin: Actor
) -> None:
    for name in ("Centre Zagora", "Centre Amal", "Centre Élan", "Centre Dar"):
        agency(admin, AgencyKind.NGO_CENTRE, geo["Salé"], name=name)
    actor = make_actor(Role.UNIT_OFFICER)
    seen: list[str] = []
    cursor = None
    while True:
        found = selectors.directory_search(
            actor=actor, query=selectors.DirectoryQuery(), cursor=cursor, limit=2
        )
        seen += [a.name_fr for a in found.items]
        cursor = found.next_cursor
        if cursor is None:
            break
    # Folded names: "Élan" sorts as "elan", between "Dar" and "Zagora".
    assert seen == [
        "Centre Amal",
        "Centre Dar",
        "Centre Élan",
        "Centre Zagora",
        "Unité Casa",
        "Unité Rabat",
    ]


def test_a_renamed_agency_takes_its_new_place_in_the_directory_at_once(
    staff_client: Client, units: dict[str, Agency], geo: dict[str, Commune], admin: Actor
) -> None:
    assert directory_names(staff_client, "?kind=police_unit") == ["Unité Casa", "Unité Rabat"]
    rabat = units["rabat"]
    services.agency_update(
        actor=admin,
        agency_id=rabat.pk,
        data=AgencyData(
            kind=AgencyKind.POLICE_UNIT,
            code=rabat.code,
            name_fr="Brigade Rabat",
            name_ar=rabat.name_ar,
            commune_id=geo["Rabat"].pk,
        ),
    )
    assert directory_names(staff_client, "?kind=police_unit") == ["Brigade Rabat", "Unité Casa"]
    assert directory_names(staff_client, "?q=brigade") == ["Brigade Rabat"]


def test_another_process_s_change_reaches_the_directory_after_the_revision_check(
    staff_client: Client,
    geo: dict[str, Commune],
    admin: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert directory_names(staff_client, "?kind=police_unit") == ["Unité Casa", "Unité Rabat"]
    before = index.get_index()
    agency(admin, AgencyKind.POLICE_UNIT, geo["Agadir"], name="Unité Agadir")
    as_another_process_saw_it(monkeypatch, before)
    assert directory_names(staff_client, "?kind=police_unit") == ["Unité Casa", "Unité Rabat"]
    revision_check_due(monkeypatch)
    assert directory_names(staff_client, "?kind=police_unit") == [
        "Unité Agadir",
        "Unité Casa",
        "Unité Rabat",
    ]


# --- Coverage -------------------------------------------------------------------------------


def test_a_second_coverage_load_searches_no_nearest_unit_and_shows_the_same_page(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed = Calls(monkeypatch, coverage, "coverage_report")
    first = page(staff_client, reverse("network:coverage"))
    assert computed.count == 1
    assert page(staff_client, reverse("network:coverage")) == first
    page(staff_client, reverse("network:coverage") + "?all=1")
    page(staff_client, reverse("network:map"))  # the map shows the same report
    assert computed.count == 1


@pytest.mark.parametrize("language", ["ar", "fr", "zgh", "en"])
def test_the_coverage_report_is_shared_by_every_language(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    computed = Calls(monkeypatch, coverage, "coverage_report")
    page(staff_client, reverse("network:coverage"))
    other = Client()
    login(other, make_staff(Role.UNIT_OFFICER), language=language)
    assert coverage_codes(other)[:2] == [AGADIR, IMOUZZER]
    assert computed.count == 1


def test_a_unit_added_in_this_process_shows_on_the_next_coverage_load(
    staff_client: Client, geo: dict[str, Commune], admin: Actor
) -> None:
    assert coverage_codes(staff_client)[:2] == [AGADIR, IMOUZZER]
    agency(admin, AgencyKind.POLICE_UNIT, geo["Agadir"], name="Unité Agadir")
    text = page(staff_client, reverse("network:coverage"))
    codes = re.findall(r'<span class="ltr code">([0-9.]+)</span>', text)
    assert codes[0] == IMOUZZER  # 35 km from the new unit: now the farthest
    assert codes[-1] == AGADIR
    assert "Unité Agadir" in text


def test_a_unit_closed_in_this_process_leaves_the_coverage_at_once(
    staff_client: Client, units: dict[str, Agency], geo: dict[str, Commune], admin: Actor
) -> None:
    agadir = agency(admin, AgencyKind.POLICE_UNIT, geo["Agadir"], name="Unité Agadir")
    assert "Unité Agadir" in page(staff_client, reverse("network:coverage") + "?all=1")
    services.agency_update(
        actor=admin,
        agency_id=agadir.pk,
        data=AgencyData(
            kind=AgencyKind.POLICE_UNIT,
            code=agadir.code,
            name_fr=agadir.name_fr,
            name_ar=agadir.name_ar,
            commune_id=geo["Agadir"].pk,
            is_active=False,
        ),
    )
    assert "Unité Agadir" not in page(staff_client, reverse("network:coverage") + "?all=1")
    assert coverage_codes(staff_client)[:2] == [AGADIR, IMOUZZER]


def test_another_process_s_change_reaches_coverage_after_the_revision_check(
    staff_client: Client,
    geo: dict[str, Commune],
    admin: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert coverage_codes(staff_client)[0] == AGADIR
    before = index.get_index()
    agency(admin, AgencyKind.POLICE_UNIT, geo["Agadir"], name="Unité Agadir")
    as_another_process_saw_it(monkeypatch, before)
    assert coverage_codes(staff_client)[0] == AGADIR  # within the check delay: as it was
    revision_check_due(monkeypatch)
    assert coverage_codes(staff_client)[0] == IMOUZZER
    assert index.get_index() is not before
