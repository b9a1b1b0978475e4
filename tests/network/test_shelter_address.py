"""A shelter's address never appears in any page or API answer for a role that may not see
it; roles that may see it get it only by an audited reveal after a fresh second factor."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from himaya.accounts import tokens
from himaya.accounts.actors import actor_for_user
from himaya.accounts.roles import Role
from himaya.core.actor import Actor
from himaya.core.models import AuditEvent
from himaya.geo.models import Commune
from himaya.network import policies, services
from himaya.network.errors import AgencyNotFound
from himaya.network.models import Agency, AgencyKind
from tests.network.conftest import make_actor
from tests.network.helpers import Staff, agency, login, make_staff

CANARY = "Derb Canari 77, porte bleue"
CANARY_FRAGMENT = "Canari"
MAY_SEE = {Role.UNIT_CHIEF, Role.UNIT_OFFICER, Role.PROSECUTOR, Role.HELPLINE_SUPERVISOR}


@dataclass(frozen=True)
class World:
    shelter: Agency
    unit: Agency
    station: Agency


@pytest.fixture
def world(geo: dict[str, Commune], admin: Actor) -> World:
    unit = agency(admin, AgencyKind.POLICE_UNIT, geo["Rabat"], name="Unité Rabat")
    station = agency(admin, AgencyKind.DISTRICT_STATION, geo["Salé"], default_unit_id=unit.pk)
    shelter = agency(
        admin,
        AgencyKind.SHELTER,
        geo["Rabat"],
        name="Centre Amal",
        address=CANARY,
        beds=12,
        accepts_children=True,
    )
    return World(shelter=shelter, unit=unit, station=station)


def staff_for(role: str, world: World) -> Staff:
    # A service provider works at ANOTHER agency: this shelter's address is not hers.
    homes: dict[str, Agency] = {
        Role.UNIT_CHIEF: world.unit,
        Role.UNIT_OFFICER: world.unit,
        Role.FOCAL_POINT: world.station,
    }
    return make_staff(role, homes.get(role))


def pages(world: World) -> list[str]:
    shelter = world.shelter.pk
    return [
        reverse("network:directory"),
        reverse("network:directory") + "?kind=shelter",
        reverse("network:directory") + "?q=Amal",
        reverse("network:agency", args=[shelter]),
        reverse("network:route") + "?commune=04.421.01.0&kind=shelter",
        reverse("network:route") + "?commune=04.441.01.0&children=on",
        reverse("network:map"),
        reverse("network:coverage") + "?all=1",
        reverse("network:agency_edit", args=[shelter]),
        "/api/v1/network/agencies?kind=shelter",
        f"/api/v1/network/agencies/{shelter}",
        "/api/v1/network/route/services?commune=04.421.01.0&kind=shelter",
        "/api/v1/network/route/services?commune=04.421.01.0&children=true",
        "/api/v1/network/coverage",
    ]


@pytest.mark.parametrize("role", list(Role))
def test_no_page_or_api_answer_shows_the_address_to_any_role(world: World, role: str) -> None:
    client = Client()
    login(client, staff_for(role, world))
    for url in pages(world):
        response = client.get(url)
        editing = "/edit/" in url
        expected = 200 if not editing or role == Role.SYSTEM_ADMIN else 404
        assert response.status_code == expected, (url, response.status_code)
        assert CANARY_FRAGMENT.encode() not in response.content, (role, url)
    # The agency page of a shelter opens for every role, without the address.
    page = client.get(reverse("network:agency", args=[world.shelter.pk]))
    assert page.status_code == 200
    assert "Centre Amal" in page.content.decode()


@pytest.mark.parametrize("role", list(Role))
def test_only_roles_that_take_survivors_there_can_reveal_it_and_each_reveal_is_audited(
    world: World, role: str
) -> None:
    client = Client()
    login(client, staff_for(role, world))
    url = reverse("network:reveal_address", args=[world.shelter.pk])
    response = client.post(url, {"reason": "Placement d'urgence ce soir"})
    events = AuditEvent.objects.filter(action="network.shelter_address.reveal")
    if role in MAY_SEE:
        assert response.status_code == 200
        assert CANARY in response.content.decode()
        assert response["Cache-Control"].startswith("no-store")
        event = events.get()
        assert event.reason == "Placement d'urgence ce soir"
        assert event.target_id == str(world.shelter.pk)
        assert CANARY_FRAGMENT not in str(event.metadata)
    else:
        assert response.status_code == 403
        assert CANARY_FRAGMENT.encode() not in response.content
        assert not events.exists()
    api = client.post(
        f"/api/v1/network/agencies/{world.shelter.pk}/address",
        {"reason": "Placement d'urgence ce soir"},
        content_type="application/json",
    )
    if role in MAY_SEE:
        assert api.status_code == 200
        assert api.json() == {"address": CANARY}
        assert events.count() == 2
    else:
        assert api.status_code == 403
        assert CANARY_FRAGMENT.encode() not in api.content
        assert not events.exists()


def test_a_reveal_without_a_fresh_second_factor_asks_for_step_up_and_reveals_nothing(
    world: World,
) -> None:
    client = Client()
    login(client, staff_for(Role.UNIT_OFFICER, world), step_up_fresh=False)
    response = client.post(
        reverse("network:reveal_address", args=[world.shelter.pk]),
        {"reason": "Placement d'urgence ce soir"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:step_up"))
    assert CANARY_FRAGMENT.encode() not in response.content
    assert not AuditEvent.objects.filter(action="network.shelter_address.reveal").exists()


def test_a_reveal_needs_a_reason(world: World) -> None:
    client = Client()
    login(client, staff_for(Role.UNIT_CHIEF, world))
    response = client.post(
        reverse("network:reveal_address", args=[world.shelter.pk]), {"reason": "x"}
    )
    assert response.status_code == 422
    assert CANARY_FRAGMENT.encode() not in response.content


def test_an_api_token_never_counts_as_a_fresh_second_factor(world: World) -> None:
    staff = staff_for(Role.UNIT_CHIEF, world)
    actor = actor_for_user(staff.user, membership=staff.membership, recently_verified=True)
    _token, secret = tokens.token_create(
        actor=actor, name="bridge", scopes=["network:read"], expires_in_days=30
    )
    client = Client()
    listing = client.get(
        "/api/v1/network/agencies?kind=shelter", headers={"Authorization": f"Bearer {secret}"}
    )
    assert listing.status_code == 200
    assert listing.json()["items"][0]["latitude"] is None
    response = client.post(
        f"/api/v1/network/agencies/{world.shelter.pk}/address",
        {"reason": "Placement d'urgence ce soir"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "step_up_required"
    assert CANARY_FRAGMENT.encode() not in response.content


def test_the_shelters_own_staff_may_reveal_its_address_but_not_another_shelters(
    world: World, geo: dict[str, Commune], admin: Actor
) -> None:
    own = make_actor("service_provider", agency_id=world.shelter.pk, verified=True)
    assert (
        services.shelter_address_reveal(
            actor=own, agency_id=world.shelter.pk, reason="Accueil d'une femme orientée"
        )
        == CANARY
    )
    other = agency(admin, AgencyKind.SHELTER, geo["Agadir"], address="Ailleurs 1")
    with pytest.raises(Exception, match="not allowed"):
        services.shelter_address_reveal(
            actor=own, agency_id=other.pk, reason="Accueil d'une femme orientée"
        )


def test_the_administrator_writes_a_shelter_address_but_cannot_read_it_back(
    world: World, admin: Actor
) -> None:
    assert not policies.may_reveal_shelter_address(admin, shelter_id=world.shelter.pk)
    with pytest.raises(Exception, match="not allowed"):
        services.shelter_address_reveal(
            actor=admin, agency_id=world.shelter.pk, reason="Je veux vérifier"
        )
    client = Client()
    login(client, make_staff(Role.SYSTEM_ADMIN))
    form = client.get(reverse("network:agency_edit", args=[world.shelter.pk]))
    assert form.status_code == 200
    assert CANARY_FRAGMENT.encode() not in form.content


def test_revealing_something_that_is_not_a_shelter_is_not_found(world: World) -> None:
    with pytest.raises(AgencyNotFound):
        services.shelter_address_reveal(
            actor=make_actor("unit_chief", verified=True),
            agency_id=world.unit.pk,
            reason="Placement d'urgence ce soir",
        )


def test_the_address_is_ciphertext_in_the_database(world: World) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT address, protected_address FROM network_agency WHERE id = %s",
            [world.shelter.pk],
        )
        address, sealed = cursor.fetchone()
    assert address == ""
    assert CANARY_FRAGMENT.encode() not in bytes(sealed)


def test_the_role_names_of_the_network_policies_are_the_accounts_roles() -> None:
    assert set(Role.values) == policies.ALL_ROLES
    assert set(Role.values) >= policies.SHELTER_ADDRESS_ROLES
