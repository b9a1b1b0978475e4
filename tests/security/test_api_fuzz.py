"""API fuzzing with schemathesis (SECURITY.md, check 2): every operation of the OpenAPI
schema, with tokens of several roles, against the real WSGI application and database.

For each operation schemathesis sends the schema's examples, boundary values of every
parameter (its coverage phase) and ``HIMAYA_FUZZ_EXAMPLES`` random requests (default 10),
both valid and deliberately invalid ones, and checks every answer:

* no 5xx (``not_a_server_error``);
* a documented answer matches its schema (``response_schema_conformance``), content type
  and headers included;
* an invalid request is rejected with a 4xx (``negative_data_rejection``), a request without
  the token is refused (``ignored_auth``), an undeclared method answers 405;
* every error, whatever its status, is in the API's one shape
  ``{"error": {"code", "message", "fields"}}`` (our own check below).

Two of schemathesis' checks are off, on purpose: ``status_code_conformance`` (the schema
lists each operation's successes; its errors, 401/403/404/409/422/429, share the one shape
the check above enforces instead) and ``positive_data_acceptance`` (a request valid by the
schema may still be refused by the policy -- a focal point opening a case -- or by a rule the
schema cannot express, such as a date in the future).

``HIMAYA_FUZZ_EXAMPLES=200 make test PYTEST_ARGS=tests/security/test_api_fuzz.py`` fuzzes
harder; ``HIMAYA_FUZZ_SEED=<n>`` explores other inputs (runs are deterministic otherwise, so
a failure in CI reproduces locally).

Shown to catch bugs. A real one first: POSTs with a malformed id (``/alerts/null,null/read``)
fell through to the API's catch-all, which was not CSRF-exempt, and got Django's HTML CSRF
page instead of a JSON 404 -- 64 failures of the error-shape check over 16 POST operations,
fixed in ``himaya.api`` and pinned by the last test below. Then deliberate ones, each applied
for one run by a throw-away pytest plugin that monkeypatched one function (no shared source
file touched), on ``GET /api/v1/network/agencies`` with the unit chief's token:

* ``network.api._summary`` answering ``"latitude": "north"``: "ST101 Server error" (ninja
  validates answers against the same schema, so a schema violation surfaces as a 500);
* ``network.selectors.directory_search`` raising ``ValueError`` for a query with a digit:
  "ST101 Server error";
* ``core.api_errors.error_body`` answering ``{"detail": ...}``: "ST901 Custom check failed:
  errors_in_the_one_api_shape -- no 'error' object".

Each run passed again once the plugin was removed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from schemathesis.config import SchemathesisConfig

from himaya.accounts import tokens
from himaya.accounts.roles import Role
from himaya.accounts.scopes import scopes_allowed_for_role
from himaya.wsgi import application
from tests.security.support import World, english_client, make_principal, openapi_schema

EXAMPLES = int(os.environ.get("HIMAYA_FUZZ_EXAMPLES", "10"))
SEED = os.environ.get("HIMAYA_FUZZ_SEED")

#: Roles whose tokens fuzz the API: a unit chief (every case operation is hers to try), a
#: focal point (refused them), the administrator (the only ``admin`` scope). Which role may do
#: what is the matrix's work (test_authz_matrix.py); here, robustness.
FUZZ_ROLES = (Role.UNIT_CHIEF, Role.FOCAL_POINT, Role.SYSTEM_ADMIN)

CONFIG = SchemathesisConfig.from_dict(
    {
        **({"seed": int(SEED)} if SEED else {}),
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "deterministic": SEED is None,
            # Nothing written next to the repository (.hypothesis/).
            "database": "none",
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "status_code_conformance": {"enabled": False},
            "positive_data_acceptance": {"enabled": False},
        },
    }
)

schema = schemathesis.openapi.from_dict(openapi_schema(), config=CONFIG)
# As ``schemathesis.openapi.from_wsgi`` does after fetching the schema: requests go to the
# WSGI application in-process (the schema is the one /api/v1/openapi.json serves).
schema.app = application


@schemathesis.check
def errors_in_the_one_api_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx and 5xx answer is ``{"error": {"code", "message", "fields"}}`` in JSON."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/json"), f"error answered as {content_type!r}"
    error = response.json().get("error")
    assert isinstance(error, dict), "no 'error' object"
    assert isinstance(error.get("code"), str), "error without a code"
    assert isinstance(error.get("message"), str), "error without a message"
    assert isinstance(error.get("fields"), dict), "error without fields"
    return None


@contextmanager
def _wsgi_in_the_test_transaction() -> Iterator[None]:
    """The WSGI handler closes the database connection after each request, which would end
    the test's transaction (PostgreSQL; SQLite's in-memory database ignores the close).
    Django's test client disconnects the same handler around each of its own requests -- and
    connects it again after, so this must start after the last request of the set-up."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture(params=FUZZ_ROLES)
def fuzz_token(request: pytest.FixtureRequest, db: None, settings: Any) -> Iterator[str]:
    """A token with every scope the role may hold, in a network with real agencies (so the
    directory answers with items to check) and another unit's case."""
    # ``ignored_auth`` sends wrong tokens on purpose; they must not lock the test out.
    settings.API_AUTH_MAX_FAILURES = 1_000_000
    world = World()
    world.foreign_case  # noqa: B018 -- made for its side effect: a case in the database
    world.shelter  # noqa: B018
    principal = make_principal(str(request.param))
    _row, plaintext = tokens.token_create(
        actor=principal.actor,
        name="fuzz",
        scopes=scopes_allowed_for_role(principal.role),
        expires_in_days=1,
    )
    with _wsgi_in_the_test_transaction():
        yield plaintext


@pytest.mark.slow
@schema.parametrize()
@hypothesis.settings(
    suppress_health_check=[
        # The token and the world are made once per operation and role, on purpose.
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
    ],
    deadline=None,
)
def test_the_api_survives_fuzzing(case: Any, fuzz_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_token}"})


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "path", ["/api/v1/cases/alerts/null,null/read", "/api/v1/cases/x%0Ay/evidence/z/file"]
)
def test_an_unknown_api_address_answers_a_json_404_whatever_the_method(
    method: str, path: str
) -> None:
    """Found by the fuzzing above: a POST with a malformed id fell through to the catch-all,
    which was not CSRF-exempt, and got Django's HTML CSRF page; a path with a line break
    matched no API pattern at all and got the site's HTML 404."""
    response = english_client().generic(method, path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"
