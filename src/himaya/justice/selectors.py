"""Every read of the justice chain, scoped to the actor by ``justice.policies``.

The complaint page shows her file through ``cases.selectors.case_details`` with the
prosecutor's own access (an audited ``case.read`` cut to the grant's field groups): the
office never reads a copy. Lists (the queue, the API's list) carry references, dates and
states only, never anything about her.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from himaya.cases import policies as case_policies
from himaya.cases import selectors as case_selectors
from himaya.cases.models import CaseFile, Consent, ConsentPurpose, Grant
from himaya.cases.selectors import CaseDetails
from himaya.core import audit
from himaya.core.actor import Actor
from himaya.core.errors import NotFound, PermissionDenied
from himaya.core.pagination import Page, paginate
from himaya.justice import policies, services
from himaya.justice.models import (
    Breach,
    Complaint,
    ComplaintEvent,
    Decision,
    Hearing,
    ProtectionMeasure,
)
from himaya.justice.states import AWAITING_STATES, FINAL_STATES, HearingState, MeasureState
from himaya.network.models import Agency

__all__ = [
    "CaseJustice",
    "ComplaintDetails",
    "ProsecutorQueue",
    "case_justice",
    "complaint_details",
    "complaint_list",
    "prosecutor_queue",
]

TARGET = services.TARGET
#: Upper bound of each list of a complaint page or a queue section (one query each).
PAGE_ROWS = 200
QUEUE_ROWS = 50
#: How far ahead the queue lists hearings.
HEARING_DAYS = 30
#: How far back the queue lists breaches.
BREACH_DAYS = 30


def _int_id(value: int | str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotFound from None
    if not 0 < number < 2**63:
        raise NotFound
    return number


# --- one complaint ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintDetails:
    complaint: Complaint
    #: Her file as the actor may read it now; None when no live access remains (her
    #: consent was withdrawn, the sharing ended).
    file: CaseDetails | None
    decisions: list[Decision]
    hearings: list[Hearing]
    measures: list[ProtectionMeasure]
    breaches: list[Breach]
    events: list[ComplaintEvent]
    can_decide: bool
    can_report_breach: bool
    holding_unit: bool


def _complaint(actor: Actor, complaint_id: int | str) -> Complaint:
    complaint = (
        Complaint.objects.select_related(
            "case",
            "case__survivor",
            "case__survivor__data_key",
            "case__unit",
            "office",
            "grant",
            "grant__consent",
        )
        .filter(pk=_int_id(complaint_id))
        .first()
    )
    if complaint is None:
        raise NotFound
    if not policies.sees(actor, complaint):
        audit.record(
            actor=actor,
            action="justice.complaint_read_denied",
            target_type=TARGET,
            target_id=str(complaint.pk),
        )
        raise NotFound
    return complaint


def complaint_details(*, actor: Actor, complaint_id: int | str) -> ComplaintDetails:
    """The complaint page: the office's record (decisions, hearings, measures, breaches,
    timeline) and her file through the actor's own access. Audited: ``justice.complaint_read``
    and, when her file is shown, its ``case.read``, in one append."""
    complaint = _complaint(actor, complaint_id)
    read = audit.Planned(
        action="justice.complaint_read",
        target_type=TARGET,
        target_id=str(complaint.pk),
        metadata={"case": str(complaint.case_id)},
    )
    if case_policies.access_for(actor, complaint.case) is not None:
        file = case_selectors.case_details(actor=actor, case_id=complaint.case_id, read_with=[read])
    else:
        file = None
        audit.record_many(actor=actor, events=[read])
    decisions = list(
        Decision.objects.filter(complaint=complaint)
        .select_related("decided_by")
        .order_by("decided_at", "id")[:PAGE_ROWS]
    )
    hearings = list(
        Hearing.objects.filter(complaint=complaint).order_by("scheduled_at", "id")[:PAGE_ROWS]
    )
    measures = list(
        ProtectionMeasure.objects.filter(complaint=complaint).order_by("starts_on", "id")[
            :PAGE_ROWS
        ]
    )
    breaches = list(
        Breach.objects.filter(measure__complaint=complaint).order_by("-created_at", "-id")[
            :PAGE_ROWS
        ]
    )
    by_id = {m.pk: m for m in measures}
    for decision in decisions:
        decision.complaint = complaint
    for hearing in hearings:
        hearing.complaint = complaint
    for measure in measures:
        measure.complaint = complaint
    for breach in breaches:
        owner = by_id.get(breach.measure_id)
        if owner is not None:
            breach.measure = owner
    events = list(
        ComplaintEvent.objects.filter(complaint=complaint)
        .select_related("actor")
        .order_by("at", "id")[:PAGE_ROWS]
    )
    return ComplaintDetails(
        complaint=complaint,
        file=file,
        decisions=decisions,
        hearings=hearings,
        measures=measures,
        breaches=breaches,
        events=events,
        can_decide=policies.may_decide(actor, complaint) and complaint.state not in FINAL_STATES,
        can_report_breach=policies.may_report_breach(actor, complaint),
        holding_unit=case_policies.is_unit_staff(actor, complaint.case.unit_id),
    )


# --- the prosecutor's queue ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ProsecutorQueue:
    awaiting: Page[Complaint]
    hearings: list[Hearing]
    expiring: list[ProtectionMeasure]
    breaches: list[Breach]


#: Her case's sealed columns: a queue shows the case's reference, never her account, so its
#: rows do not read them (joined case rows carried her sealed narrative for nothing).
CASE_SEALED = ("narrative", "others_present")


def _without_her_account(path: str) -> list[str]:
    return [f"{path}__{column}" for column in CASE_SEALED]


def prosecutor_queue(
    *, actor: Actor, cursor: str | None = None, limit: int | None = None
) -> ProsecutorQueue:
    """The office's work: complaints awaiting a decision (earliest deadline first, a keyset
    page at a time), hearings in the next ``HEARING_DAYS`` days, measures in force that end
    within the review period, breaches of the last ``BREACH_DAYS`` days. References and
    dates only."""
    if not policies.can_use_queue(actor):
        raise PermissionDenied
    office = actor.agency_id
    now = timezone.now()
    today = timezone.localdate()
    rows = Complaint.objects.select_related("case").defer(*_without_her_account("case"))
    awaiting = paginate(
        # One ordered range of complaint_queue_idx (office, state, due, id) per state:
        # undecided complaints pile up over the years in a busy office.
        [rows.filter(office_id=office, state=state) for state in sorted(AWAITING_STATES)],
        order_by="decision_due_on",
        cursor=cursor,
        limit=limit,
        salt=f"justice.queue.{office}",
        descending=False,
    )
    hearings = list(
        Hearing.objects.filter(
            complaint__office_id=office,
            state=HearingState.SCHEDULED,
            scheduled_at__gte=now - timedelta(hours=12),
            scheduled_at__lte=now + timedelta(days=HEARING_DAYS),
        )
        .select_related("complaint", "complaint__case")
        .defer(*_without_her_account("complaint__case"))
        .order_by("scheduled_at", "id")[:QUEUE_ROWS]
    )
    expiring = list(
        ProtectionMeasure.objects.filter(
            complaint__office_id=office,
            state=MeasureState.ACTIVE,
            ends_on__isnull=False,
            ends_on__gte=today,
            ends_on__lte=today + timedelta(days=services.review_days()),
        )
        .select_related("complaint", "complaint__case")
        .defer(*_without_her_account("complaint__case"))
        .order_by("ends_on", "id")[:QUEUE_ROWS]
    )
    breaches = list(
        Breach.objects.filter(
            measure__complaint__office_id=office,
            created_at__gte=now - timedelta(days=BREACH_DAYS),
        )
        .select_related("measure", "measure__complaint", "measure__complaint__case")
        .defer(*_without_her_account("measure__complaint__case"))
        .order_by("-created_at", "-id")[:QUEUE_ROWS]
    )
    return ProsecutorQueue(
        awaiting=awaiting, hearings=hearings, expiring=expiring, breaches=breaches
    )


def complaint_list(
    *, actor: Actor, cursor: str | None = None, limit: int | None = None, open_only: bool = False
) -> Page[Complaint]:
    """Every complaint the actor may see (the office's, or the unit's), newest first."""
    queryset: QuerySet[Complaint] = Complaint.objects.filter(
        policies.visible_complaints_q(actor)
    ).select_related("case")
    if open_only:
        queryset = queryset.exclude(state__in=sorted(FINAL_STATES))
    return paginate(
        queryset,
        order_by="received_at",
        cursor=cursor,
        limit=limit,
        salt=f"justice.complaints.{actor.agency_id}",
    )


# --- the unit's side of one case ----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseJustice:
    case: CaseFile
    complaints: list[Complaint]
    open_complaint: Complaint | None
    competent_office: Agency | None
    consent: Consent | None
    measures: list[ProtectionMeasure]
    can_forward: bool
    offices: list[Agency]


def case_justice(*, actor: Actor, case_id: uuid.UUID | str) -> CaseJustice:
    """The justice status of a case for the unit that holds it: its complaints, the measures
    in force, whether and where it can be forwarded. Anyone else: ``NotFound``."""
    try:
        pk = case_id if isinstance(case_id, uuid.UUID) else uuid.UUID(str(case_id))
    except ValueError:
        raise NotFound from None
    case = CaseFile.objects.select_related("survivor", "unit").filter(pk=pk).first()
    if case is None or not case_policies.is_unit_staff(actor, case.unit_id):
        raise NotFound
    complaints = list(
        Complaint.objects.filter(case=case)
        .select_related("office", "grant")
        .order_by("-received_at", "-id")[:PAGE_ROWS]
    )
    open_complaint = next((c for c in complaints if c.state not in FINAL_STATES), None)
    office_id = services.competent_office_id(case)
    competent = Agency.objects.filter(pk=office_id).first() if office_id is not None else None
    consent = (
        Consent.objects.filter(
            case=case, purpose=ConsentPurpose.SHARE_PROSECUTOR, revoked_at__isnull=True
        )
        .order_by("-recorded_at")
        .first()
    )
    measures = list(
        ProtectionMeasure.objects.filter(complaint__case=case)
        .select_related("complaint")
        .order_by("-starts_on", "-id")[:PAGE_ROWS]
    )
    for measure in measures:
        measure.complaint.case = case
    offices = list(
        Agency.objects.filter(is_active=True, kind__in=sorted(policies.PROSECUTION_KINDS))
        .only("id", "name_ar", "name_fr", "kind")
        .order_by("name_fr", "id")[:PAGE_ROWS]
    )
    return CaseJustice(
        case=case,
        complaints=complaints,
        open_complaint=open_complaint,
        competent_office=competent,
        consent=consent,
        measures=measures,
        can_forward=open_complaint is None
        and case_policies.allowed(actor, case_policies.Action.SHARE, case),
        offices=offices,
    )


def live_grant(complaint: Complaint) -> Grant | None:
    """The complaint's grant if it still lets the office read her file."""
    grant = complaint.grant
    if grant is None or grant.revoked_at is not None:
        return None
    if grant.ends_at is not None and grant.ends_at <= timezone.now():
        return None
    consent = grant.consent
    if consent is not None and (consent.revoked_at is not None or not consent.granted):
        return None
    return grant
