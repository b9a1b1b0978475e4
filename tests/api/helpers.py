"""People and sign-ins for the API tests, made through the real models and session.

(``tests/accounts/helpers.py`` from the accounts work offers the same for every app; these
stay local so the API tests do not depend on its timing.)
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts import session_keys
from himaya.accounts.models import Membership, User
from himaya.accounts.roles import Role
from himaya.network.models import Agency, AgencyKind

_counter = itertools.count(1)


@dataclass(frozen=True)
class Staff:
    user: User
    membership: Membership
    device: TOTPDevice


def make_agency(name: str = "Unité de Rabat") -> Agency:
    return Agency.objects.create(
        kind=AgencyKind.POLICE_UNIT, name_ar="خلية الرباط", name_fr=name, is_synthetic=True
    )


def make_staff(role: Role = Role.UNIT_OFFICER, agency: Agency | None = None) -> Staff:
    """An active staff member with one membership and a confirmed TOTP device."""
    number = next(_counter)
    user = User.objects.create_user(username=f"staff{number}", password="a long test password 123")
    membership = Membership.objects.create(user=user, agency=agency or make_agency(), role=role)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return Staff(user=user, membership=membership, device=device)


def login_staff(client: Client, staff: Staff, *, otp_verified: bool = True) -> None:
    """Signs ``staff`` in as our sign-in would: password, then (optionally) the second factor."""
    client.force_login(staff.user)
    session = client.session
    now = time.time()
    session[session_keys.AUTH_AT] = now
    session[session_keys.SEEN_AT] = now
    session[session_keys.MEMBERSHIP_ID] = staff.membership.pk
    if otp_verified:
        session[DEVICE_ID_SESSION_KEY] = staff.device.persistent_id
        session[session_keys.OTP_AT] = now
    session.save()
    # force_login stored these; keep them (the assertion documents what a session holds).
    assert {SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY} <= set(session.keys())
