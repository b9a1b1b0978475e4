"""Helpers for the case-file tests: units, staff acting in them, communes, an intake.

    unit = make_unit()
    chief = make_actor(Role.UNIT_CHIEF, unit)
    case = open_case(chief, survivor=SurvivorData(full_name="Fatima Tazi", phone="0612345678"))

Everything goes through the real services (accounts, cases) and the real database.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from himaya.accounts.actors import actor_for_user
from himaya.accounts.models import Membership, User
from himaya.cases import services
from himaya.cases.classification import ViolenceForm
from himaya.cases.intake import (
    ConsentData,
    IncidentData,
    IntakeData,
    PerpetratorData,
    SurvivorData,
)
from himaya.cases.models import CaseFile, Channel, Relationship
from himaya.core.actor import Actor
from himaya.geo.models import Commune, Province, Region
from himaya.network.models import Agency, AgencyKind
from tests.accounts.helpers import ROLE_AGENCY_KIND, make_agency, make_staff

_counter = itertools.count(1)


@dataclass(frozen=True)
class Staff:
    user: User
    actor: Actor


def make_unit(kind: str = AgencyKind.POLICE_UNIT) -> Agency:
    return make_agency(kind)


def make_actor(
    role: str, agency: Agency | None = None, *, recently_verified: bool = False
) -> Actor:
    return make_person(role, agency, recently_verified=recently_verified).actor


def make_person(
    role: str, agency: Agency | None = None, *, recently_verified: bool = False
) -> Staff:
    agency = agency or make_agency(ROLE_AGENCY_KIND.get(role, AgencyKind.POLICE_UNIT))
    user = make_staff(role, agency, with_device=False)
    membership = Membership.objects.get(user=user, agency=agency, role=role)
    return Staff(
        user=user,
        actor=actor_for_user(user, membership=membership, recently_verified=recently_verified),
    )


def make_commune(name: str = "Commune") -> Commune:
    n = next(_counter)
    region, _ = Region.objects.get_or_create(
        code="TST-R", defaults={"name_ar": "جهة", "name_fr": "Région test"}
    )
    province, _ = Province.objects.get_or_create(
        code="TST-P",
        defaults={
            "region": region,
            "name_ar": "إقليم",
            "name_fr": "Province test",
            "latitude": 33.5,
            "longitude": -7.6,
        },
    )
    return Commune.objects.create(
        code=f"TST-{n}",
        province=province,
        name_ar=f"جماعة {n}",
        name_fr=f"{name} {n}",
        latitude=33.5,
        longitude=-7.6,
    )


def days_ago(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)


def an_incident(**overrides: Any) -> IncidentData:
    fields: dict[str, Any] = {
        "occurred_on": days_ago(3),
        "forms": [ViolenceForm.PHYSICAL],
    }
    fields.update(overrides)
    return IncidentData(**fields)


def an_intake(
    *,
    survivor: SurvivorData | None = None,
    incidents: list[IncidentData] | None = None,
    perpetrators: list[PerpetratorData] | None = None,
    consents: list[ConsentData] | None = None,
    **overrides: Any,
) -> IntakeData:
    return IntakeData(
        channel=overrides.pop("channel", Channel.WALK_IN),
        survivor=survivor or SurvivorData(full_name="Amina Tazi"),
        incidents=incidents if incidents is not None else [an_incident()],
        perpetrators=perpetrators
        if perpetrators is not None
        else [PerpetratorData(relationship=Relationship.SPOUSE)],
        consents=consents or [],
        **overrides,
    )


def new_key() -> str:
    return uuid.uuid4().hex


def open_case(actor: Actor, *, key: str | None = None, **intake: Any) -> CaseFile:
    return services.case_open_from_intake(
        actor=actor, data=an_intake(**intake), idempotency_key=key or new_key()
    )
