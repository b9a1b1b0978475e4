"""The staff gate: no staff URL (nor /admin/) without password AND second factor."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from himaya.accounts.roles import Role
from tests.accounts.helpers import TEST_PASSWORD, login_staff, make_staff

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
HOME = reverse("core:home")


@pytest.mark.parametrize("path", ["/", "/admin/", "/admin/accounts/user/", "/no/such/page/"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=")


@pytest.mark.parametrize("path", ["/", "/admin/", "/admin/accounts/user/", "/accounts/roles/"])
def test_mfa_cannot_be_skipped_by_going_straight_to_a_staff_url(client: Client, path: str) -> None:
    user = make_staff(Role.SYSTEM_ADMIN)
    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_a_session_signed_in_without_the_second_factor_is_refused_and_ended(
    client: Client,
) -> None:
    user = make_staff(Role.SYSTEM_ADMIN)
    client.force_login(user)  # what a bypass of our sign-in would produce

    for path in ("/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session


def test_posting_to_a_staff_url_without_sign_in_is_redirected_not_executed(
    client: Client,
) -> None:
    response = client.post("/admin/accounts/user/add/", {"username": "intruder"})
    assert response.status_code == 302
    assert response["Location"] == LOGIN


def test_htmx_requests_get_a_redirect_header_instead_of_a_login_fragment(
    client: Client,
) -> None:
    response = client.get(HOME, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(LOGIN)


@pytest.mark.parametrize("path", ["/healthz", "/accounts/login/"])
def test_public_pages_answer_without_sign_in(client: Client, path: str) -> None:
    assert client.get(path).status_code == 200


def test_the_language_switch_works_without_sign_in(client: Client) -> None:
    response = client.post(reverse("core:set_language"), {"language": "fr", "next": "/"})
    assert response.status_code in (302, 303)
    assert not response["Location"].startswith(LOGIN)


def test_the_api_is_left_to_its_token_authentication(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert not (response.status_code == 302 and response["Location"].startswith(LOGIN))


def test_a_verified_system_administrator_reaches_the_admin(client: Client) -> None:
    admin_user = make_staff(Role.SYSTEM_ADMIN)
    login_staff(client, admin_user)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get("/admin/accounts/membership/").status_code == 200


def test_other_verified_roles_are_refused_by_the_admin(client: Client) -> None:
    chief = make_staff(Role.UNIT_CHIEF)
    login_staff(client, chief)
    for path in ("/admin/", "/admin/accounts/user/", "/admin/accounts/user/add/"):
        # Django's admin sends them to its login page, which refuses signed-in people.
        assert client.get(path, follow=True).status_code == 403


def test_the_admin_has_no_sign_in_form_of_its_own(client: Client) -> None:
    admin_user = make_staff(Role.SYSTEM_ADMIN)
    response = client.post(
        "/admin/login/", {"username": admin_user.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session


def test_the_admin_does_not_show_second_factor_secrets(client: Client) -> None:
    admin_user = make_staff(Role.SYSTEM_ADMIN)
    login_staff(client, admin_user)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
