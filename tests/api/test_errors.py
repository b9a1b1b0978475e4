"""Every failure answers in one JSON shape, in the client's language, revealing nothing."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from ninja.errors import Throttled
from pytest_django.fixtures import Settings

from himaya.core.api_errors import MalformedBody, Unauthenticated, handle_api_exception
from tests.api.conftest import bearer, make_token
from tests.api.helpers import Staff

pytestmark = pytest.mark.urls("tests.api.urls")

ARABIC = re.compile(r"[\u0600-\u06FF]")


@pytest.fixture
def token(officer: Staff) -> str:
    return make_token(officer, scopes=["cases:read"])[1]


def _post_raw(client: Client, path: str, body: bytes, token: str, language: str) -> Any:
    return client.generic(
        "POST",
        path,
        body,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language,
        headers=bearer(token),
    )


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert {"code", "message", "fields"} <= set(error)
    return error


def _in(language: str, message: str | Promise) -> str:
    with translation.override(language):
        return str(message)


def test_malformed_json_is_a_400_with_a_translated_message(api_client: Client, token: str) -> None:
    english = _in("en", MalformedBody.default_message)
    for language in ("en", "fr", "ar"):
        response = _post_raw(api_client, "/api/v1/tokens", b'{"name": "x",', token, language)
        assert response.status_code == 400
        error = _error(response)
        assert error["code"] == "malformed_body"
        assert error["message"] == _in(language, MalformedBody.default_message)
        assert response["Content-Language"] == language
        if language != "en":
            # Really translated, not the English text passed through.
            assert error["message"] != english
    assert ARABIC.search(_in("ar", MalformedBody.default_message))


def test_a_body_that_is_not_utf8_is_malformed_too(api_client: Client, token: str) -> None:
    response = _post_raw(api_client, "/api/v1/tokens", b'{"name": "\xff"}', token, "en")
    assert response.status_code == 400
    assert _error(response)["code"] == "malformed_body"


def test_an_oversized_body_is_a_413(api_client: Client, token: str, settings: Settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = b'{"name": "' + b"x" * 4096 + b'"}'
    response = _post_raw(api_client, "/api/v1/tokens", body, token, "fr")
    assert response.status_code == 413
    error = _error(response)
    assert error["code"] == "body_too_large"
    assert "2" in str(error["message"])  # the limit, in kilobytes


def test_validation_errors_are_a_422_naming_each_field(api_client: Client, token: str) -> None:
    response = api_client.post(
        "/api/test/echo",
        {"title": "far too long a title", "count": 0},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        headers=bearer(token),
    )
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "invalid_input"
    assert error["fields"] == {
        "title": ["Enter at most 10 characters."],
        "count": ["Ensure this value is greater than or equal to 1."],
    }


def test_validation_messages_are_translated(api_client: Client, token: str) -> None:
    response = api_client.post(
        "/api/test/echo",
        {"count": "many"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr-MA,fr;q=0.9,en;q=0.5",
        headers=bearer(token),
    )
    assert response.status_code == 422
    required = _in("fr", gettext_lazy("This field is required."))
    whole = _in("fr", gettext_lazy("Enter a whole number."))
    assert required != "This field is required."
    assert _error(response)["fields"] == {"title": [required], "count": [whole]}
    arabic = api_client.post(
        "/api/test/echo",
        {"count": 2},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="ar",
        headers=bearer(token),
    )
    [message] = _error(arabic)["fields"]["title"]
    assert ARABIC.search(message)


def test_invalid_query_parameters_are_a_422(api_client: Client, token: str) -> None:
    response = api_client.get("/api/v1/tokens", {"limit": "lots"}, headers=bearer(token))
    assert response.status_code == 422
    assert set(_error(response)["fields"]) == {"limit"}


def test_a_domain_error_keeps_its_status_code_and_fields(api_client: Client, token: str) -> None:
    response = api_client.get("/api/test/conflict", headers=bearer(token))
    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "conflict"
    assert error["fields"] == {"version": ["stale"]}


def test_an_unexpected_exception_is_a_500_with_only_the_request_id(
    api_client: Client, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="himaya.api"):
        response = api_client.get(
            "/api/test/boom", HTTP_ACCEPT_LANGUAGE="en", headers=bearer(token)
        )
    assert response.status_code == 500
    error = _error(response)
    assert error["code"] == "server_error"
    assert error["request_id"] == response["X-Request-Id"]
    assert response["X-Request-Id"] in str(error["message"])
    text = response.content.decode()
    assert "secret detail" not in text
    assert "Traceback" not in text
    assert "RuntimeError" not in text
    # The details went to the server log instead.
    assert any(
        record.exc_info and "secret detail" in str(record.exc_info[1]) for record in caplog.records
    )


def test_an_unknown_route_is_a_json_404(api_client: Client, db: None) -> None:
    for path in ("/api/v1/nothing-here", "/api/v1/", "/api/v1/tokens/1/extra"):
        response = api_client.get(path, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404, path
        assert response["Content-Type"].startswith("application/json")
        assert _error(response)["code"] == "not_found"


def test_a_wrong_method_is_a_json_405(api_client: Client, token: str) -> None:
    response = api_client.put("/api/v1/tokens", headers=bearer(token))
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_the_first_of_our_languages_in_accept_language_wins(api_client: Client, db: None) -> None:
    english = api_client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="de, en;q=0.3")
    french = api_client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="de, fr;q=0.9, en;q=0.3")
    assert english["Content-Language"] == "en"
    assert french["Content-Language"] == "fr"
    assert _error(french)["message"] == _in("fr", Unauthenticated.default_message)
    assert _error(french)["message"] != _error(english)["message"]


def test_an_endpoint_rate_limit_is_a_429_with_retry_after(rf: RequestFactory) -> None:
    # ninja passes its throttles' float waits despite the int annotation.
    response = handle_api_exception(rf.get("/api/v1/x"), Throttled(wait=2.3))  # type: ignore[arg-type]
    assert response.status_code == 429
    assert response["Retry-After"] == "3"
    assert json.loads(response.content)["error"]["code"] == "too_many_requests"
