from __future__ import annotations

import pytest
from django.test import Client

from himaya.accounts import tokens
from himaya.accounts.actors import actor_for_user
from himaya.accounts.models import ApiToken
from himaya.accounts.roles import Role
from himaya.core.actor import Actor
from tests.api.helpers import Staff, make_staff


@pytest.fixture
def officer(db: None) -> Staff:
    return make_staff(Role.UNIT_OFFICER)


@pytest.fixture
def colleague(officer: Staff) -> Staff:
    return make_staff(Role.UNIT_OFFICER, agency=officer.membership.agency)


def actor_of(staff: Staff) -> Actor:
    return actor_for_user(staff.user, membership=staff.membership, recently_verified=True)


def make_token(
    staff: Staff, *, scopes: list[str] | None = None, days: int = 30, name: str = "CAD bridge"
) -> tuple[ApiToken, str]:
    return tokens.token_create(
        actor=actor_of(staff),
        name=name,
        scopes=scopes if scopes is not None else ["cases:read"],
        expires_in_days=days,
    )


def bearer(plaintext: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def api_client() -> Client:
    return Client()
