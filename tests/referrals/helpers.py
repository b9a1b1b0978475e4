"""Helpers for the referral tests: a district station with its focal point, the unit it
refers to, a shelter with a provider, a case in the unit with her consent to share.

    world = make_world()
    referral = refer_first_contact(world)
    services.referral_accept(actor=world.chief, referral_id=referral.pk)

Everything goes through the real services and the real database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from himaya.accounts.roles import Role
from himaya.cases.intake import ConsentData, SurvivorData
from himaya.cases.models import CaseFile, ConsentPurpose
from himaya.core.actor import Actor
from himaya.geo.models import Commune
from himaya.network.models import Agency, AgencyKind
from himaya.referrals import services
from himaya.referrals.models import Danger, Need, Referral
from tests.accounts.helpers import make_agency
from tests.cases.helpers import make_actor, make_commune, open_case

NARRATIVE = "He hit her in the kitchen; the neighbours heard it. CANARY-NARRATIVE"
SURVIVOR_NAME = "Fadma Canary-Amrani"
SURVIVOR_PHONE = "0612345678"


@dataclass
class World:
    commune: Commune
    unit: Agency
    other_unit: Agency
    station: Agency
    shelter: Agency
    legal_aid: Agency
    central: Agency
    focal: Actor
    chief: Actor
    officer: Actor
    other_officer: Actor
    provider: Actor
    other_provider: Actor
    legal_aid_staff: Actor
    central_chief: Actor


def located(kind: str, commune: Commune, **fields: Any) -> Agency:
    return make_agency(
        kind, commune=commune, latitude=commune.latitude, longitude=commune.longitude, **fields
    )


def make_world() -> World:
    commune = make_commune("Referral commune")
    unit = located(AgencyKind.POLICE_UNIT, commune)
    other_unit = make_agency(
        AgencyKind.POLICE_UNIT, commune=make_commune("Far"), latitude=35.7, longitude=-5.8
    )
    station = located(AgencyKind.DISTRICT_STATION, commune, default_unit=unit)
    # A shelter is placed at its commune's reference point, never at its building.
    shelter = located(AgencyKind.SHELTER, commune, beds=2, accepts_children=True)
    legal_aid = located(AgencyKind.LEGAL_AID, commune)
    central = make_agency(AgencyKind.CENTRAL_UNIT)
    return World(
        commune=commune,
        unit=unit,
        other_unit=other_unit,
        station=station,
        shelter=shelter,
        legal_aid=legal_aid,
        central=central,
        focal=make_actor(Role.FOCAL_POINT, station),
        chief=make_actor(Role.UNIT_CHIEF, unit),
        officer=make_actor(Role.UNIT_OFFICER, unit),
        other_officer=make_actor(Role.UNIT_OFFICER, other_unit),
        provider=make_actor(Role.SERVICE_PROVIDER, shelter),
        other_provider=make_actor(Role.SERVICE_PROVIDER, make_agency(AgencyKind.SHELTER)),
        legal_aid_staff=make_actor(Role.SERVICE_PROVIDER, legal_aid),
        central_chief=make_actor(Role.UNIT_CHIEF, central),
    )


def first_contact(**overrides: Any) -> services.FirstContactData:
    fields: dict[str, Any] = {
        "full_name": SURVIVOR_NAME,
        "phone": SURVIVOR_PHONE,
        "needs": "A safe place tonight for her and her two children",
        "immediate_danger": Danger.NO,
        "safe_contact": {"channel": "phone", "may_leave_message": False},
        "note": "She came with a neighbour. CANARY-NOTE",
        "forms": ["physical"],
    }
    fields.update(overrides)
    return services.FirstContactData(**fields)


def refer_first_contact(world: World, **overrides: Any) -> Referral:
    to_unit = overrides.pop("to_unit_id", None)
    reason = overrides.pop("override_reason", "")
    return services.first_contact_refer(
        actor=world.focal,
        data=first_contact(**overrides),
        to_unit_id=to_unit,
        override_reason=reason,
    )


def case_with_consent(
    world: World,
    *,
    purposes: tuple[str, ...] = (ConsentPurpose.SHARE_SHELTER,),
    scope: tuple[str, ...] = ("identity", "contact", "dependants"),
) -> CaseFile:
    return open_case(
        world.officer,
        survivor=SurvivorData(full_name=SURVIVOR_NAME, phone=SURVIVOR_PHONE),
        narrative=NARRATIVE,
        consents=[ConsentData(purpose=p, granted=True, scope=list(scope)) for p in purposes],
    )


def refer_to_shelter(world: World, case: CaseFile, **overrides: Any) -> Referral:
    data: dict[str, Any] = {
        "agency_id": world.shelter.pk,
        "need": Need.SHELTER,
        "scope": ["identity", "contact"],
        "message": "She needs a bed tonight",
    }
    data.update(overrides)
    actor = data.pop("actor", world.officer)
    return services.referral_send(
        actor=actor, case_id=case.pk, data=services.ServiceReferralData(**data)
    )


def english(message: object) -> str:
    """A refusal's message in English, whatever language an earlier request left active."""
    from django.utils import translation

    with translation.override("en"):
        return str(message)
