"""Who may call the API: tokens with scopes, verified sessions with CSRF, nobody else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from himaya.accounts import tokens
from himaya.accounts.models import ApiToken
from tests.api.conftest import actor_of, bearer, make_token
from tests.api.helpers import Staff, login_staff

pytestmark = pytest.mark.urls("tests.api.urls")


def _unauthenticated_answers(client: Client, officer: Staff) -> dict[str, tuple[int, bytes]]:
    expired, expired_text = make_token(officer)
    ApiToken.objects.filter(pk=expired.pk).update(
        created_at=timezone.now() - timedelta(days=10), expires_at=timezone.now()
    )
    revoked, revoked_text = make_token(officer)
    tokens.token_revoke(actor=actor_of(officer), token_id=revoked.pk)
    _valid, valid_text = make_token(officer)
    wrong_secret = valid_text[:-4] + ("AAAA" if not valid_text.endswith("AAAA") else "BBBB")
    presented = {
        "wrong": bearer("hmy_aaaaaaaaaaaa_" + "x" * 43),
        "garbage": bearer("not-a-token"),
        "wrong_secret": bearer(wrong_secret),
        "expired": bearer(expired_text),
        "revoked": bearer(revoked_text),
        "none": {},
    }
    answers = {}
    for label, headers in presented.items():
        response = client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="en", headers=headers)
        answers[label] = (response.status_code, response.content)
    # And a disabled account's otherwise valid token.
    officer.user.is_active = False
    officer.user.save()
    response = client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="en", headers=bearer(valid_text))
    answers["disabled"] = (response.status_code, response.content)
    return answers


def test_wrong_expired_revoked_and_disabled_tokens_get_one_identical_401(
    api_client: Client, officer: Staff
) -> None:
    answers = _unauthenticated_answers(api_client, officer)
    assert {status for status, _body in answers.values()} == {401}
    assert len({body for _status, body in answers.values()}) == 1
    body = api_client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["error"]["code"] == "unauthenticated"


def test_a_401_says_how_to_authenticate(api_client: Client, db: None) -> None:
    response = api_client.get("/api/v1/tokens")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_without_the_scope_is_refused_with_403(api_client: Client, officer: Staff) -> None:
    _t, reader = make_token(officer, scopes=["cases:read"])
    allowed = api_client.get("/api/test/cases", headers=bearer(reader))
    refused = api_client.post("/api/test/cases", headers=bearer(reader))
    assert allowed.status_code == 200
    assert allowed.json() == {"user_id": officer.user.pk}
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "insufficient_scope"
    assert "cases:write" in error["message"]


def test_a_failing_bearer_token_does_not_fall_back_to_the_session(
    api_client: Client, officer: Staff
) -> None:
    login_staff(api_client, officer)
    response = api_client.get("/api/v1/me", headers=bearer("hmy_aaaaaaaaaaaa_" + "x" * 43))
    assert response.status_code == 401


def test_a_verified_session_may_call_the_api_without_scopes(
    api_client: Client, officer: Staff
) -> None:
    login_staff(api_client, officer)
    assert api_client.get("/api/test/cases").status_code == 200
    assert api_client.post("/api/test/cases").status_code == 200


def test_a_session_without_the_second_factor_is_not_accepted(
    api_client: Client, officer: Staff
) -> None:
    login_staff(api_client, officer, otp_verified=False)
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_disabled_users_session_is_not_accepted(api_client: Client, officer: Staff) -> None:
    login_staff(api_client, officer)
    officer.user.is_active = False
    officer.user.save()
    assert api_client.get("/api/v1/me").status_code == 401


def test_unsafe_methods_through_a_session_need_the_csrf_token(officer: Staff) -> None:
    client = Client(enforce_csrf_checks=True)
    login_staff(client, officer)
    # Reading needs no CSRF token.
    assert client.get("/api/v1/me").status_code == 200
    without = client.post("/api/test/cases")
    assert without.status_code == 403
    assert without.json()["error"]["code"] == "csrf_failed"

    client.get("/api/v1/docs")  # the docs page hands out the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    with_token = client.post("/api/test/cases", HTTP_X_CSRFTOKEN=csrf)
    assert with_token.status_code == 200


def test_tokens_need_no_csrf_token(officer: Staff) -> None:
    client = Client(enforce_csrf_checks=True)
    _t, writer = make_token(officer, scopes=["cases:write"])
    assert client.post("/api/test/cases", headers=bearer(writer)).status_code == 200


def test_an_anonymous_post_is_401_not_a_csrf_error(db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/test/cases")
    assert response.status_code == 401


def test_repeated_failures_from_one_address_are_refused_for_a_while(
    officer: Staff, settings: Settings
) -> None:
    settings.API_AUTH_MAX_FAILURES = 3
    _t, valid = make_token(officer)
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    other = Client(REMOTE_ADDR="198.51.100.7")
    wrong = bearer("hmy_aaaaaaaaaaaa_" + "y" * 43)

    statuses = [attacker.get("/api/v1/me", headers=wrong).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    blocked = attacker.get("/api/v1/me", headers=bearer(valid))
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_attempts"
    assert int(blocked["Retry-After"]) > 0

    # Another address is unaffected, and a forged X-Forwarded-For does not help.
    assert other.get("/api/v1/me", headers=bearer(valid)).status_code == 200
    forged = attacker.get("/api/v1/me", HTTP_X_FORWARDED_FOR="192.0.2.1", headers=bearer(valid))
    assert forged.status_code == 429


def test_the_failure_window_ends(officer: Staff, settings: Settings) -> None:
    settings.API_AUTH_MAX_FAILURES = 1
    settings.API_AUTH_WINDOW_SECONDS = 60
    tokens.api_auth_register_failure(address="203.0.113.9")
    assert tokens.api_auth_retry_after(address="203.0.113.9") is not None
    later = timezone.now() + timedelta(seconds=61)
    assert tokens.api_auth_retry_after(address="203.0.113.9", now=later) is None


def test_every_operation_requires_authentication_unless_listed_public() -> None:
    from himaya.api import api

    public = {("get", "/api/v1/health")}
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method, spec in methods.items():
            if (method, path) in public:
                assert "security" not in spec
            else:
                assert spec.get("security"), f"{method.upper()} {path} is not protected"
