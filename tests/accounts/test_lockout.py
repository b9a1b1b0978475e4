"""Lockout: per account (password or TOTP failures) and per client address; forged
X-Forwarded-For headers neither reset nor dodge it; nothing reveals which accounts exist."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from himaya.accounts import throttle
from himaya.accounts.models import LoginThrottle
from himaya.accounts.roles import Role
from tests.accounts.helpers import TEST_PASSWORD, make_staff, totp_code

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
LOGIN_OTP = reverse("accounts:login_otp")
LOCKED = "Too many failed sign-in attempts."
WRONG = "The username or password is not correct."


def _english() -> Client:
    browser = Client()
    browser.cookies["himaya_lang"] = "en"
    return browser


def _attempt(username: str, password: str, *, n: int, remote: str = "127.0.0.1") -> str:
    browser = _english()
    response = browser.post(
        LOGIN,
        {"username": username, "password": password},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=f"10.9.{n // 250}.{n % 250}",
    )
    assert response.status_code in (200, 302)
    return response.text if response.status_code == 200 else "REDIRECT"


@override_settings(LOGIN_MAX_FAILURES=3)
def test_lockout_after_n_failures_holds_with_rotating_forged_forwarded_for_headers() -> None:
    victim = make_staff(Role.UNIT_OFFICER)
    for n in range(2):
        assert WRONG in _attempt(victim.username, "wrong password", n=n)
    # The failure that reaches the limit already answers with the lock.
    assert LOCKED in _attempt(victim.username, "wrong password", n=2)

    # Every later try, with a fresh forged header each time, is refused, even with the
    # right password.
    for n in range(3, 10):
        assert LOCKED in _attempt(victim.username, TEST_PASSWORD, n=n)


@override_settings(LOGIN_MAX_FAILURES=3)
def test_lockout_holds_even_when_the_attacker_changes_address() -> None:
    victim = make_staff(Role.UNIT_OFFICER)
    for n in range(3):
        _attempt(victim.username, "wrong password", n=n, remote=f"192.0.2.{n + 1}")
    assert LOCKED in _attempt(victim.username, TEST_PASSWORD, n=99, remote="198.51.100.9")


@override_settings(LOGIN_MAX_FAILURES=3)
def test_a_locked_account_does_not_lock_another_user_from_the_same_address() -> None:
    victim = make_staff(Role.UNIT_OFFICER)
    colleague = make_staff(Role.UNIT_OFFICER)
    for n in range(5):
        _attempt(victim.username, "wrong password", n=n)

    browser = _english()
    response = browser.post(LOGIN, {"username": colleague.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == LOGIN_OTP


@override_settings(LOGIN_MAX_FAILURES=3)
def test_wrong_totp_codes_count_towards_the_lockout() -> None:
    user = make_staff(Role.UNIT_OFFICER)
    browser = _english()
    browser.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    good = totp_code(user)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    browser.post(LOGIN_OTP, {"code": wrong})
    browser.post(LOGIN_OTP, {"code": wrong})
    response = browser.post(LOGIN_OTP, {"code": wrong})

    # Locked: back to the start, and the right password and code no longer get in.
    assert response["Location"] == LOGIN
    assert LOCKED in browser.get(LOGIN).text
    assert LOCKED in _attempt(user.username, TEST_PASSWORD, n=1)
    assert "_auth_user_id" not in browser.session


@override_settings(LOGIN_MAX_FAILURES=3)
def test_the_lockout_message_does_not_reveal_whether_the_account_exists() -> None:
    real = make_staff(Role.UNIT_OFFICER)
    pages = {}
    for name in (real.username, "nobody.here"):
        for n in range(3):
            _attempt(name, "wrong password", n=n)
        pages[name] = _attempt(name, "still wrong", n=50)

    def neutral(html: str, name: str) -> str:
        html = re.sub(
            r'(csrfmiddlewaretoken" value=|name="csrf-token" content=)"[^"]*"', r'\1""', html
        )
        return html.replace(name, "NAME")

    assert LOCKED in pages[real.username]
    assert neutral(pages[real.username], real.username) == neutral(
        pages["nobody.here"], "nobody.here"
    )


@override_settings(LOGIN_MAX_FAILURES=3, LOGIN_LOCKOUT_SECONDS=600)
def test_the_lock_ends_after_the_lockout_period() -> None:
    user = make_staff(Role.UNIT_OFFICER)
    for n in range(3):
        _attempt(user.username, "wrong password", n=n)
    assert LOCKED in _attempt(user.username, TEST_PASSWORD, n=3)

    LoginThrottle.objects.filter(locked_until__isnull=False).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert _attempt(user.username, TEST_PASSWORD, n=4) == "REDIRECT"


@override_settings(LOGIN_MAX_FAILURES=3)
def test_a_full_sign_in_clears_the_account_counter() -> None:
    user = make_staff(Role.UNIT_OFFICER)
    _attempt(user.username, "wrong password", n=1)
    _attempt(user.username, "wrong password", n=2)
    browser = _english()
    browser.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    browser.post(LOGIN_OTP, {"code": totp_code(user)})
    assert browser.session.get("_auth_user_id") == str(user.pk)

    # Two more failures do not lock: the count started again.
    _attempt(user.username, "wrong password", n=3)
    assert WRONG in _attempt(user.username, "wrong password", n=4)


@override_settings(LOGIN_MAX_FAILURES=100, LOGIN_ADDRESS_MAX_FAILURES=4)
def test_one_address_spraying_many_usernames_is_stopped() -> None:
    user = make_staff(Role.UNIT_OFFICER)
    for n in range(4):
        _attempt(f"guess.{n}", "wrong password", n=n, remote="203.0.113.5")
    # The address is refused, even for a real account with the right password...
    assert LOCKED in _attempt(user.username, TEST_PASSWORD, n=9, remote="203.0.113.5")
    # ...while the same account from elsewhere is fine.
    assert _attempt(user.username, TEST_PASSWORD, n=9, remote="203.0.113.6") == "REDIRECT"


@override_settings(LOGIN_MAX_FAILURES=3)
def test_usernames_differing_in_case_share_one_counter() -> None:
    user = make_staff(Role.UNIT_OFFICER)
    for n, spelling in enumerate((user.username.upper(), user.username.title(), user.username)):
        _attempt(spelling, "wrong password", n=n)
    assert LOCKED in _attempt(user.username, TEST_PASSWORD, n=5)


def test_the_throttle_table_never_holds_the_typed_username() -> None:
    _attempt("someone.typed.this", "wrong password", n=1)
    for row in LoginThrottle.objects.all():
        assert "someone" not in row.key_digest
        assert len(row.key_digest) == 64


@override_settings(TRUSTED_PROXY_COUNT=0)
def test_without_trusted_proxies_forwarded_for_is_ignored() -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="203.0.113.1"
    )
    assert throttle.client_address(request) == "192.0.2.10"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_with_one_trusted_proxy_only_the_entry_it_appended_counts() -> None:
    factory = RequestFactory()
    forged = factory.get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 6.6.6.6, 198.51.100.7"
    )
    assert throttle.client_address(forged) == "198.51.100.7"
    garbage = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert throttle.client_address(garbage) == "10.0.0.2"
    missing = factory.get("/", REMOTE_ADDR="10.0.0.2")
    assert throttle.client_address(missing) == "10.0.0.2"


@override_settings(TRUSTED_PROXY_COUNT=1, LOGIN_MAX_FAILURES=100, LOGIN_ADDRESS_MAX_FAILURES=3)
def test_behind_a_proxy_forged_left_entries_do_not_reset_the_address_counter() -> None:
    user = make_staff(Role.UNIT_OFFICER)
    for n in range(3):
        Client().post(
            LOGIN,
            {"username": f"guess.{n}", "password": "x"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 198.51.100.7",
        )
    browser = _english()
    response = browser.post(
        LOGIN,
        {"username": user.username, "password": TEST_PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="10.9.9.200, 198.51.100.7",
    )
    assert LOCKED in response.text
