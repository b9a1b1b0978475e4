"""Synthetic complaints for the demo prosecutor's office, so its queue is not empty: one
awaiting a decision, one she filed online (to confirm with her), one in proceedings with a
hearing to come and a measure near expiry, one with a reported breach; and one more case,
with her consent to share with the prosecutor, that the unit has not forwarded yet.

Everything goes through the real services (grants, sealed fields, audit events, notices);
every case is invented and says so. Running ``load_demo`` again creates nothing new: the
cases have fixed idempotency keys and each step is skipped once done.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from django.utils import timezone

from himaya.accounts.actors import actor_for_user
from himaya.accounts.models import Membership
from himaya.accounts.roles import Role
from himaya.cases import services as case_services
from himaya.cases.classification import ViolenceForm
from himaya.cases.intake import (
    ConsentData,
    DependantData,
    IncidentData,
    IntakeData,
    InterviewData,
    PerpetratorData,
    SurvivorData,
)
from himaya.cases.models import CaseFile, Channel, ConsentPurpose, Relationship
from himaya.core.actor import Actor
from himaya.justice import services
from himaya.justice.models import Breach, Complaint, Hearing, ProtectionMeasure
from himaya.justice.states import ComplaintState, DecisionKind
from himaya.network.models import Agency

NARRATIVE = (
    "[بيانات تجريبية — données synthétiques — synthetic demo data] "
    "Complaint invented for the demonstration of the justice chain; no real person."
)
SCOPE = ["identity", "narrative", "incidents", "perpetrators", "evidence", "dependants"]
#: The number of the synthetic case left ready to forward (``demo-justice-04``).
READY = 4
NAMES = ["Demo-Salma Berrada", "نادية تجريبي", "Demo-Houda Lahlou", "Demo-Imane Chraibi"]


class Writer(Protocol):
    def write(self, msg: str, /) -> object: ...


def _actor(username: str, role: str) -> Actor | None:
    membership = (
        Membership.objects.select_related("user", "agency")
        .filter(user__username=username, role=role, is_active=True)
        .first()
    )
    return actor_for_user(membership.user, membership=membership) if membership else None


def _case(officer: Actor, n: int, commune_id: int | None, *, online: bool) -> CaseFile:
    key = f"demo-justice-{n:02d}"
    existing = CaseFile.objects.filter(unit_id=officer.agency_id, idempotency_key=key).first()
    if existing is not None:
        return existing
    today = timezone.localdate()
    return case_services.case_open_from_intake(
        actor=officer,
        data=IntakeData(
            channel=Channel.ONLINE if online else Channel.WALK_IN,
            survivor=SurvivorData(
                full_name=NAMES[n % len(NAMES)],
                cin="" if online else f"DM{100000 + n}",
                residence_commune_id=commune_id,
                preferred_language="ar" if n % 2 else "fr",
            ),
            incidents=[
                IncidentData(
                    occurred_on=today - timedelta(days=3 + n),
                    commune_id=commune_id,
                    forms=[ViolenceForm.PHYSICAL],
                )
            ],
            perpetrators=[PerpetratorData(relationship=Relationship.SPOUSE)],
            dependants=[DependantData(first_name="Demo-Child", age=5 + n)],
            consents=[]
            if online
            else [ConsentData(purpose=ConsentPurpose.SHARE_PROSECUTOR, granted=True, scope=SCOPE)],
            narrative=NARRATIVE,
            interview=InterviewData(private_room="yes", interviewer_gender="woman"),
        ),
        idempotency_key=key,
    )


def build_justice(stdout: Writer | None = None) -> int:
    """Forward four synthetic cases of the demo unit to the demo prosecutor's office and
    move them along; returns how many complaints are new."""
    officer = _actor("demo.officer", Role.UNIT_OFFICER)
    prosecutor = _actor("demo.prosecutor", Role.PROSECUTOR)
    if officer is None or prosecutor is None or prosecutor.agency_id is None:
        return 0
    office_id = prosecutor.agency_id
    commune_id = (
        Agency.objects.filter(pk=officer.agency_id or 0)
        .values_list("commune_id", flat=True)
        .first()
    )
    before = Complaint.objects.filter(office_id=office_id).count()
    today = timezone.localdate()
    complaints: list[Complaint] = []
    for n in range(4):
        online = n == 1
        case = _case(officer, n, commune_id, online=online)
        if online:
            complaint = services.complaint_file_online(
                case=case, office_id=office_id, idempotency_key=f"demo-justice-online-{n:02d}"
            )
        else:
            complaint = services.complaint_forward(
                actor=officer, case_id=case.pk, office_id=office_id
            )
        complaints.append(complaint)
    for complaint in complaints[2:]:
        if complaint.state == ComplaintState.RECEIVED:
            services.decision_record(
                actor=prosecutor,
                complaint_id=complaint.pk,
                kind=DecisionKind.OPEN_PROCEEDINGS,
            )
        if not ProtectionMeasure.objects.filter(complaint=complaint).exists():
            services.measure_order(
                actor=prosecutor,
                complaint_id=complaint.pk,
                kind="no_contact",
                legal_basis="pc_88_3",
                authority="prosecutor",
                starts_on=today - timedelta(days=20),
                ends_on=today + timedelta(days=5),
                conditions="[synthetic] No contact by any means.",
            )
    hearing_for = complaints[2]
    if not Hearing.objects.filter(complaint=hearing_for).exists():
        services.hearing_schedule(
            actor=prosecutor,
            complaint_id=hearing_for.pk,
            scheduled_at=timezone.now() + timedelta(days=10),
            place="Tribunal de première instance (démo), salle 2",
        )
    breached = ProtectionMeasure.objects.filter(complaint=complaints[3]).first()
    if breached is not None and not Breach.objects.filter(measure=breached).exists():
        services.breach_report(
            actor=officer,
            measure_id=breached.pk,
            description="[synthetic] He waited outside her home.",
        )
    # One more, with her consent, left for the unit to forward (the browser journey does).
    _case(officer, READY, commune_id, online=False)
    created = Complaint.objects.filter(office_id=office_id).count() - before
    if stdout is not None:
        stdout.write(f"demo complaints: {created} created\n")
    return created
