"""The justice API: the same services and policies as the pages, scopes enforced, another
office's complaint the same 404 as a missing one, keyset pages, bounded queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.justice.models import Complaint, ProtectionMeasure
from tests.cases.api_helpers import bearer, post, token_for
from tests.cases.helpers import make_person
from tests.justice.helpers import forward, her_case, make_office, make_world, open_proceedings

pytestmark = pytest.mark.django_db

API = "/api/v1/justice"
RW = ("justice:read", "justice:write")


def test_a_unit_forwards_by_api_once_and_the_prosecutor_sees_it_in_the_queue(
    client: Client,
) -> None:
    world = make_world()
    case = her_case(world)
    unit_token = token_for(world.officer, *RW)
    first = post(client, f"{API}/cases/{case.pk}/forward", {}, bearer(unit_token))
    again = post(client, f"{API}/cases/{case.pk}/forward", {}, bearer(unit_token))
    assert first.status_code == 201, first.content
    assert again.status_code == 200
    assert first.json()["complaint"]["id"] == again.json()["complaint"]["id"]
    assert Complaint.objects.count() == 1

    prosecutor = bearer(token_for(world.prosecutor, *RW))
    queue = client.get(f"{API}/queue", headers=prosecutor)
    assert queue.status_code == 200
    assert [item["id"] for item in queue.json()["items"]] == [first.json()["complaint"]["id"]]


def test_forwarding_without_consent_answers_422_on_basis(client: Client) -> None:
    world = make_world()
    case = her_case(world, consent=False)
    response = post(
        client, f"{API}/cases/{case.pk}/forward", {}, bearer(token_for(world.officer, *RW))
    )
    assert response.status_code == 422
    assert "basis" in str(response.json())


def test_the_prosecutor_decides_sets_a_hearing_and_orders_a_measure(client: Client) -> None:
    world = make_world()
    complaint = forward(world)
    headers = bearer(token_for(world.prosecutor, *RW))
    base = f"{API}/complaints/{complaint.pk}"
    assert (
        post(client, f"{base}/decisions", {"kind": "open_proceedings"}, headers).status_code == 201
    )
    when = (timezone.now() + timedelta(days=5)).isoformat()
    hearing = post(client, f"{base}/hearings", {"scheduled_at": when, "place": "TPI"}, headers)
    assert hearing.status_code == 201, hearing.content
    today = timezone.localdate()
    bad = post(
        client,
        f"{base}/measures",
        {
            "kind": "no_contact",
            "legal_basis": "pc_88_3",
            "authority": "prosecutor",
            "starts_on": today.isoformat(),
            "ends_on": (today - timedelta(days=1)).isoformat(),
        },
        headers,
    )
    assert bad.status_code == 422
    assert "ends_on" in str(bad.json())
    good = post(
        client,
        f"{base}/measures",
        {
            "kind": "no_approach",
            "distance_m": 200,
            "legal_basis": "pc_88_3",
            "authority": "prosecutor",
            "starts_on": today.isoformat(),
        },
        headers,
    )
    assert good.status_code == 201, good.content
    measure_id = good.json()["id"]
    breach = post(
        client, f"{API}/measures/{measure_id}/breaches", {"description": "At her door."}, headers
    )
    assert breach.status_code == 201
    detail = client.get(base, headers=headers)
    assert detail.status_code == 200
    body = detail.json()
    assert body["state"] == "proceedings"
    assert body["received"]["basis"] == "consent"
    assert "narrative" in body["received"]["groups"]
    assert len(body["measures"]) == 1
    assert len(body["breaches"]) == 1
    assert ProtectionMeasure.objects.count() == 1


def test_a_read_token_cannot_write(client: Client) -> None:
    world = make_world()
    complaint = forward(world)
    headers = bearer(token_for(world.prosecutor, "justice:read"))
    response = post(
        client, f"{API}/complaints/{complaint.pk}/decisions", {"kind": "open_proceedings"}, headers
    )
    assert response.status_code == 403


def test_another_offices_complaint_is_the_same_404_as_a_missing_one(client: Client) -> None:
    world = make_world()
    complaint = forward(world)
    other = bearer(token_for(make_person(Role.PROSECUTOR, make_office()), *RW))
    foreign = client.get(f"{API}/complaints/{complaint.pk}", headers=other)
    missing = client.get(f"{API}/complaints/{complaint.pk + 999}", headers=other)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


def test_the_list_is_keyset_paginated_with_bounded_queries(client: Client) -> None:
    world = make_world()
    for _ in range(3):
        forward(world)
    headers = bearer(token_for(world.prosecutor, *RW))
    with CaptureQueriesContext(connection) as few:
        page = client.get(f"{API}/complaints?limit=2", headers=headers)
    assert page.status_code == 200
    assert len(page.json()["items"]) == 2
    cursor = page.json()["next_cursor"]
    rest = client.get(f"{API}/complaints", {"limit": 2, "cursor": cursor}, headers=headers)
    assert len(rest.json()["items"]) == 1
    for _ in range(4):
        forward(world)
    with CaptureQueriesContext(connection) as many:
        client.get(f"{API}/complaints?limit=2", headers=headers)
    assert len(many) == len(few)


def test_the_unit_reads_the_justice_status_of_its_case(client: Client) -> None:
    world = make_world()
    complaint = forward(world)
    open_proceedings(world, complaint)
    headers = bearer(token_for(world.chief, *RW))
    response = client.get(f"{API}/cases/{complaint.case_id}", headers=headers)
    assert response.status_code == 200
    assert response.json()["complaints"][0]["state"] == "proceedings"
    assert not response.json()["can_forward"]
