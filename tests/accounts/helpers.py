"""Helpers for any test that needs a signed-in staff member.

    user = make_staff(Role.UNIT_OFFICER)
    login_staff(client, user)          # really posts the password, then a TOTP code
    client.get("/some/staff/page/")

``make_staff`` goes through the accounts services (audit events included); ``login_staff``
goes through the real sign-in pages, so the staff gate and session policy apply as in
production.
"""

from __future__ import annotations

import itertools

from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts import services
from himaya.accounts.models import Membership, User
from himaya.accounts.roles import Role
from himaya.accounts.totp import acceptable_code
from himaya.core.actor import SYSTEM
from himaya.network.models import Agency, AgencyKind

TEST_PASSWORD = "correct horse battery staple 42"

#: The kind of agency each role usually belongs to.
ROLE_AGENCY_KIND: dict[str, str] = {
    Role.UNIT_CHIEF: AgencyKind.POLICE_UNIT,
    Role.UNIT_OFFICER: AgencyKind.POLICE_UNIT,
    Role.FOCAL_POINT: AgencyKind.DISTRICT_STATION,
    Role.PROSECUTOR: AgencyKind.PROSECUTION_OFFICE,
    Role.HELPLINE_OPERATOR: AgencyKind.HELPLINE,
    Role.HELPLINE_SUPERVISOR: AgencyKind.HELPLINE,
    Role.SERVICE_PROVIDER: AgencyKind.SHELTER,
    Role.TRAINER: AgencyKind.CENTRAL_UNIT,
    Role.NATIONAL_ANALYST: AgencyKind.CENTRAL_UNIT,
    Role.SYSTEM_ADMIN: AgencyKind.ADMINISTRATION,
    Role.AUDITOR: AgencyKind.CENTRAL_UNIT,
}

_counter = itertools.count(1)


def make_agency(kind: str = AgencyKind.POLICE_UNIT, **fields: object) -> Agency:
    n = next(_counter)
    return Agency.objects.create(
        kind=kind,
        name_ar=f"وحدة تجريبية {n}",
        name_fr=f"Unité de test {n}",
        is_synthetic=True,
        **fields,
    )


def make_staff(
    role: str,
    agency: Agency | None = None,
    *,
    username: str | None = None,
    password: str = TEST_PASSWORD,
    with_device: bool = True,
) -> User:
    """A staff account with one active membership (``role`` in ``agency``, or in a new
    synthetic agency of the usual kind) and a confirmed TOTP device."""
    n = next(_counter)
    user = services.user_create(
        actor=SYSTEM, username=username or f"{role.replace('_', '.')}.{n}", password=password
    )
    agency = agency or make_agency(ROLE_AGENCY_KIND.get(role, AgencyKind.POLICE_UNIT))
    services.membership_grant(actor=SYSTEM, user=user, agency=agency, role=role)
    if with_device:
        services.totp_provision(actor=SYSTEM, user=user)
    return user


def totp_code(user: User) -> str:
    """A code the user's confirmed device accepts now."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    assert device is not None, "the user has no confirmed TOTP device"
    code = acceptable_code(device)
    assert code is not None, "every code of the current TOTP window was already used"
    return code


def login_staff(
    client: Client,
    user: User,
    *,
    password: str = TEST_PASSWORD,
    membership: Membership | None = None,
) -> None:
    """Sign ``user`` in through the real pages: password, then a TOTP code.

    With several memberships, ``membership`` chooses the one to act as.
    """
    response = client.post(
        reverse("accounts:login"), {"username": user.get_username(), "password": password}
    )
    assert response.status_code == 302, f"password step refused ({response.status_code})"
    assert response["Location"] == reverse("accounts:login_otp"), response["Location"]
    response = client.post(reverse("accounts:login_otp"), {"code": totp_code(user)})
    assert response.status_code == 302, f"code step refused ({response.status_code})"
    if membership is not None:
        response = client.post(
            reverse("accounts:choose_membership"), {"membership": str(membership.pk)}
        )
        assert response.status_code == 302, f"membership choice refused ({response.status_code})"
