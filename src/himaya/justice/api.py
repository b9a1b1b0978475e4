"""The justice chain's API (mounted at /api/v1/justice/): the same services, selectors and
policies as the pages.

* Reads need ``justice:read``, writes ``justice:write``; a scope never widens what the
  token's membership may do.
* Another office's complaint, a complaint that does not exist and an id that is not one all
  answer the same ``404``.
* A complaint's answer is the office's own record (decisions, hearings, measures, breaches)
  and *what* it received (field groups, basis): her file itself is read at
  ``GET /api/v1/cases/{case_id}`` with ``cases:read``, cut to the grant (tell it once).
* Lists are keyset pages (``cursor``, ``limit``), references and dates only.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from himaya.accounts.api_auth import api_actor, require_scope
from himaya.accounts.scopes import Scope
from himaya.cases.schemas import Text
from himaya.core.pagination import PageQuery
from himaya.justice import selectors, services
from himaya.justice.models import Breach, Complaint, Decision, Hearing, ProtectionMeasure

router = Router(tags=["justice"])

READ = require_scope(Scope.JUSTICE_READ)
WRITE = require_scope(Scope.JUSTICE_WRITE)


# --- schemas ------------------------------------------------------------------------------


class ComplaintItemOut(Schema):
    id: int
    case_id: uuid.UUID
    case_reference: str
    office_id: int
    state: str
    source: str
    needs_confirmation: bool
    received_at: datetime
    decision_due_on: date


class ComplaintListOut(Schema):
    items: list[ComplaintItemOut]
    next_cursor: str | None


class ComplaintListQueryIn(PageQuery):
    open_only: bool = False


class ReceivedOut(Schema):
    """What the office received and on which ground (not the content: see /cases/{id})."""

    basis: str | None
    consent_recorded_at: datetime | None
    recorded_by_her_online: bool
    groups: list[str]
    live: bool


class DecisionOut(Schema):
    id: int
    kind: str
    reason: str
    decided_at: datetime


class HearingOut(Schema):
    id: int
    scheduled_at: datetime
    place: str
    remote: bool
    state: str
    outcome: str
    sentence: str


class MeasureOut(Schema):
    id: int
    kind: str
    distance_m: int | None
    legal_basis: str
    authority: str
    starts_on: date
    ends_on: date | None
    protected: list[str]
    conditions: str
    on_conviction: bool
    state: str


class BreachOut(Schema):
    id: int
    measure_id: int
    reported_by: str
    description: str
    created_at: datetime


class ComplaintOut(ComplaintItemOut):
    received: ReceivedOut
    decisions: list[DecisionOut]
    hearings: list[HearingOut]
    measures: list[MeasureOut]
    breaches: list[BreachOut]


class ForwardIn(Schema):
    office_id: int | None = Field(
        default=None, description="Default: the office competent for the case's communes."
    )
    basis: str = Field(
        default="",
        description="Empty: her consent. Or 'minor' / 'life_threat' with a reason.",
    )
    reason: Text = ""


class ForwardOut(Schema):
    complaint: ComplaintItemOut
    created: bool


class DecisionIn(Schema):
    kind: str
    reason: Text = ""


class HearingIn(Schema):
    scheduled_at: datetime
    place: Text = ""
    remote: bool = False


class OutcomeIn(Schema):
    outcome: str
    sentence: Text = ""


class MeasureIn(Schema):
    kind: str
    legal_basis: str
    authority: str
    starts_on: date
    ends_on: date | None = None
    protected: list[str] = Field(default_factory=lambda: ["survivor"])
    conditions: Text = ""
    distance_m: int | None = Field(default=None, ge=1, le=100_000)
    on_conviction: bool = False


class BreachIn(Schema):
    description: Text


class CaseJusticeOut(Schema):
    case_id: uuid.UUID
    complaints: list[ComplaintItemOut]
    competent_office_id: int | None
    can_forward: bool
    measures: list[MeasureOut]


# --- serialisation ------------------------------------------------------------------------


def _item(c: Complaint) -> ComplaintItemOut:
    return ComplaintItemOut(
        id=c.pk,
        case_id=c.case_id,
        case_reference=c.case.reference,
        office_id=c.office_id,
        state=c.state,
        source=c.source,
        needs_confirmation=c.needs_confirmation,
        received_at=c.received_at,
        decision_due_on=c.decision_due_on,
    )


def _decision(d: Decision) -> DecisionOut:
    return DecisionOut(id=d.pk, kind=d.kind, reason=str(d.reason or ""), decided_at=d.decided_at)


def _hearing(h: Hearing) -> HearingOut:
    return HearingOut(
        id=h.pk,
        scheduled_at=h.scheduled_at,
        place=h.place,
        remote=h.remote,
        state=h.state,
        outcome=h.outcome,
        sentence=str(h.sentence or ""),
    )


def _measure(m: ProtectionMeasure) -> MeasureOut:
    return MeasureOut(
        id=m.pk,
        kind=m.kind,
        distance_m=m.distance_m,
        legal_basis=m.legal_basis,
        authority=m.authority,
        starts_on=m.starts_on,
        ends_on=m.ends_on,
        protected=list(m.protected),
        conditions=str(m.conditions or ""),
        on_conviction=m.on_conviction,
        state=m.state,
    )


def _breach(b: Breach) -> BreachOut:
    return BreachOut(
        id=b.pk,
        measure_id=b.measure_id,
        reported_by=b.reported_by_kind,
        description=str(b.description or ""),
        created_at=b.created_at,
    )


# --- endpoints ----------------------------------------------------------------------------


@router.get("/complaints", auth=READ, response=ComplaintListOut, summary="Complaints, a page")
def complaint_list(request: HttpRequest, query: Query[ComplaintListQueryIn]) -> ComplaintListOut:
    """The office's complaints (prosecutors) or the unit's (unit staff), newest first."""
    page = selectors.complaint_list(
        actor=api_actor(request), cursor=query.cursor, limit=query.limit, open_only=query.open_only
    )
    return ComplaintListOut(items=[_item(c) for c in page.items], next_cursor=page.next_cursor)


@router.get(
    "/queue", auth=READ, response=ComplaintListOut, summary="Complaints awaiting a decision"
)
def complaint_queue(request: HttpRequest, query: Query[PageQuery]) -> ComplaintListOut:
    """The prosecutor's queue, earliest decision deadline first."""
    work = selectors.prosecutor_queue(
        actor=api_actor(request), cursor=query.cursor, limit=query.limit
    )
    return ComplaintListOut(
        items=[_item(c) for c in work.awaiting.items], next_cursor=work.awaiting.next_cursor
    )


@router.get(
    "/complaints/{int:complaint_id}",
    auth=READ,
    response=ComplaintOut,
    summary="One complaint: the office's record and what it received",
)
def complaint_get(request: HttpRequest, complaint_id: int) -> ComplaintOut:
    details = selectors.complaint_details(actor=api_actor(request), complaint_id=complaint_id)
    c = details.complaint
    grant = c.grant
    consent = grant.consent if grant is not None else None
    return ComplaintOut(
        **_item(c).model_dump(),
        received=ReceivedOut(
            basis=grant.basis if grant is not None else None,
            consent_recorded_at=consent.recorded_at if consent is not None else None,
            recorded_by_her_online=consent is not None and consent.recorded_by_id is None,
            groups=list(grant.scope) if grant is not None else [],
            live=selectors.live_grant(c) is not None,
        ),
        decisions=[_decision(d) for d in details.decisions],
        hearings=[_hearing(h) for h in details.hearings],
        measures=[_measure(m) for m in details.measures],
        breaches=[_breach(b) for b in details.breaches],
    )


@router.get(
    "/cases/{uuid:case_id}",
    auth=READ,
    response=CaseJusticeOut,
    summary="The justice status of one of the unit's cases",
)
def case_status(request: HttpRequest, case_id: uuid.UUID) -> CaseJusticeOut:
    state = selectors.case_justice(actor=api_actor(request), case_id=case_id)
    for complaint in state.complaints:
        complaint.case = state.case
    return CaseJusticeOut(
        case_id=state.case.pk,
        complaints=[_item(c) for c in state.complaints],
        competent_office_id=state.competent_office.pk if state.competent_office else None,
        can_forward=state.can_forward,
        measures=[_measure(m) for m in state.measures],
    )


@router.post(
    "/cases/{uuid:case_id}/forward",
    auth=WRITE,
    response={200: ForwardOut, 201: ForwardOut},
    summary="Forward her complaint to the prosecutor (idempotent)",
    description=(
        "On her live consent to share with the prosecutor (within its scope), or on a legal "
        "basis with a reason. 201 with the new complaint; 200 with the complaint already with "
        "that office (nothing is sent twice); 422 on office_id when another office has it."
    ),
)
def forward(request: HttpRequest, case_id: uuid.UUID, payload: ForwardIn) -> Status[ForwardOut]:
    outcome = services.complaint_forward_with_outcome(
        actor=api_actor(request),
        case_id=case_id,
        office_id=payload.office_id,
        basis=payload.basis,
        reason=payload.reason,
    )
    complaint = Complaint.objects.select_related("case").get(pk=outcome.complaint.pk)
    return Status(
        201 if outcome.created else 200,
        ForwardOut(complaint=_item(complaint), created=outcome.created),
    )


@router.post(
    "/complaints/{int:complaint_id}/decisions",
    auth=WRITE,
    response={201: DecisionOut},
    summary="Record a decision",
)
def decision_add(
    request: HttpRequest, complaint_id: int, payload: DecisionIn
) -> Status[DecisionOut]:
    decision = services.decision_record(
        actor=api_actor(request),
        complaint_id=complaint_id,
        kind=payload.kind,
        reason=payload.reason,
    )
    return Status(201, _decision(decision))


@router.post(
    "/complaints/{int:complaint_id}/hearings",
    auth=WRITE,
    response={201: HearingOut},
    summary="Set a hearing",
)
def hearing_add(request: HttpRequest, complaint_id: int, payload: HearingIn) -> Status[HearingOut]:
    hearing = services.hearing_schedule(
        actor=api_actor(request),
        complaint_id=complaint_id,
        scheduled_at=payload.scheduled_at,
        place=payload.place,
        remote=payload.remote,
    )
    return Status(201, _hearing(hearing))


@router.post(
    "/hearings/{int:hearing_id}/outcome",
    auth=WRITE,
    response=HearingOut,
    summary="Record a hearing's outcome",
)
def hearing_outcome(request: HttpRequest, hearing_id: int, payload: OutcomeIn) -> HearingOut:
    hearing = services.hearing_record_outcome(
        actor=api_actor(request),
        hearing_id=hearing_id,
        outcome=payload.outcome,
        sentence=payload.sentence,
    )
    return _hearing(hearing)


@router.post(
    "/complaints/{int:complaint_id}/measures",
    auth=WRITE,
    response={201: MeasureOut},
    summary="Order a protection measure",
)
def measure_add(request: HttpRequest, complaint_id: int, payload: MeasureIn) -> Status[MeasureOut]:
    measure = services.measure_order(
        actor=api_actor(request),
        complaint_id=complaint_id,
        kind=payload.kind,
        legal_basis=payload.legal_basis,
        authority=payload.authority,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        protected=payload.protected,
        conditions=payload.conditions,
        distance_m=payload.distance_m,
        on_conviction=payload.on_conviction,
    )
    return Status(201, _measure(measure))


@router.post(
    "/measures/{int:measure_id}/breaches",
    auth=WRITE,
    response={201: BreachOut},
    summary="Report a breach of a measure (alerts the unit chief and the office)",
)
def breach_add(request: HttpRequest, measure_id: int, payload: BreachIn) -> Status[BreachOut]:
    breach = services.breach_report(
        actor=api_actor(request), measure_id=measure_id, description=payload.description
    )
    return Status(201, _breach(breach))
