"""Sessions: idle and absolute timeouts, server-side sign-out, disabling ends sessions.

Time is moved by editing the timestamps stored in the session, never by sleeping.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from himaya.accounts import services, session_keys
from himaya.accounts.actors import actor_for_user
from himaya.accounts.models import Membership, UserSession
from himaya.accounts.roles import Role
from himaya.core.actor import SYSTEM
from himaya.core.errors import PermissionDenied
from tests.accounts.helpers import TEST_PASSWORD, login_staff, make_staff

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")
HOME = reverse("core:home")
EXPIRED = "Your session expired. Please sign in again."


def _shift(client: Client, key: str, seconds: float) -> None:
    """Pretend ``key`` was stored ``seconds`` earlier."""
    session = client.session
    session[key] = session[key] - seconds
    session.save()


def _signed_in(client: Client) -> Client:
    user = make_staff(Role.UNIT_OFFICER)
    login_staff(client, user)
    assert client.get(HOME).status_code == 200
    return client


@override_settings(SESSION_IDLE_SECONDS=900)
def test_an_idle_session_expires_and_the_sign_in_page_says_so(client: Client) -> None:
    _signed_in(client)
    old_key = client.session.session_key
    _shift(client, session_keys.SEEN_AT, 901)

    response = client.get(HOME)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert not Session.objects.filter(session_key=old_key).exists()
    assert not UserSession.objects.filter(session_key=old_key).exists()
    page = client.get(response["Location"])
    assert EXPIRED in page.text


@override_settings(SESSION_IDLE_SECONDS=900)
def test_activity_within_the_idle_limit_keeps_the_session_alive(client: Client) -> None:
    _signed_in(client)
    _shift(client, session_keys.SEEN_AT, 899)
    assert client.get(HOME).status_code == 200
    # The request refreshed "last seen": another 899 seconds later it is still alive.
    _shift(client, session_keys.SEEN_AT, 899)
    assert client.get(HOME).status_code == 200


@override_settings(SESSION_ABSOLUTE_SECONDS=8 * 3600)
def test_a_busy_session_still_ends_at_the_absolute_limit(client: Client) -> None:
    _signed_in(client)
    _shift(client, session_keys.AUTH_AT, 8 * 3600 + 1)

    response = client.get(HOME)

    assert response.status_code == 302
    assert EXPIRED in client.get(response["Location"]).text


def test_an_expired_session_posting_a_form_is_not_executed(client: Client) -> None:
    _signed_in(client)
    _shift(client, session_keys.SEEN_AT, settings.SESSION_IDLE_SECONDS + 1)
    response = client.post(reverse("accounts:choose_membership"), {"membership": "1"})
    assert response.status_code == 302
    assert response["Location"] == LOGIN


def test_sign_out_ends_the_session_on_the_server(client: Client) -> None:
    _signed_in(client)
    old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    response = client.post(LOGOUT)

    assert response.status_code == 302
    assert "You have signed out." in client.get(LOGIN).text
    assert not Session.objects.filter(session_key=old_cookie).exists()
    assert not UserSession.objects.filter(session_key=old_cookie).exists()
    # Someone who kept a copy of the old cookie gets nothing.
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    response = replay.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_sign_out_by_get_only_asks_for_confirmation(client: Client) -> None:
    _signed_in(client)
    response = client.get(LOGOUT)
    assert response.status_code == 200
    assert client.get(HOME).status_code == 200


def test_disabling_a_user_ends_all_its_sessions_at_once(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    laptop, phone = Client(), Client()
    login_staff(laptop, user)
    login_staff(phone, user)
    bystander = _signed_in(Client())
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    assert len(keys) == 2

    admin_user = make_staff(Role.SYSTEM_ADMIN)
    membership = Membership.objects.get(user=admin_user)
    services.user_disable(actor=actor_for_user(admin_user, membership=membership), user=user)

    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(user=user).exists()
    for browser in (laptop, phone):
        response = browser.get(HOME)
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
    assert bystander.get(HOME).status_code == 200
    # And the account can no longer sign in.
    response = Client().post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 200


def test_only_system_administrators_may_disable_accounts() -> None:
    user = make_staff(Role.UNIT_OFFICER)
    chief = make_staff(Role.UNIT_CHIEF)
    membership = Membership.objects.get(user=chief)
    with pytest.raises(PermissionDenied):
        services.user_disable(actor=actor_for_user(chief, membership=membership), user=user)
    user.refresh_from_db()
    assert user.is_active


def test_an_administrator_cannot_disable_their_own_account() -> None:
    admin_user = make_staff(Role.SYSTEM_ADMIN)
    membership = Membership.objects.get(user=admin_user)
    with pytest.raises(PermissionDenied):
        services.user_disable(
            actor=actor_for_user(admin_user, membership=membership), user=admin_user
        )


def test_disabling_through_the_admin_ends_the_sessions_too(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    victim_browser = Client()
    login_staff(victim_browser, user)
    admin_user = make_staff(Role.SYSTEM_ADMIN)
    login_staff(client, admin_user)

    response = client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {"display_name": "", "preferred_language": "ar", "is_active": ""},
    )

    assert response.status_code == 302, response.content[:2000]
    user.refresh_from_db()
    assert not user.is_active
    assert victim_browser.get(HOME).status_code == 302


def test_sessions_made_outside_our_sign_in_are_ended(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    client.force_login(user)
    client.get("/healthz")
    assert "_auth_user_id" not in client.session


def test_seeding_as_the_system_is_allowed_for_account_management() -> None:
    user = services.user_create(actor=SYSTEM, username="seeded.person", password=None)
    assert not user.has_usable_password()
