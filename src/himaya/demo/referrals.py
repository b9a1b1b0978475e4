"""Synthetic referrals for the demo, so the referral pages are not empty: first contacts from
the demo focal point's station to the demo unit (one accepted, which opens its case), and the
demo unit's cases referred to the demo provider's shelter (one accepted).

Every person is invented and every note says so. Everything goes through the real services
(sealed fields, grants, audit events). Running ``load_demo`` again adds nothing: the demo
station's first contacts and the shelter's referrals are counted first.
"""

from __future__ import annotations

from typing import Protocol

from himaya.accounts.actors import actor_for_user
from himaya.accounts.models import Membership
from himaya.accounts.roles import Role
from himaya.cases.models import CaseFile, Consent, ConsentPurpose
from himaya.core.actor import Actor
from himaya.core.errors import HimayaError
from himaya.referrals import services
from himaya.referrals.models import Danger, FirstContact, Need, Referral, ReferralKind

SYNTHETIC = "[بيانات تجريبية — données synthétiques — synthetic demo data]"
FIRST_CONTACTS = (
    ("Demo-Khadija Alaoui", "0661000101", Danger.NO, "A safe place for tonight"),
    ("", "", Danger.DECLINED, "Someone to listen; she preferred not to give her name"),
    ("Demo-نعيمة تجريبي", "0661000103", Danger.YES, "Protection now: he is looking for her"),
)
SHELTER_REFERRALS = 3


class Writer(Protocol):
    def write(self, msg: str, /) -> object: ...


def _actor(username: str, role: str) -> Actor | None:
    membership = (
        Membership.objects.select_related("user", "agency")
        .filter(user__username=username, role=role, is_active=True)
        .first()
    )
    return actor_for_user(membership.user, membership=membership) if membership else None


def _first_contacts(focal: Actor, chief: Actor) -> int:
    if FirstContact.objects.filter(station_id=focal.agency_id).exists():
        return 0
    made = 0
    for n, (name, phone, danger, needs) in enumerate(FIRST_CONTACTS):
        referral = services.first_contact_refer(
            actor=focal,
            data=services.FirstContactData(
                full_name=name,
                phone=phone,
                needs=needs,
                immediate_danger=danger,
                note=f"{SYNTHETIC} Invented for the demonstration.",
                safe_contact={"channel": "phone_call", "may_leave_message": False},
                forms=["psychological"] if name else [],
                declined=[] if name else ["full_name", "phone", "forms"],
            ),
            to_unit_id=chief.agency_id,
            override_reason="Demo: the demo unit receives the demo station's referrals",
        )
        made += 1
        if n == 0:
            services.referral_accept(actor=chief, referral_id=referral.pk)
    return made


def _shelter_referrals(officer: Actor, provider: Actor) -> int:
    if Referral.objects.filter(
        kind=ReferralKind.TO_SERVICE, to_agency_id=provider.agency_id
    ).exists():
        return 0
    consented = Consent.objects.filter(
        purpose=ConsentPurpose.SHARE_SHELTER,
        granted=True,
        revoked_at__isnull=True,
        case__unit_id=officer.agency_id,
    ).values_list("case_id", flat=True)
    cases = list(
        CaseFile.objects.filter(pk__in=consented, idempotency_key__startswith="demo-case-")
        .order_by("idempotency_key")
        .values_list("pk", flat=True)[:SHELTER_REFERRALS]
    )
    made = 0
    for n, case_id in enumerate(cases):
        try:
            referral = services.referral_send(
                actor=officer,
                case_id=case_id,
                data=services.ServiceReferralData(
                    agency_id=provider.agency_id,
                    need=Need.SHELTER,
                    scope=["identity", "contact"],
                    message=f"{SYNTHETIC} She needs a bed with her children.",
                ),
            )
        except HimayaError:
            continue  # the demo shelter is full, closed or not in the demo network
        made += 1
        if n == 0:
            services.referral_accept(actor=provider, referral_id=referral.pk)
    return made


def build_referrals(stdout: Writer | None = None) -> int:
    """The demo referrals; returns how many were made (0 when already there)."""
    focal = _actor("demo.focal", Role.FOCAL_POINT)
    chief = _actor("demo.chief", Role.UNIT_CHIEF)
    officer = _actor("demo.officer", Role.UNIT_OFFICER)
    provider = _actor("demo.provider", Role.SERVICE_PROVIDER)
    made = 0
    try:
        if focal is not None and chief is not None:
            made += _first_contacts(focal, chief)
        if officer is not None and provider is not None:
            made += _shelter_referrals(officer, provider)
    except HimayaError as exc:
        if stdout is not None:
            stdout.write(f"demo referrals: skipped ({type(exc).__name__})\n")
        return made
    if stdout is not None:
        stdout.write(f"demo referrals: {made} created\n")
    return made
