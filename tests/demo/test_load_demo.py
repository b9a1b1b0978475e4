"""``load_demo`` and ``demo_totp``: demo accounts for every role, idempotent, never in
production, and a printed code that really signs in."""

from __future__ import annotations

import io
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts.models import Membership, User
from himaya.accounts.roles import Role
from himaya.accounts.totp import secret_base32
from himaya.core.models.audit import AuditEvent
from himaya.demo.accounts import DEFAULT_DEMO_PASSWORD, DEMO_ACCOUNTS, ensure_demo_accounts
from himaya.network.models import Agency, AgencyKind

pytestmark = pytest.mark.django_db(transaction=False)


def _load() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _state() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Membership.objects.filter(is_active=True).count(),
        Membership.objects.count(),
        TOTPDevice.objects.count(),
        Agency.objects.count(),
        AuditEvent.objects.count(),
    )


def test_load_demo_creates_one_account_per_role_with_a_confirmed_device() -> None:
    output = _load()

    assert {a.role for a in DEMO_ACCOUNTS} == set(Role.values)
    for account in DEMO_ACCOUNTS:
        user = User.objects.get(username=account.username)
        membership = Membership.objects.get(user=user, is_active=True)
        assert membership.role == account.role
        assert membership.agency.is_synthetic
        device = TOTPDevice.objects.get(user=user, confirmed=True)
        assert secret_base32(device) in output
        assert user.check_password(DEFAULT_DEMO_PASSWORD)
    assert DEFAULT_DEMO_PASSWORD in output


def test_demo_police_accounts_work_in_a_casablanca_unit_of_the_demo_network() -> None:
    _load()
    unit = Membership.objects.get(user__username="demo.officer").agency
    assert unit.kind == AgencyKind.POLICE_UNIT
    assert unit.code is not None
    assert unit.code.startswith("DEMO-PU-")
    assert unit.commune is not None
    assert unit.commune.province.name_fr == "Casablanca"
    assert Membership.objects.get(user__username="demo.chief").agency == unit
    station = Membership.objects.get(user__username="demo.focal").agency
    assert station.default_unit == unit


def test_without_the_demo_network_the_accounts_get_minimal_demo_agencies() -> None:
    # No geography loaded, so no network: the accounts still get synthetic agencies.
    rows = ensure_demo_accounts(password="fallback password 1")

    assert len(rows) == len(DEMO_ACCOUNTS)
    for membership in Membership.objects.select_related("agency"):
        agency = membership.agency
        assert agency.is_synthetic
        assert agency.name_fr.startswith("[DEMO]")
        assert agency.name_ar.startswith("[تجريبي]")
    assert ensure_demo_accounts(password="fallback password 1") == rows


def test_load_demo_is_idempotent_and_quick_to_repeat() -> None:
    _load()
    before = _state()
    started = time.monotonic()
    output = _load()
    elapsed = time.monotonic() - started

    assert _state() == before  # nothing created, nothing audited twice
    assert "demo.admin" in output
    assert elapsed < 10, f"re-run took {elapsed:.1f} s"


def test_load_demo_takes_the_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HIMAYA_DEMO_PASSWORD", "another demo password 7")
    output = _load()
    assert "another demo password 7" in output
    assert User.objects.get(username="demo.chief").check_password("another demo password 7")


def test_load_demo_repairs_a_demo_account_someone_disabled() -> None:
    _load()
    User.objects.filter(username="demo.focal").update(is_active=False)
    _load()
    assert User.objects.get(username="demo.focal").is_active


@override_settings(HIMAYA_ENV="production")
def test_load_demo_and_demo_totp_refuse_to_run_in_production() -> None:
    with pytest.raises(CommandError, match="production"):
        call_command("load_demo", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="production"):
        call_command("demo_totp", "demo.officer", stdout=io.StringIO())
    assert not User.objects.filter(username__startswith="demo.").exists()


def test_demo_totp_prints_a_code_that_signs_in() -> None:
    _load()
    out = io.StringIO()
    call_command("demo_totp", "demo.officer", stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6
    assert code.isdigit()

    browser = Client()
    browser.post(
        reverse("accounts:login"),
        {"username": "demo.officer", "password": DEFAULT_DEMO_PASSWORD},
    )
    response = browser.post(reverse("accounts:login_otp"), {"code": code})
    assert response.status_code == 302
    assert browser.session["_auth_user_id"] == str(User.objects.get(username="demo.officer").pk)
    assert browser.get(reverse("core:home")).status_code == 200


def test_demo_totp_refuses_accounts_that_are_not_demo_accounts() -> None:
    _load()
    with pytest.raises(CommandError, match="Only demo accounts"):
        call_command("demo_totp", "someone.real", stdout=io.StringIO())


def test_the_demo_administrator_reaches_the_admin() -> None:
    _load()
    out = io.StringIO()
    call_command("demo_totp", "demo.admin", stdout=out)
    browser = Client()
    browser.post(
        reverse("accounts:login"), {"username": "demo.admin", "password": DEFAULT_DEMO_PASSWORD}
    )
    browser.post(reverse("accounts:login_otp"), {"code": out.getvalue().strip()})
    assert browser.get("/admin/").status_code == 200
    assert settings.HIMAYA_ENV == "test"
