"""Sign-in, sign-out, lockout, enrolment and disabling leave audit events, without any
password, code or secret in them."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts import services
from himaya.accounts.actors import actor_for_user
from himaya.accounts.models import Membership
from himaya.accounts.roles import Role
from himaya.core.models.audit import AuditEvent
from tests.accounts.helpers import TEST_PASSWORD, login_staff, make_staff, totp_code

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
LOGIN_OTP = reverse("accounts:login_otp")


def _actions(user_id: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="user", target_id=str(user_id))
        .order_by("sequence")
        .values_list("action", flat=True)
    )


def _dump() -> str:
    rows = AuditEvent.objects.values("action", "target_id", "reason", "metadata", "actor_username")
    return json.dumps(list(rows), ensure_ascii=False, default=str)


def test_sign_in_and_sign_out_are_audited_without_secrets(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER)
    code = totp_code(user)
    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    client.post(LOGIN_OTP, {"code": code})
    client.post(reverse("accounts:logout"))

    actions = _actions(user.pk)
    assert "auth.login" in actions
    assert "auth.logout" in actions
    login_event = AuditEvent.objects.get(action="auth.login", target_id=str(user.pk))
    assert login_event.actor_user_id == user.pk
    dump = _dump()
    assert TEST_PASSWORD not in dump
    assert code not in dump


@override_settings(LOGIN_MAX_FAILURES=2)
def test_failures_and_the_lockout_are_audited_without_what_was_typed() -> None:
    user = make_staff(Role.UNIT_OFFICER)
    for _ in range(3):
        Client().post(LOGIN, {"username": user.username, "password": "typed-secret-1"})
    Client().post(LOGIN, {"username": "ghost.user", "password": "typed-secret-2"})

    actions = _actions(user.pk)
    assert actions.count("auth.login_failed") == 2
    assert "auth.locked" in actions
    assert "auth.login_refused_locked" in actions
    dump = _dump()
    assert "typed-secret" not in dump
    assert "ghost.user" not in dump


def test_enrolment_is_audited_without_the_secret(client: Client) -> None:
    user = make_staff(Role.UNIT_OFFICER, with_device=False)
    client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
    client.get(reverse("accounts:enrol"))
    device = TOTPDevice.objects.get(user=user)
    from himaya.accounts.totp import acceptable_code, secret_base32

    code = acceptable_code(device)
    assert code is not None
    client.post(reverse("accounts:enrol"), {"code": code})

    assert "auth.totp_enrolled" in _actions(user.pk)
    dump = _dump()
    assert device.key not in dump
    assert secret_base32(device) not in dump


def test_disabling_is_audited_with_the_number_of_sessions_ended() -> None:
    user = make_staff(Role.UNIT_OFFICER)
    login_staff(Client(), user)
    admin_user = make_staff(Role.SYSTEM_ADMIN)
    actor = actor_for_user(admin_user, membership=Membership.objects.get(user=admin_user))

    services.user_disable(actor=actor, user=user)

    event = AuditEvent.objects.get(action="account.disabled", target_id=str(user.pk))
    assert event.actor_user_id == admin_user.pk
    assert event.actor_role == Role.SYSTEM_ADMIN
    assert event.metadata == {"sessions_ended": 1}
