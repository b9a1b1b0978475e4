"""Synthetic case files for the demo unit, so the queue, the case page and search have
something to show. Every person here is invented; every narrative says it is synthetic.

Cases go through the real intake service (sealed fields, blind indexes, audit events), with a
fixed idempotency key each, so running ``load_demo`` again creates nothing new.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Protocol

from django.utils import timezone

from himaya.accounts.actors import actor_for_user
from himaya.accounts.models import Membership
from himaya.accounts.roles import Role
from himaya.cases import services
from himaya.cases.classification import ViolenceForm
from himaya.cases.intake import (
    ConsentData,
    IncidentData,
    IntakeData,
    InterviewData,
    PerpetratorData,
    SurvivorData,
)
from himaya.cases.models import CaseFile, Channel, ConsentPurpose, Relationship

FIRST_NAMES = ["فاطمة", "Fatima", "Khadija", "نعيمة", "Zahra", "Amina", "سعيدة", "Hanane", "Malika"]
FAMILY_NAMES = ["Demo-Alaoui", "Demo-Tazi", "تجريبي", "Demo-Idrissi", "Demo-Bennani", "Demo-Amrani"]
FORMS = [
    (ViolenceForm.PHYSICAL, 44),
    (ViolenceForm.ECONOMIC, 26),
    (ViolenceForm.PSYCHOLOGICAL, 20),
    (ViolenceForm.SEXUAL, 9),
    (ViolenceForm.TECHNOLOGY, 1),
]
RELATIONSHIPS = [Relationship.SPOUSE, Relationship.EX_SPOUSE, Relationship.FAMILY]
CHANNELS = [Channel.WALK_IN, Channel.FOCAL_POINT, Channel.HELPLINE, Channel.ONLINE]
NARRATIVE = (
    "[بيانات تجريبية — données synthétiques — synthetic demo data] "
    "This account is invented for the demonstration; it describes no real person."
)


class Writer(Protocol):
    def write(self, msg: str, /) -> object: ...


def build_cases(stdout: Writer | None = None, *, count: int = 18, seed: int = 10313) -> int:
    """Open ``count`` synthetic cases in the demo officer's unit; returns how many are new."""
    membership = (
        Membership.objects.select_related("user", "agency")
        .filter(user__username="demo.officer", role=Role.UNIT_OFFICER, is_active=True)
        .first()
    )
    if membership is None:
        return 0
    actor = actor_for_user(membership.user, membership=membership)
    commune_id = membership.agency.commune_id
    rng = random.Random(seed)  # noqa: S311  # nosec B311 -- reproducible synthetic data
    today = timezone.localdate()
    created = 0
    # Two women name the same man (same phone): the repeat-perpetrator flag shows.
    shared_perpetrator_phone = "0661000777"
    for n in range(count):
        key = f"demo-case-{n:03d}"
        form = rng.choices([f for f, _ in FORMS], weights=[w for _, w in FORMS])[0]
        born = date(1975 + rng.randrange(30), 1 + rng.randrange(12), 1 + rng.randrange(28))
        perpetrator_phone = shared_perpetrator_phone if n in (3, 11) else ""
        data = IntakeData(
            channel=rng.choice(CHANNELS),
            survivor=SurvivorData(
                full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(FAMILY_NAMES)}",
                phone=f"06{rng.randrange(10_000_000, 99_999_999)}",
                date_of_birth=born,
                residence_commune_id=commune_id,
                preferred_language=rng.choice(["ar", "fr", "ary"]),
                safe_contact={"channel": "phone_call", "may_leave_message": False},
            ),
            incidents=[
                IncidentData(
                    occurred_on=today - timedelta(days=1 + rng.randrange(60)),
                    commune_id=commune_id,
                    forms=[form],
                )
            ],
            perpetrators=[
                PerpetratorData(relationship=rng.choice(RELATIONSHIPS), phone=perpetrator_phone)
            ],
            consents=[
                ConsentData(purpose=ConsentPurpose.STATISTICS, granted=True),
                ConsentData(
                    purpose=ConsentPurpose.SHARE_SHELTER,
                    granted=rng.random() < 0.5,
                    scope=["identity", "contact"],
                ),
            ],
            narrative=NARRATIVE,
            interview=InterviewData(
                private_room="yes", interviewer_gender="woman", interviewer_gender_chosen=True
            ),
        )
        if CaseFile.objects.filter(unit_id=actor.agency_id, idempotency_key=key).exists():
            continue  # already loaded: a re-run writes nothing, not even an audit event
        services.case_open_from_intake(actor=actor, data=data, idempotency_key=key)
        created += 1
    if stdout is not None:
        stdout.write(f"demo cases: {created} created ({count - created} already present)\n")
    return created
