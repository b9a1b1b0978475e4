"""Personal access tokens: created once, stored as a digest, revoked, listed, audited."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.fixtures import Settings

from himaya.accounts import tokens
from himaya.accounts.models import ApiToken
from himaya.accounts.roles import Role
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.core.models import AuditEvent
from tests.api.conftest import actor_of, bearer, make_token
from tests.api.helpers import Staff, login_staff, make_staff


def test_a_created_token_authenticates_as_its_membership(officer: Staff) -> None:
    token, plaintext = make_token(officer, scopes=["cases:read", "referrals:read"])

    match = tokens.token_authenticate(plaintext)

    assert match is not None
    assert match.token.pk == token.pk
    assert match.actor.user_id == officer.user.pk
    assert match.actor.membership_id == officer.membership.pk
    assert match.actor.agency_id == officer.membership.agency_id
    assert match.actor.role == Role.UNIT_OFFICER
    assert match.actor.recently_verified is False
    assert match.scopes == {"cases:read", "referrals:read"}
    assert plaintext.startswith(f"hmy_{token.prefix}_")


def test_the_token_is_read_as_the_orm_reads_it_with_its_owner_and_membership(
    officer: Staff,
) -> None:
    """token_authenticate reads the token, her account and membership in one hand-written
    statement: every field must come back as select_related gives it (types included:
    aware datetimes, JSON lists, booleans on SQLite), and the relations need no query."""
    _token, plaintext = make_token(officer, scopes=["cases:read"])
    tokens.token_authenticate(plaintext)  # the first use stamps last_used_at
    with CaptureQueriesContext(connection) as captured:
        match = tokens.token_authenticate(plaintext)
        assert match is not None
        ours = [match.token, match.token.owner, match.token.membership]
    assert len(captured.captured_queries) == 1
    orm = ApiToken.objects.select_related("owner", "membership").get(pk=match.token.pk)
    for mine, theirs in zip(ours, [orm, orm.owner, orm.membership], strict=True):
        for field in type(theirs)._meta.concrete_fields:
            value, expected = getattr(mine, field.attname), getattr(theirs, field.attname)
            assert value == expected, field.name
            assert type(value) is type(expected), field.name
        assert not mine._state.adding
    assert match.token.last_used_at is not None
    assert match.token.last_used_at.tzinfo is not None


def test_the_plaintext_is_stored_nowhere_only_its_digest(officer: Staff) -> None:
    token, plaintext = make_token(officer)
    secret = plaintext.split("_", 2)[2]

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken WHERE id = %s", [token.pk])
        row = cursor.fetchone()
    stored = json.dumps([str(value) for value in row])
    assert secret not in stored
    assert plaintext not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored
    # Nor in the audit trail of its creation.
    events = AuditEvent.objects.filter(target_type="accounts.apitoken", target_id=str(token.pk))
    assert secret not in json.dumps([event.metadata for event in events])


def test_creating_and_revoking_are_audited(officer: Staff) -> None:
    token, _plaintext = make_token(officer)
    tokens.token_revoke(actor=actor_of(officer), token_id=token.pk)

    actions = list(
        AuditEvent.objects.filter(target_type="accounts.apitoken", target_id=str(token.pk))
        .order_by("sequence")
        .values_list("action", "actor_user_id", "membership_id")
    )
    assert actions == [
        ("api_token.create", officer.user.pk, officer.membership.pk),
        ("api_token.revoke", officer.user.pk, officer.membership.pk),
    ]


def test_a_revoked_token_no_longer_authenticates(officer: Staff) -> None:
    token, plaintext = make_token(officer)
    tokens.token_revoke(actor=actor_of(officer), token_id=token.pk)
    assert tokens.token_authenticate(plaintext) is None


def test_revoking_twice_records_one_revocation(officer: Staff) -> None:
    token, _plaintext = make_token(officer)
    first = tokens.token_revoke(actor=actor_of(officer), token_id=token.pk)
    second = tokens.token_revoke(actor=actor_of(officer), token_id=token.pk)
    assert first.revoked_at == second.revoked_at
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1


def test_an_expired_token_no_longer_authenticates(officer: Staff) -> None:
    token, plaintext = make_token(officer, days=1)
    assert tokens.token_authenticate(plaintext, now=token.expires_at) is None
    assert tokens.token_authenticate(plaintext, now=token.expires_at - timedelta(seconds=1))


def test_a_token_stops_with_its_membership_or_account(officer: Staff) -> None:
    _token, plaintext = make_token(officer)
    officer.membership.is_active = False
    officer.membership.save()
    assert tokens.token_authenticate(plaintext) is None

    officer.membership.is_active = True
    officer.membership.save()
    officer.user.is_active = False
    officer.user.save()
    assert tokens.token_authenticate(plaintext) is None


def test_someone_elses_token_cannot_be_revoked_and_looks_missing(
    officer: Staff, colleague: Staff
) -> None:
    token, plaintext = make_token(officer)
    with pytest.raises(NotFound):
        tokens.token_revoke(actor=actor_of(colleague), token_id=token.pk)
    with pytest.raises(NotFound):
        tokens.token_revoke(actor=actor_of(colleague), token_id=token.pk + 1000)
    assert tokens.token_authenticate(plaintext) is not None


def test_expiry_is_required_and_capped_by_setting(officer: Staff, settings: Settings) -> None:
    settings.API_TOKEN_MAX_DAYS = 30
    with pytest.raises(InvalidInput) as excinfo:
        make_token(officer, days=31)
    assert "expires_in_days" in excinfo.value.params["fields"]  # type: ignore[operator]
    with pytest.raises(InvalidInput):
        make_token(officer, days=0)
    token, _plaintext = make_token(officer, days=30)
    assert token.expires_at - token.created_at == timedelta(days=30)


def test_only_system_administrators_may_grant_the_admin_scope(officer: Staff) -> None:
    with pytest.raises(InvalidInput):
        make_token(officer, scopes=["admin"])
    admin = make_staff(Role.SYSTEM_ADMIN)
    token, _plaintext = make_token(admin, scopes=["admin", "cases:read"])
    assert token.scopes == ["cases:read", "admin"]


def test_unknown_or_no_scopes_are_refused(officer: Staff) -> None:
    with pytest.raises(InvalidInput):
        make_token(officer, scopes=["cases:delete"])
    with pytest.raises(InvalidInput):
        make_token(officer, scopes=[])


def test_a_token_cannot_create_another_token(officer: Staff) -> None:
    with pytest.raises(PermissionDenied):
        tokens.token_create(
            actor=actor_of(officer),
            name="child",
            scopes=["cases:read"],
            expires_in_days=5,
            authenticated_by="token",
        )
    assert not ApiToken.objects.exists()


def test_last_use_is_written_at_most_once_a_minute(officer: Staff) -> None:
    token, plaintext = make_token(officer)
    start = timezone.now()
    tokens.token_authenticate(plaintext, now=start)
    tokens.token_authenticate(plaintext, now=start + timedelta(seconds=30))
    token.refresh_from_db()
    assert token.last_used_at == start

    later = start + timedelta(seconds=61)
    tokens.token_authenticate(plaintext, now=later)
    token.refresh_from_db()
    assert token.last_used_at == later


def test_a_burst_of_requests_costs_no_write_within_the_minute(
    officer: Staff, django_assert_num_queries: object
) -> None:
    _token, plaintext = make_token(officer)
    tokens.token_authenticate(plaintext)
    with django_assert_num_queries(1):  # type: ignore[operator]
        tokens.token_authenticate(plaintext)


# --- Through the API ---------------------------------------------------------------------


def test_the_token_lifecycle_through_the_api(api_client: Client, officer: Staff) -> None:
    login_staff(api_client, officer)

    created = api_client.post(
        "/api/v1/tokens",
        {"name": "Bridge", "scopes": ["cases:read"], "expires_in_days": 7},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    plaintext = body["plaintext"]
    token_id = body["token"]["id"]
    assert body["token"]["scopes"] == ["cases:read"]
    assert body["token"]["active"] is True

    listed = Client().get("/api/v1/tokens", headers=bearer(plaintext))
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [token_id]
    assert "plaintext" not in listed.json()["items"][0]

    revoked = api_client.delete(f"/api/v1/tokens/{token_id}")
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False

    after = Client().get("/api/v1/me", headers=bearer(plaintext))
    assert after.status_code == 401


def test_a_token_cannot_mint_tokens_through_the_api(api_client: Client, officer: Staff) -> None:
    _token, plaintext = make_token(officer)
    response = api_client.post(
        "/api/v1/tokens",
        {"name": "child", "scopes": ["cases:read"], "expires_in_days": 7},
        content_type="application/json",
        headers=bearer(plaintext),
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert ApiToken.objects.count() == 1


def test_a_token_may_revoke_its_owners_tokens_but_not_others(
    api_client: Client, officer: Staff, colleague: Staff
) -> None:
    mine, plaintext = make_token(officer)
    theirs, _ = make_token(colleague)
    refused = api_client.delete(f"/api/v1/tokens/{theirs.pk}", headers=bearer(plaintext))
    missing = api_client.delete("/api/v1/tokens/999999", headers=bearer(plaintext))
    assert refused.status_code == missing.status_code == 404
    assert refused.json() == missing.json()

    own = api_client.delete(f"/api/v1/tokens/{mine.pk}", headers=bearer(plaintext))
    assert own.status_code == 200


def test_the_token_list_is_paginated_by_keyset(api_client: Client, officer: Staff) -> None:
    made = [make_token(officer, name=f"t{i}")[0] for i in range(5)]
    _, plaintext = make_token(officer, name="reader")
    expected = [token.pk for token in reversed(made)]

    seen: list[int] = []
    cursor = None
    for _page in range(4):
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = api_client.get("/api/v1/tokens", query, headers=bearer(plaintext))
        assert response.status_code == 200
        body = response.json()
        seen += [item["id"] for item in body["items"] if item["name"] != "reader"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


def test_me_describes_the_token_and_its_scopes(api_client: Client, officer: Staff) -> None:
    token, plaintext = make_token(officer, scopes=["cases:read", "stats:read"])
    response = api_client.get("/api/v1/me", headers=bearer(plaintext))
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == officer.user.pk
    assert body["auth_method"] == "token"
    assert body["acting_membership_id"] == officer.membership.pk
    assert body["acting_role"] == Role.UNIT_OFFICER
    assert body["acting_agency_id"] == officer.membership.agency_id
    assert [m["id"] for m in body["memberships"]] == [officer.membership.pk]
    assert body["token"]["id"] == token.pk
    assert body["scopes"] == ["cases:read", "stats:read"]


def test_me_through_a_session_is_not_narrowed_by_scopes(api_client: Client, officer: Staff) -> None:
    login_staff(api_client, officer)
    body = api_client.get("/api/v1/me").json()
    assert body["auth_method"] == "session"
    assert body["token"] is None
    assert body["scopes"] is None


def test_the_token_list_costs_the_same_queries_for_2_or_12_tokens(
    api_client: Client, officer: Staff
) -> None:
    _t, plaintext = make_token(officer)
    api_client.get("/api/v1/me", headers=bearer(plaintext))  # records last use (one write)
    counts = []
    for extra in (1, 10):
        for i in range(extra):
            make_token(officer, name=f"n{i}")
        with CaptureQueriesContext(connection) as queries:
            response = api_client.get("/api/v1/tokens", headers=bearer(plaintext))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
