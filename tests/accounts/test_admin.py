"""The admin manages accounts and memberships through the services (audited), and never
shows second-factor secrets."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts.models import Membership, User
from himaya.accounts.roles import Role
from himaya.core.models.audit import AuditEvent
from tests.accounts.helpers import login_staff, make_agency, make_staff

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a fresh and long password 9"


@pytest.fixture
def admin_client(client: Client) -> Client:
    login_staff(client, make_staff(Role.SYSTEM_ADMIN))
    return client


def test_an_administrator_creates_an_account_through_the_services(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "new.officer",
            "display_name": "New officer",
            "preferred_language": "fr",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302, response.content[:3000]
    user = User.objects.get(username="new.officer")
    assert user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="account.created", target_id=str(user.pk)).exists()


def test_a_weak_password_is_refused_with_a_message_not_an_error(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "weak.one",
            "preferred_language": "ar",
            "new_password1": "12345",
            "new_password2": "12345",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="weak.one").exists()


def test_an_administrator_grants_and_revokes_a_membership(admin_client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    agency = make_agency()
    response = admin_client.post(
        "/admin/accounts/membership/add/",
        {"user": str(user.pk), "agency": str(agency.pk), "role": Role.UNIT_CHIEF},
    )
    assert response.status_code == 302, response.content[:3000]
    membership = Membership.objects.get(user=user, agency=agency)
    assert AuditEvent.objects.filter(
        action="membership.granted", target_id=str(membership.pk)
    ).exists()

    response = admin_client.post(
        f"/admin/accounts/membership/{membership.pk}/change/", {"is_active": ""}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert not membership.is_active
    assert AuditEvent.objects.filter(
        action="membership.revoked", target_id=str(membership.pk)
    ).exists()


def test_resetting_the_second_factor_removes_the_device_and_ends_sessions(
    admin_client: Client,
) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    their_browser = Client()
    login_staff(their_browser, user)

    response = admin_client.post(
        "/admin/accounts/user/",
        {"action": "reset_second_factor", "_selected_action": [str(user.pk)]},
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert their_browser.get("/").status_code == 302
    assert AuditEvent.objects.filter(action="auth.totp_reset", target_id=str(user.pk)).exists()


def test_accounts_cannot_be_deleted_only_disabled(admin_client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=user.pk).exists()


def test_the_admin_pages_never_show_a_totp_secret(admin_client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    device = TOTPDevice.objects.get(user=user)
    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert page.status_code == 200
    assert device.key not in page.text
