"""Helpers for the justice tests: a unit and the prosecution office competent for its
communes, her case with (or without) her consent to share with the prosecutor, staff of
both sides, and a complaint forwarded through the real services.

    world = make_world()
    complaint = forward(world)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.cases.intake import ConsentData, DependantData, SurvivorData
from himaya.cases.models import CaseFile, ConsentPurpose
from himaya.core.actor import Actor
from himaya.geo.models import Commune
from himaya.justice import services
from himaya.justice.models import Complaint, Hearing, ProtectionMeasure
from himaya.justice.states import DecisionKind
from himaya.network.models import Agency, AgencyKind, Jurisdiction
from tests.cases.helpers import Staff, an_incident, make_commune, make_person, make_unit, open_case

PROSECUTOR_SCOPE = ["identity", "narrative", "incidents", "perpetrators", "evidence", "dependants"]


@dataclass(frozen=True)
class World:
    unit: Agency
    office: Agency
    commune: Commune
    chief: Staff
    officer: Staff
    prosecutor: Staff


def make_office(commune: Commune | None = None) -> Agency:
    office = make_unit(AgencyKind.PROSECUTION_OFFICE)
    if commune is not None:
        Jurisdiction.objects.create(office=office, commune=commune)
    return office


def make_world(*, signed: bool = False) -> World:
    """A unit, the office competent for its commune, and their staff (``signed``: staff
    with a TOTP device, who can sign in to the pages)."""
    from tests.cases.pages_helpers import signed_staff

    person = signed_staff if signed else make_person
    commune = make_commune("Justice")
    unit = make_unit()
    office = make_office(commune)
    return World(
        unit=unit,
        office=office,
        commune=commune,
        chief=person(Role.UNIT_CHIEF, unit),
        officer=person(Role.UNIT_OFFICER, unit),
        prosecutor=person(Role.PROSECUTOR, office),
    )


def her_case(
    world: World,
    *,
    consent: bool = True,
    scope: list[str] | None = None,
    **intake: Any,
) -> CaseFile:
    consents = (
        [
            ConsentData(
                purpose=ConsentPurpose.SHARE_PROSECUTOR,
                granted=True,
                scope=scope if scope is not None else PROSECUTOR_SCOPE,
            )
        ]
        if consent
        else []
    )
    intake.setdefault(
        "survivor",
        SurvivorData(full_name="Amina Tazi", cin="BK123456", residence_commune_id=world.commune.pk),
    )
    intake.setdefault("incidents", [an_incident(commune_id=world.commune.pk)])
    intake.setdefault("narrative", "He hit me in the kitchen, in front of the children.")
    intake.setdefault("dependants", [DependantData(first_name="Yasmine", age=6)])
    return open_case(world.officer.actor, consents=consents, **intake)


def forward(world: World, case: CaseFile | None = None) -> Complaint:
    return services.complaint_forward(
        actor=world.officer.actor, case_id=(case or her_case(world)).pk
    )


def open_proceedings(world: World, complaint: Complaint) -> None:
    services.decision_record(
        actor=world.prosecutor.actor,
        complaint_id=complaint.pk,
        kind=DecisionKind.OPEN_PROCEEDINGS,
    )


def order_measure(
    world: World,
    complaint: Complaint,
    *,
    actor: Actor | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    **fields: Any,
) -> ProtectionMeasure:
    today = timezone.localdate()
    fields.setdefault("kind", "no_contact")
    fields.setdefault("legal_basis", "pc_88_3")
    fields.setdefault("authority", "prosecutor")
    return services.measure_order(
        actor=actor or world.prosecutor.actor,
        complaint_id=complaint.pk,
        starts_on=starts_on or today,
        ends_on=ends_on if ends_on is not None else today + timedelta(days=90),
        **fields,
    )


def set_hearing(world: World, complaint: Complaint, *, days: int = 10) -> Hearing:
    return services.hearing_schedule(
        actor=world.prosecutor.actor,
        complaint_id=complaint.pk,
        scheduled_at=timezone.now() + timedelta(days=days),
        place="Tribunal de première instance, salle 2",
    )


def raw_column(model: type[Any], column: str, pk: int) -> bytes:
    """What the database holds, bypassing the sealed field (to prove it is sealed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return bytes(cursor.fetchone()[0])
