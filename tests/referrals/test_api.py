"""The referrals API: the same policies as the pages through tokens with referrals scopes,
keyset pages, "what you received and why", and refusals identical to a missing referral."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from himaya.accounts.roles import Role
from himaya.cases.models import CaseFile
from himaya.referrals.models import Referral
from himaya.referrals.states import ReferralState
from tests.cases.api_helpers import bearer, post, token_for
from tests.cases.helpers import Staff, make_person
from tests.referrals.helpers import (
    NARRATIVE,
    SURVIVOR_NAME,
    case_with_consent,
    make_world,
    refer_first_contact,
    refer_to_shelter,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/referrals"
READ = "referrals:read"
WRITE = "referrals:write"


def _staff(role: str, agency: object) -> Staff:
    return make_person(role, agency)  # type: ignore[arg-type]


def test_a_focal_point_refers_her_through_the_api() -> None:
    world = make_world()
    focal = _staff(Role.FOCAL_POINT, world.station)
    token = token_for(focal, READ, WRITE)
    response = post(
        Client(),
        f"{API}/first-contacts",
        {"full_name": SURVIVOR_NAME, "immediate_danger": "declined", "declined": ["phone"]},
        bearer(token),
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "to_unit"
    assert data["to_agency"]["id"] == world.unit.pk
    assert data["first_contact"]["full_name"] == SURVIVOR_NAME
    listed = Client().get(f"{API}/sent", headers=bearer(token))
    assert [item["id"] for item in listed.json()["items"]] == [data["id"]]


def test_the_unit_accepts_through_the_api_and_the_case_opens() -> None:
    world = make_world()
    referral = refer_first_contact(world)
    officer = _staff(Role.UNIT_OFFICER, world.unit)
    token = token_for(officer, READ, WRITE)
    queue = Client().get(f"{API}/incoming", headers=bearer(token)).json()
    assert [item["id"] for item in queue["items"]] == [str(referral.pk)]
    accepted = post(Client(), f"{API}/{referral.pk}/accept", {}, bearer(token))
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "accepted"
    assert accepted.json()["case_id"] == str(CaseFile.objects.get().pk)
    again = post(Client(), f"{API}/{referral.pk}/accept", {}, bearer(token))
    assert again.status_code == 409


def test_the_provider_learns_what_it_received_and_why() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    provider = _staff(Role.SERVICE_PROVIDER, world.shelter)
    token = token_for(provider, READ, "cases:read")
    data = Client().get(f"{API}/{referral.pk}", headers=bearer(token)).json()
    assert data["received"]["groups"] == ["identity", "contact"]
    assert data["received"]["basis"] == "consent"
    assert data["received"]["consent_purpose"] == "share_shelter"
    # Her file itself is read through the cases API, cut to the referral's grant.
    file = Client().get(f"/api/v1/cases/{case.pk}", headers=bearer(token)).json()
    assert file["survivor"]["full_name"] == SURVIVOR_NAME
    assert "narrative" not in file
    assert NARRATIVE not in str(file)


def test_a_token_without_the_referrals_scope_is_refused() -> None:
    world = make_world()
    officer = _staff(Role.UNIT_OFFICER, world.unit)
    token = token_for(officer, "cases:read")
    assert Client().get(f"{API}/incoming", headers=bearer(token)).status_code == 403


def test_a_referral_not_received_answers_like_a_missing_one() -> None:
    world = make_world()
    case = case_with_consent(world)
    referral = refer_to_shelter(world, case)
    outsider = _staff(Role.SERVICE_PROVIDER, world.legal_aid)
    token = token_for(outsider, READ, WRITE)
    foreign = Client().get(f"{API}/{referral.pk}", headers=bearer(token))
    missing = Client().get(f"{API}/{uuid.uuid4()}", headers=bearer(token))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    refused = post(Client(), f"{API}/{referral.pk}/accept", {}, bearer(token))
    assert refused.status_code == 404
    assert Referral.objects.get(pk=referral.pk).state == ReferralState.SENT


def test_the_unit_refers_a_case_and_a_duplicate_gets_a_clear_conflict() -> None:
    world = make_world()
    case = case_with_consent(world)
    officer = _staff(Role.UNIT_OFFICER, world.unit)
    token = token_for(officer, READ, WRITE)
    body = {"agency_id": world.shelter.pk, "need": "shelter", "scope": ["identity"]}
    first = post(Client(), f"{API}/cases/{case.pk}", body, bearer(token))
    assert first.status_code == 201, first.content
    second = post(Client(), f"{API}/cases/{case.pk}", body, bearer(token, language="en"))
    assert second.status_code == 409
    assert "already referred" in second.json()["error"]["message"]
    listed = Client().get(f"{API}/cases/{case.pk}", headers=bearer(token)).json()
    assert len(listed["items"]) == 1


def test_referring_without_consent_is_refused_with_a_reason() -> None:
    world = make_world()
    case = case_with_consent(world, purposes=())
    officer = _staff(Role.UNIT_OFFICER, world.unit)
    token = token_for(officer, READ, WRITE)
    body = {"agency_id": world.shelter.pk, "need": "shelter", "scope": ["identity"]}
    response = post(Client(), f"{API}/cases/{case.pk}", body, bearer(token, language="en"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "consent_missing"
    assert not Referral.objects.exists()


def test_incoming_pages_by_keyset() -> None:
    world = make_world()
    for _ in range(3):
        refer_first_contact(world)
    officer = _staff(Role.UNIT_OFFICER, world.unit)
    token = token_for(officer, READ)
    first = Client().get(f"{API}/incoming", {"limit": 2}, headers=bearer(token)).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    rest = (
        Client()
        .get(f"{API}/incoming", {"limit": 2, "cursor": first["next_cursor"]}, headers=bearer(token))
        .json()
    )
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    ids = {i["id"] for i in first["items"]} | {i["id"] for i in rest["items"]}
    assert len(ids) == 3
