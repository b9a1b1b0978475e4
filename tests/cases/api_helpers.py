"""Helpers for the case-file API tests: real tokens for real staff, and an intake as JSON.

    officer = make_person(Role.UNIT_OFFICER, unit)
    client.post(INTAKE, intake_json(), content_type="application/json",
                headers=token_headers(officer, "cases:write", key="k" * 16))

Tokens are made by the accounts service (``token_create``), exactly as the token page does.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from django.test import Client

from himaya.accounts import tokens
from tests.cases.helpers import Staff, days_ago

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

API = "/api/v1/cases"
INTAKE = f"{API}/intake"
READ = "cases:read"
WRITE = "cases:write"


def token_for(staff: Staff, *scopes: str) -> str:
    """A personal access token of ``staff`` (as the membership it acts for) with ``scopes``."""
    _token, plaintext = tokens.token_create(
        actor=staff.actor,
        name="Integration under test",
        scopes=list(scopes) or [READ, WRITE],
        expires_in_days=30,
    )
    return plaintext


def bearer(token: str, *, key: str | None = None, language: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    if language is not None:
        headers["Accept-Language"] = language
    return headers


def new_key() -> str:
    return uuid.uuid4().hex


def intake_json(**overrides: Any) -> dict[str, Any]:
    """A complete, valid intake as an integration sends it."""
    body: dict[str, Any] = {
        "channel": "walk_in",
        "survivor": {
            "full_name": "Amina Tazi",
            "phone": "0612345678",
            "cin": "BK123456",
            "date_of_birth": "1990-05-01",
            "address": "12 rue des Orangers",
            "declined": ["residence_commune"],
        },
        "incidents": [{"occurred_on": days_ago(3).isoformat(), "forms": ["physical"]}],
        "perpetrators": [{"relationship": "spouse", "full_name": "Karim Tazi"}],
        "dependants": [{"first_name": "Yasmine", "age": 6}],
        "consents": [{"purpose": "share_shelter", "granted": True, "scope": ["incidents"]}],
        "narrative": "He hit me in the kitchen.",
        "interview": {"private_room": "yes", "interviewer_gender": "woman"},
    }
    body.update(overrides)
    return body


def post(client: Client, path: str, body: object, headers: dict[str, str]) -> Response:
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def open_via_api(client: Client, token: str, **overrides: Any) -> dict[str, Any]:
    response = post(client, INTAKE, intake_json(**overrides), bearer(token, key=new_key()))
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body
