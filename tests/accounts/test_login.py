"""Signing in: password, then TOTP; first sign-in enrols a device."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts import session_keys
from himaya.accounts.models import UserSession
from himaya.accounts.roles import Role
from tests.accounts.helpers import TEST_PASSWORD, login_staff, make_staff, totp_code

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
LOGIN_OTP = reverse("accounts:login_otp")
ENROL = reverse("accounts:enrol")
HOME = reverse("core:home")


def _without_tokens(html: str) -> str:
    return re.sub(r'(csrfmiddlewaretoken" value=|name="csrf-token" content=)"[^"]*"', r'\1""', html)


def test_full_sign_in_with_password_and_totp_reaches_the_home_page(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)

    response = client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == LOGIN_OTP
    # Password alone signs nobody in.
    assert "_auth_user_id" not in client.session

    response = client.post(LOGIN_OTP, {"code": totp_code(user)})
    assert response.status_code == 302
    assert response["Location"] == HOME
    assert client.session["_auth_user_id"] == str(user.pk)
    assert UserSession.objects.filter(user=user, session_key=client.session.session_key).exists()

    home = client.get(HOME)
    assert home.status_code == 200


def test_sign_in_goes_back_to_the_page_first_asked_for(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    first = client.get("/admin/")
    assert first.status_code == 302
    assert first["Location"] == f"{LOGIN}?next=%2Fadmin%2F"
    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD, "next": "/admin/"})
    response = client.post(LOGIN_OTP, {"code": totp_code(user)})
    assert response["Location"] == "/admin/"


def test_sign_in_refuses_to_send_people_to_another_site(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    client.post(
        LOGIN,
        {"username": user.username, "password": TEST_PASSWORD, "next": "https://evil.example/"},
    )
    response = client.post(LOGIN_OTP, {"code": totp_code(user)})
    assert response["Location"] == HOME


def test_a_wrong_totp_code_is_refused_with_a_clear_message(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    good = totp_code(user)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"

    response = client.post(LOGIN_OTP, {"code": wrong})

    assert response.status_code == 200
    assert "This code is not correct or has expired" in response.text
    assert wrong not in response.text  # a code is a secret: not echoed back
    assert "_auth_user_id" not in client.session
    # The right code still works right after a typo.
    assert client.post(LOGIN_OTP, {"code": good}).status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_code_that_is_not_six_digits_is_refused_without_a_server_error(
    client: Client,
) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    for junk in ("", "abc", "1" * 200, "12345", "12345x", "½½½½½½"):
        response = client.post(LOGIN_OTP, {"code": junk})
        assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_code_typed_with_arabic_indic_digits_is_accepted(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    code = totp_code(user).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert client.post(LOGIN_OTP, {"code": f" {code[:3]} {code[3:]} "}).status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_totp_code_cannot_be_used_twice(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    code = totp_code(user)
    assert client.post(LOGIN_OTP, {"code": code}).status_code == 302

    other = Client()
    other.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    response = other.post(LOGIN_OTP, {"code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in other.session


def test_wrong_password_and_unknown_user_get_the_very_same_page(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    wrong_password = client.post(LOGIN, {"username": user.username, "password": "nope nope"})
    unknown_user = Client()
    unknown_user.cookies["himaya_lang"] = "en"
    unknown = unknown_user.post(LOGIN, {"username": "no.such.person", "password": "nope nope"})

    assert wrong_password.status_code == unknown.status_code == 200
    assert "The username or password is not correct." in wrong_password.text
    assert _without_tokens(wrong_password.text).replace(user.username, "NAME") == (
        _without_tokens(unknown.text).replace("no.such.person", "NAME")
    )


def test_a_disabled_account_gets_the_same_answer_as_a_wrong_password(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "The username or password is not correct." in response.text


def test_the_form_keeps_the_username_but_never_the_password(client: Client) -> None:
    response = client.post(LOGIN, {"username": "typed.name", "password": "secret-typed-here"})
    assert 'value="typed.name"' in response.text
    assert "secret-typed-here" not in response.text


def test_empty_or_oversized_input_is_answered_without_a_server_error(client: Client) -> None:
    for data in ({}, {"username": ""}, {"username": "x" * 5000, "password": "y" * 5000}):
        response = client.post(LOGIN, data)
        assert response.status_code == 200


def test_the_code_step_without_the_password_step_goes_back_to_sign_in(client: Client) -> None:
    response = client.post(LOGIN_OTP, {"code": "123456"})
    assert response.status_code == 302
    assert response["Location"] == LOGIN


def test_the_code_step_must_follow_the_password_step_promptly(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    session = client.session
    session[session_keys.PENDING_AT] = session[session_keys.PENDING_AT] - 301
    session.save()

    response = client.post(LOGIN_OTP, {"code": totp_code(user)})
    assert response["Location"] == LOGIN
    assert "Signing in took too long" in client.get(LOGIN).text
    assert "_auth_user_id" not in client.session


def test_first_sign_in_enrols_a_device_with_secret_and_inline_qr_code(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER, with_device=False)

    response = client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    assert response["Location"] == ENROL
    page = client.get(ENROL)
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "<script>" not in page.text
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    secret = re.search(r'<code class="ltr" dir="ltr">([A-Z2-7 ]+)</code>', page.text)
    assert secret is not None
    assert secret.group(1).replace(" ", "") in device.config_url

    # Wrong code first: refused, nothing confirmed.
    code = f"{TOTP(device.bin_key).token():06d}"
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert client.post(ENROL, {"code": wrong}).status_code == 200
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    response = client.post(ENROL, {"code": code})
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(HOME).status_code == 200


def test_each_sign_in_attempt_gets_a_fresh_enrolment_secret(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER, with_device=False)
    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    client.get(ENROL)
    first_key = TOTPDevice.objects.get(user=user, confirmed=False).key

    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    client.get(ENROL)
    assert TOTPDevice.objects.get(user=user, confirmed=False).key != first_key


def test_enrolment_is_closed_once_a_device_is_confirmed(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    response = client.get(ENROL)
    assert response["Location"] == LOGIN_OTP
    assert not TOTPDevice.objects.filter(user=user, confirmed=False).exists()


def test_the_helper_signs_in_the_same_user_several_times(client: Client) -> None:
    user = make_staff(Role.UNIT_CHIEF)
    for _ in range(3):
        browser = Client()
        login_staff(browser, user)
        assert browser.get(HOME).status_code == 200


def test_sign_in_pages_carry_no_script_of_their_own(client: Client) -> None:
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert "<script>" not in response.text
    assert 'method="post"' in response.text
