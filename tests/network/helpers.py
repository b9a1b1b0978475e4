"""Agencies made through the network services, and staff signed in through a real session."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts import session_keys
from himaya.accounts.models import Membership, User
from himaya.core.actor import Actor
from himaya.geo.models import Commune
from himaya.network import services
from himaya.network.hours import parse_hours
from himaya.network.models import Agency, AgencyKind
from himaya.network.validation import AgencyData

_counter = itertools.count(1)


def agency(
    admin: Actor,
    kind: str,
    commune: Commune | None,
    *,
    name: str | None = None,
    hours: str = "24/7",
    **fields: Any,
) -> Agency:
    """An agency created by the administrator through ``services.agency_create``."""
    n = next(_counter)
    data = AgencyData(
        kind=kind,
        code=fields.pop("code", f"T-{n:04d}"),
        name_fr=name or f"Agence {n}",
        name_ar=f"وكالة {n}",
        commune_id=commune.pk if commune else None,
        hours=parse_hours(hours),
        **fields,
    )
    return services.agency_create(actor=admin, data=data)


@dataclass(frozen=True)
class Staff:
    user: User
    membership: Membership
    device: TOTPDevice


def make_staff(role: str, agency: Agency | None = None) -> Staff:
    n = next(_counter)
    user = User.objects.create_user(username=f"net.staff{n}", password="a long test password 123")
    membership = Membership.objects.create(
        user=user,
        agency=agency
        or Agency.objects.create(
            kind=AgencyKind.CENTRAL_UNIT, name_ar="الخلية", name_fr=f"Cellule {n}"
        ),
        role=role,
    )
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return Staff(user=user, membership=membership, device=device)


def login(
    client: Client, staff: Staff, *, step_up_fresh: bool = True, language: str = "en"
) -> None:
    """A verified session acting through ``staff.membership``, reading pages in
    ``language``; with ``step_up_fresh=False`` the second factor was proved longer ago than
    ``STEP_UP_SECONDS``."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(staff.user)
    session = client.session
    now = time.time()
    session[session_keys.AUTH_AT] = now
    session[session_keys.SEEN_AT] = now
    session[session_keys.MEMBERSHIP_ID] = staff.membership.pk
    session[DEVICE_ID_SESSION_KEY] = staff.device.persistent_id
    session[session_keys.OTP_AT] = (
        now if step_up_fresh else now - int(settings.STEP_UP_SECONDS) - 60
    )
    assert session[BACKEND_SESSION_KEY]
    session.save()
