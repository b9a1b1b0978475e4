"""Demo accounts: one per role, each with a known password and a confirmed TOTP device.

For trying the software only. ``load_demo`` and ``demo_totp`` refuse to run in production,
and every agency the accounts belong to is synthetic (``is_synthetic``, "[DEMO]" names or the
demo network's "DEMO-" codes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts import services
from himaya.accounts.models import Membership, User
from himaya.accounts.roles import Role
from himaya.accounts.totp import secret_base32
from himaya.core import audit
from himaya.core.actor import SYSTEM
from himaya.network.models import Agency, AgencyKind

#: The documented demo password (docs/guides/staff-login.md). Not a secret: it only ever
#: opens synthetic demo accounts, and load_demo refuses to run in production.
DEFAULT_DEMO_PASSWORD = "himaya-demo-2026"  # noqa: S105  # nosec B105
DEMO_PASSWORD_ENV = "HIMAYA_DEMO_PASSWORD"  # noqa: S105  # nosec B105 - a variable name

#: Where the demo network keeps its agencies (see himaya.demo.network).
NETWORK_CODE_PREFIX = "DEMO-"
#: Our own minimal agencies, used only when the demo network could not be built.
FALLBACK_CODE_PREFIX = "DEMO-ACC-"
#: The city the demo accounts work in, when the network has it.
DEMO_PROVINCE = "Casablanca"


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    role: str
    agency_kind: str
    display_name: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("demo.chief", Role.UNIT_CHIEF, AgencyKind.POLICE_UNIT, "Demo unit chief"),
    DemoAccount("demo.officer", Role.UNIT_OFFICER, AgencyKind.POLICE_UNIT, "Demo officer"),
    DemoAccount("demo.focal", Role.FOCAL_POINT, AgencyKind.DISTRICT_STATION, "Demo focal point"),
    DemoAccount(
        "demo.prosecutor", Role.PROSECUTOR, AgencyKind.PROSECUTION_OFFICE, "Demo prosecutor"
    ),
    DemoAccount(
        "demo.operator", Role.HELPLINE_OPERATOR, AgencyKind.HELPLINE, "Demo helpline operator"
    ),
    DemoAccount(
        "demo.supervisor",
        Role.HELPLINE_SUPERVISOR,
        AgencyKind.HELPLINE,
        "Demo helpline supervisor",
    ),
    DemoAccount("demo.provider", Role.SERVICE_PROVIDER, AgencyKind.SHELTER, "Demo provider"),
    DemoAccount("demo.trainer", Role.TRAINER, AgencyKind.CENTRAL_UNIT, "Demo trainer"),
    DemoAccount("demo.analyst", Role.NATIONAL_ANALYST, AgencyKind.CENTRAL_UNIT, "Demo analyst"),
    DemoAccount("demo.admin", Role.SYSTEM_ADMIN, AgencyKind.ADMINISTRATION, "Demo administrator"),
    DemoAccount("demo.auditor", Role.AUDITOR, AgencyKind.CENTRAL_UNIT, "Demo auditor"),
)
DEMO_USERNAMES = frozenset(account.username for account in DEMO_ACCOUNTS)

_FALLBACK_NAMES: dict[str, tuple[str, str]] = {
    AgencyKind.POLICE_UNIT: ("[DEMO] Cellule femmes victimes de violence", "[تجريبي] خلية التكفل"),
    AgencyKind.DISTRICT_STATION: ("[DEMO] Commissariat d'arrondissement", "[تجريبي] دائرة أمنية"),
    AgencyKind.PROSECUTION_OFFICE: (
        "[DEMO] Parquet de première instance",
        "[تجريبي] النيابة العامة",
    ),
    AgencyKind.HELPLINE: ("[DEMO] Ligne d'écoute", "[تجريبي] خط الاستماع"),
    AgencyKind.NGO_CENTRE: ("[DEMO] Centre d'écoute associatif", "[تجريبي] مركز استماع جمعوي"),
    AgencyKind.CENTRAL_UNIT: ("[DEMO] Cellule centrale", "[تجريبي] الخلية المركزية"),
    AgencyKind.ADMINISTRATION: ("[DEMO] Administration du système", "[تجريبي] إدارة النظام"),
}


def refuse_in_production() -> None:
    if settings.HIMAYA_ENV == "production":
        raise CommandError("Demo accounts are never created in production (HIMAYA_ENV=production).")


def demo_password() -> str:
    return os.environ.get(DEMO_PASSWORD_ENV) or DEFAULT_DEMO_PASSWORD


@dataclass(frozen=True, slots=True)
class DemoAccountRow:
    username: str
    role: str
    agency: str
    totp_secret: str


def _network_agency(kind: str, *, near: Agency | None = None) -> Agency | None:
    """The demo network's agency of ``kind`` for the demo accounts: in Casablanca when
    there is one (a district station pointing at ``near`` first), else the first by code."""
    synthetic = (
        Agency.objects.filter(kind=kind, is_synthetic=True, is_active=True)
        .filter(code__startswith=NETWORK_CODE_PREFIX)
        .exclude(code__startswith=FALLBACK_CODE_PREFIX)
        .order_by("code")
    )
    if near is not None:
        linked = synthetic.filter(default_unit=near).first()
        if linked is not None:
            return linked
    in_city = synthetic.filter(commune__province__name_fr=DEMO_PROVINCE)
    if kind == AgencyKind.POLICE_UNIT:
        # A unit that district stations refer to, so the focal point's station can be one
        # of its own.
        with_stations = in_city.filter(district_stations__isnull=False).distinct().first()
        if with_stations is not None:
            return with_stations
    return in_city.first() or synthetic.first()


def _fallback_agency(kind: str) -> Agency:
    """A minimal synthetic agency of our own (no geography needed)."""
    if kind == AgencyKind.SHELTER:
        # A shelter's address is sealed under its own key; the fallback avoids that
        # machinery and gives the provider an NGO listening centre instead.
        kind = AgencyKind.NGO_CENTRE
    code = f"{FALLBACK_CODE_PREFIX}{kind.upper().replace('_', '-')}"[:32]
    agency = Agency.objects.filter(code=code).first()
    if agency is not None:
        return agency
    name_fr, name_ar = _FALLBACK_NAMES[kind]
    agency = Agency.objects.create(
        code=code, kind=kind, name_fr=name_fr, name_ar=name_ar, is_synthetic=True
    )
    audit.record(
        actor=SYSTEM,
        action="demo.agency_created",
        target_type="network.agency",
        target_id=agency.pk,
        metadata={"kind": kind},
    )
    return agency


def _agencies_by_kind() -> dict[str, Agency]:
    chosen: dict[str, Agency] = {}
    unit = _network_agency(AgencyKind.POLICE_UNIT)
    for kind in dict.fromkeys(account.agency_kind for account in DEMO_ACCOUNTS):
        found = unit if kind == AgencyKind.POLICE_UNIT else None
        if found is None:
            near = unit if kind == AgencyKind.DISTRICT_STATION else None
            found = _network_agency(kind, near=near)
        chosen[kind] = found or _fallback_agency(kind)
    return chosen


def _ensure_user(account: DemoAccount, password: str, *, password_current: bool) -> User:
    user = User.objects.filter(username=account.username).first()
    if user is None:
        return services.user_create(
            actor=SYSTEM,
            username=account.username,
            password=password,
            display_name=account.display_name,
        )
    if not user.is_active:
        services.user_enable(actor=SYSTEM, user=user)
    if not password_current:
        services.user_set_password(actor=SYSTEM, user=user, password=password)
    return user


def _password_current(password: str) -> bool:
    """Whether the demo accounts already have this password. One Argon2 check (half a
    second by design) stands for all: they are always set together."""
    first = User.objects.filter(username=DEMO_ACCOUNTS[0].username).first()
    return first is None or first.check_password(password)


def _ensure_membership(user: User, agency: Agency, role: str) -> None:
    """Exactly one active membership: this role in this agency."""
    services.membership_grant(actor=SYSTEM, user=user, agency=agency, role=role)
    others = Membership.objects.filter(user=user, is_active=True).exclude(agency=agency, role=role)
    for membership in others:
        services.membership_revoke(actor=SYSTEM, membership=membership)


def _ensure_device(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        device = services.totp_provision(actor=SYSTEM, user=user)
    return device


def ensure_demo_accounts(*, password: str) -> list[DemoAccountRow]:
    """Create or complete the demo accounts (idempotent: a re-run writes nothing new)."""
    refuse_in_production()
    rows = []
    with transaction.atomic():
        agencies = _agencies_by_kind()
        password_current = _password_current(password)
        for account in DEMO_ACCOUNTS:
            agency = agencies[account.agency_kind]
            user = _ensure_user(account, password, password_current=password_current)
            _ensure_membership(user, agency, account.role)
            device = _ensure_device(user)
            rows.append(
                DemoAccountRow(
                    username=account.username,
                    role=account.role,
                    agency=agency.name_fr,
                    totp_secret=secret_base32(device),
                )
            )
    return rows


class Writer(Protocol):
    def write(self, text: str, /) -> object: ...


def write_table(rows: list[DemoAccountRow], *, password: str, out: Writer) -> None:
    headers = ("username", "role", "agency", "TOTP secret (base32)")
    table = [(r.username, r.role, r.agency, r.totp_secret) for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)).rstrip()

    out.write(line(headers) + "\n")
    out.write(line(tuple("-" * w for w in widths)) + "\n")
    for row in table:
        out.write(line(row) + "\n")
    out.write(f"\nPassword for every demo account: {password}\n")
    out.write(
        "Add a secret to an authenticator app, or print the current code with:\n"
        "  python manage.py demo_totp <username>\n"
    )
