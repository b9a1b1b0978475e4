"""The staff pages for one's own tokens: list, create (shown once), revoke."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.fixtures import Settings

from himaya.accounts import tokens
from himaya.accounts.models import ApiToken
from tests.api.conftest import make_token
from tests.api.helpers import Staff, login_staff


def test_the_token_page_needs_a_verified_sign_in(api_client: Client, officer: Staff) -> None:
    anonymous = api_client.get(reverse("accounts:tokens"))
    assert anonymous.status_code == 302
    login_staff(api_client, officer, otp_verified=False)
    password_only = api_client.get(reverse("accounts:tokens"))
    assert password_only.status_code == 302
    assert reverse("accounts:login") in password_only["Location"]


def test_creating_a_token_shows_the_plaintext_once(api_client: Client, officer: Staff) -> None:
    login_staff(api_client, officer)
    response = api_client.post(
        reverse("accounts:tokens"),
        {"name": "CAD bridge", "scopes": ["cases:read", "stats:read"], "expires_in_days": "14"},
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    html = response.content.decode()
    start = html.index("hmy_")
    plaintext = html[start : html.index('"', start)]
    match = tokens.token_authenticate(plaintext)
    assert match is not None
    assert match.token.pk == token.pk
    assert token.scopes == ["cases:read", "stats:read"]
    assert "no-store" in response["Cache-Control"]

    listing = api_client.get(reverse("accounts:tokens")).content.decode()
    assert token.prefix in listing
    assert plaintext not in listing
    assert plaintext.split("_", 2)[2] not in str(dict(api_client.session))


def test_the_form_refuses_scopes_the_role_cannot_grant(api_client: Client, officer: Staff) -> None:
    login_staff(api_client, officer)
    page = api_client.get(reverse("accounts:tokens")).content.decode()
    assert 'value="cases:read"' in page
    assert 'value="admin"' not in page
    response = api_client.post(
        reverse("accounts:tokens"), {"name": "x", "scopes": ["admin"], "expires_in_days": "5"}
    )
    assert response.status_code == 200
    assert not ApiToken.objects.exists()


def test_the_form_refuses_an_expiry_beyond_the_maximum(
    api_client: Client, officer: Staff, settings: Settings
) -> None:
    settings.API_TOKEN_MAX_DAYS = 10
    login_staff(api_client, officer)
    response = api_client.post(
        reverse("accounts:tokens"),
        {"name": "x", "scopes": ["cases:read"], "expires_in_days": "11"},
    )
    assert response.status_code == 200
    assert not ApiToken.objects.exists()


def test_revoking_from_the_page(api_client: Client, officer: Staff, colleague: Staff) -> None:
    mine, plaintext = make_token(officer)
    theirs, _ = make_token(colleague)
    login_staff(api_client, officer)

    response = api_client.post(reverse("accounts:token_revoke", args=[mine.pk]))
    assert response.status_code == 302
    assert tokens.token_authenticate(plaintext) is None

    refused = api_client.post(reverse("accounts:token_revoke", args=[theirs.pk]))
    assert refused.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_the_page_lists_only_ones_own_tokens(
    api_client: Client, officer: Staff, colleague: Staff
) -> None:
    mine, _ = make_token(officer, name="mine")
    theirs, _ = make_token(colleague, name="theirs")
    login_staff(api_client, officer)
    html = api_client.get(reverse("accounts:tokens")).content.decode()
    assert mine.prefix in html
    assert theirs.prefix not in html


def test_the_token_page_costs_the_same_queries_for_2_or_12_tokens(
    api_client: Client, officer: Staff
) -> None:
    login_staff(api_client, officer)
    counts = []
    for extra in (2, 10):
        for i in range(extra):
            make_token(officer, name=f"n{i}")
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get(reverse("accounts:tokens"))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
