"""Signed-in staff for the shell tests, made through the real models and session.

(Kept local to the shell tests so they do not depend on the timing of other helpers.)
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts import session_keys
from himaya.accounts.models import Membership, User
from himaya.accounts.roles import Role
from himaya.network.models import Agency, AgencyKind

_counter = itertools.count(1)

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
    "Permissions-Policy",
)


@dataclass(frozen=True)
class Staff:
    user: User
    membership: Membership
    device: TOTPDevice


def make_staff(
    *, role: Role = Role.UNIT_OFFICER, preferred_language: str = "ar", username: str = ""
) -> Staff:
    number = next(_counter)
    agency = Agency.objects.create(
        kind=AgencyKind.POLICE_UNIT,
        name_ar="خلية تجريبية",
        name_fr=f"Unité de démonstration {number}",
        is_synthetic=True,
    )
    user = User.objects.create_user(
        username=username or f"shellstaff{number}",
        password="a long test password 123",
        preferred_language=preferred_language,
    )
    membership = Membership.objects.create(user=user, agency=agency, role=role)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return Staff(user=user, membership=membership, device=device)


def sign_in(client: Client, staff: Staff) -> None:
    """As our sign-in leaves a session: password, second factor, one acting membership."""
    client.force_login(staff.user)
    session = client.session
    now = time.time()
    session[session_keys.AUTH_AT] = now
    session[session_keys.SEEN_AT] = now
    session[session_keys.MEMBERSHIP_ID] = staff.membership.pk
    session[DEVICE_ID_SESSION_KEY] = staff.device.persistent_id
    session[session_keys.OTP_AT] = now
    session.save()


def html_attr(html: str, tag: str, attr: str) -> str | None:
    """The value of ``attr`` on the first ``<tag …>`` of ``html``."""
    match = re.search(rf"<{tag}(?=[\s>/])[^>]*\s{attr}=\"([^\"]*)\"", html)
    return match.group(1) if match else None


def title_of(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert match, "the page has no <title>"
    return match.group(1).strip()
