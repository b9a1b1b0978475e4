"""The case file's API (mounted at /api/v1/cases/): the same services, selectors and policies
as the pages, so one policy decides and one audit trail records whichever the door.

* Reads need a token with ``cases:read``, writes ``cases:write`` (a verified staff session is
  not narrowed by scopes). A scope never widens what the token's membership may do.
* A case that does not exist, a case the caller may not see and an id that is not one all
  answer the same ``404``: an outsider cannot learn that a case exists.
* ``GET /{case_id}`` is cut to the caller's access: sections of field groups outside
  ``access.groups`` are absent from the answer (not null), and the holding unit's working
  record (notes, tasks, consents, sharing) is absent for anyone outside the unit.
* Intake is idempotent: the client sends an ``Idempotency-Key`` header, the same for every
  retry of one interview; a replay answers ``200`` with the case the first call opened
  (``201``).
* Nothing identifying ever travels in a URL (they end up in logs and histories): search
  criteria go in a POST body, ids in paths are random UUIDs and cursors are opaque.

Endpoints are thin: parse, call a service or a selector, serialize what the access allows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import P, Path, Query, Router, Status
from ninja.params import HeaderEx

from himaya.accounts.api_auth import api_actor, require_scope
from himaya.accounts.scopes import Scope
from himaya.cases import selectors, services
from himaya.cases.intake import (
    IDEMPOTENCY_KEY,
    incident_from_dict,
    intake_from_dict,
    perpetrator_from_dict,
)
from himaya.cases.models import (
    Alert,
    CaseFile,
    Consent,
    ConsentPurpose,
    Dependant,
    Grant,
    Incident,
    Note,
    Task,
    TimelineEntry,
)
from himaya.cases.policies import Access, FieldGroup, is_emergency, may_read_alerts
from himaya.cases.schemas import (
    MAX_ID,
    AlertListOut,
    AlertOut,
    AlertQueryIn,
    AssignIn,
    BreakGlassIn,
    BreakGlassOut,
    CaseOpenedOut,
    CaseOut,
    CaseQueryIn,
    CaseStateOut,
    ClosureRequestIn,
    ConsentRecordedOut,
    ConsentRecordIn,
    ConsentRevokedOut,
    DependantAddIn,
    DependantSavedOut,
    DependantUpdateIn,
    GrantOut,
    IncidentAddedOut,
    IncidentAddIn,
    IncidentUpdatedOut,
    IncidentUpdateIn,
    IntakeIn,
    NoteAddedOut,
    NoteAddIn,
    PerpetratorAddedOut,
    PerpetratorAddIn,
    PerpetratorUpdatedOut,
    PerpetratorUpdateIn,
    QueueOut,
    QueueQueryIn,
    ReopenIn,
    SearchIn,
    SearchOut,
    ShareWithoutConsentIn,
    SurvivorUpdatedOut,
    SurvivorUpdateIn,
    TaskAddedOut,
    TaskAddIn,
    TaskCompletedOut,
    TimelineOut,
    TransitionIn,
)
from himaya.cases.search import SearchResult, describe
from himaya.cases.states import CaseState
from himaya.core.errors import InvalidInput, NotFound
from himaya.core.pagination import PageQuery

router = Router(tags=["cases"])

READ = require_scope(Scope.CASES_READ)
WRITE = require_scope(Scope.CASES_WRITE)

#: Which of her record's declinable questions belong to which field group: a reader who
#: may not see a field does not learn that she declined it either.
_DECLINED_GROUP = {
    "full_name": FieldGroup.IDENTITY,
    "cin": FieldGroup.IDENTITY,
    "date_of_birth": FieldGroup.IDENTITY,
    "age_range": FieldGroup.IDENTITY,
    "phone": FieldGroup.CONTACT,
    "address": FieldGroup.CONTACT,
    "residence_commune": FieldGroup.CONTACT,
    "preferred_language": FieldGroup.CONTACT,
}


# --- serialisation ------------------------------------------------------------------------


def _text(value: object) -> str:
    # Sealed values read as str (an erased one as the translated "erased" text).
    return "" if value is None else str(value)


def _grant_out(grant: Grant) -> dict[str, object]:
    return {
        "id": grant.pk,
        "agency_id": grant.agency_id,
        "basis": grant.basis,
        "scope": list(grant.scope),
        "starts_at": grant.starts_at,
        "ends_at": grant.ends_at,
        "emergency": is_emergency(grant),
    }


def _access_out(access: Access, grants: Iterable[Grant]) -> dict[str, object]:
    return {
        "holding_unit": access.holding_unit,
        "groups": sorted(str(group) for group in access.groups),
        "bases": ["holding_unit"]
        if access.holding_unit
        else sorted({grant.basis for grant in access.grants}),
        "emergency": any(is_emergency(grant) for grant in access.grants),
        "grants": [] if access.holding_unit else [_grant_out(grant) for grant in grants],
    }


def _survivor_out(case: CaseFile, access: Access) -> dict[str, object]:
    survivor = case.survivor
    out: dict[str, object] = {}
    if access.sees(FieldGroup.IDENTITY):
        out |= {
            "full_name": _text(survivor.full_name),
            "cin": _text(survivor.cin),
            "date_of_birth": _text(survivor.date_of_birth),
            "age_range": survivor.age_range,
        }
    if access.sees(FieldGroup.CONTACT):
        contact = survivor.safe_contact
        out |= {
            "phone": _text(survivor.phone),
            "address": _text(survivor.address),
            "residence_commune_id": survivor.residence_commune_id,
            "preferred_language": survivor.preferred_language,
            "safe_contact": contact if isinstance(contact, dict) else None,
        }
    out["declined"] = [
        name
        for name in survivor.declined
        if name in _DECLINED_GROUP and access.sees(_DECLINED_GROUP[name])
    ]
    return out


def _incident_out(incident: Incident) -> dict[str, object]:
    return {
        "id": incident.pk,
        "occurred_on": incident.occurred_on,
        "occurred_from": incident.occurred_from,
        "occurred_to": incident.occurred_to,
        "commune_id": incident.commune_id,
        "forms": list(incident.forms),
        "acts": list(incident.acts),
        "gbvims_type": incident.gbvims_type,
        "context": list(incident.context),
        "declined": list(incident.declined),
    }


def _consent_out(consent: Consent) -> dict[str, object]:
    return {
        "id": consent.pk,
        "purpose": consent.purpose,
        "granted": consent.granted,
        "scope": list(consent.scope),
        "recorded_at": consent.recorded_at,
        "revoked_at": consent.revoked_at,
    }


def _note_out(note: Note) -> dict[str, object]:
    return {
        "id": note.pk,
        "author_id": note.author_id,
        "body": _text(note.body),
        "created_at": note.created_at,
    }


def _task_out(task: Task) -> dict[str, object]:
    return {
        "id": task.pk,
        "case_id": task.case_id,
        "description": _text(task.description),
        "due_on": task.due_on,
        "assigned_to_id": task.assigned_to_id,
        "created_at": task.created_at,
        "done_at": task.done_at,
    }


def _case_out(details: selectors.CaseDetails) -> dict[str, object]:
    """The case as ``details`` (already cut to the access by the selector) allows; a key is
    only set for what the reader may see, and unset keys are left out of the answer."""
    case, access = details.case, details.access
    sees = access.sees
    out: dict[str, object] = {
        "id": case.pk,
        "reference": case.reference,
        "state": case.state,
        "channel": case.channel,
        "unit": {"id": case.unit.pk, "name_ar": case.unit.name_ar, "name_fr": case.unit.name_fr},
        "created_at": case.created_at,
        "access": _access_out(access, details.grants),
    }
    if sees(FieldGroup.IDENTITY) or sees(FieldGroup.CONTACT):
        out["survivor"] = _survivor_out(case, access)
    if sees(FieldGroup.NARRATIVE):
        out["narrative"] = _text(case.narrative)
        out["interview"] = {
            "private_room": case.private_room,
            "interviewer_gender": case.interviewer_gender,
            "interviewer_gender_chosen": case.interviewer_gender_chosen,
            "interpreter_language": case.interpreter_language,
            "others_present": _text(case.others_present),
        }
    if sees(FieldGroup.INCIDENTS):
        out["incidents"] = [_incident_out(incident) for incident in details.incidents]
    if sees(FieldGroup.PERPETRATORS):
        out["perpetrators"] = [
            {
                "id": perpetrator.pk,
                "relationship": perpetrator.relationship,
                "full_name": _text(perpetrator.full_name),
                "cin": _text(perpetrator.cin),
                "phone": _text(perpetrator.phone),
                "age_range": perpetrator.age_range,
                "number_involved": perpetrator.number_involved,
                "declined": list(perpetrator.declined),
            }
            for perpetrator in details.perpetrators
        ]
    if sees(FieldGroup.DEPENDANTS):
        out["dependants"] = [
            {
                "id": dependant.pk,
                "first_name": _text(dependant.first_name),
                "age": dependant.age,
                "relationship": dependant.relationship,
                "at_risk": dependant.at_risk,
                "declined": list(dependant.declined),
            }
            for dependant in details.dependants
        ]
    if sees(FieldGroup.EVIDENCE):
        out["evidence"] = [
            {
                "id": item.pk,
                "kind": item.kind,
                "description": _text(item.description),
                "content_type": item.content_type,
                "size": item.size,
                "sha256_stored": item.sha256_stored,
                "uploaded_at": item.uploaded_at,
            }
            for item in details.evidence
        ]
    if access.holding_unit:
        out |= {
            "legal_basis": case.legal_basis,
            "assigned_to_id": case.assigned_to_id,
            "repeat_perpetrator": case.repeat_perpetrator,
            "next_due_on": case.next_due_on,
            "closure_reason": case.closure_reason,
            "closed_at": case.closed_at,
            "updated_at": case.updated_at,
            "consents": [_consent_out(consent) for consent in details.consents],
            "sharing": [_grant_out(grant) for grant in details.grants],
            "open_tasks": [_task_out(task) for task in details.open_tasks],
        }
        if details.notes is not None:
            out["notes"] = {
                "items": [_note_out(note) for note in details.notes.items],
                "next_cursor": details.notes.next_cursor,
            }
    return out


def _case_state_out(case: CaseFile) -> CaseStateOut:
    return CaseStateOut(
        id=case.pk,
        reference=case.reference,
        state=CaseState(case.state),
        assigned_to_id=case.assigned_to_id,
        closure_reason=case.closure_reason,
        closed_at=case.closed_at,
        updated_at=case.updated_at,
    )


def _grant(grant: Grant) -> GrantOut:
    return GrantOut(
        id=grant.pk,
        case_id=grant.case_id,
        agency_id=grant.agency_id,
        basis=grant.basis,
        scope=list(grant.scope),
        starts_at=grant.starts_at,
        ends_at=grant.ends_at,
    )


def _timeline_entry_out(entry: TimelineEntry) -> dict[str, object]:
    return {
        "id": entry.pk,
        "at": entry.at,
        "kind": entry.kind,
        "from_state": entry.from_state,
        "to_state": entry.to_state,
        "actor_id": entry.actor_id,
        "metadata": dict(entry.metadata),
    }


def _alert_out(alert: Alert) -> dict[str, object]:
    other = alert.other_agency
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "case_id": alert.case_id,
        "case_reference": alert.case.reference if alert.case is not None else None,
        "other_agency_id": alert.other_agency_id,
        "other_agency_name_ar": other.name_ar if other is not None else None,
        "other_agency_name_fr": other.name_fr if other is not None else None,
        "created_at": alert.created_at,
        "read_at": alert.read_at,
    }


def _search_out(result: SearchResult) -> dict[str, object]:
    return {
        "own": [
            {
                "case_id": match.case.pk,
                "reference": match.case.reference,
                "state": match.case.state,
                "created_at": match.case.created_at,
                "reasons": describe(match.reasons),
                "strong": match.strong,
            }
            for match in result.own
        ],
        "elsewhere": [
            {
                "agency_id": unit.agency_id,
                "name_ar": unit.name_ar,
                "name_fr": unit.name_fr,
                "strong": unit.strong,
            }
            for unit in result.elsewhere
        ],
    }


def _idempotency_key(value: str) -> str:
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidInput(
            fields={
                "Idempotency-Key": [
                    _(
                        "Send 8 to 64 letters, digits, hyphens or underscores, the same for "
                        "every retry of one intake."
                    )
                ]
            }
        )
    return value


# --- opening a case, the queue ------------------------------------------------------------


@router.post(
    "/intake",
    auth=WRITE,
    response={200: CaseOpenedOut, 201: CaseOpenedOut},
    summary="Open a case from the whole intake (idempotent)",
    description=(
        "Validated exactly as the intake pages validate it: every problem at once, each on "
        "its dotted field path (survivor.phone, incidents.0.occurred_on). Send an "
        "Idempotency-Key header, the same for every retry of one interview: the first call "
        "opens the case (201), a retry with the same key answers 200 with that same case."
    ),
)
def case_intake(
    request: HttpRequest,
    payload: IntakeIn,
    idempotency_key: HeaderEx[
        str,
        P(
            alias="Idempotency-Key",
            description="8 to 64 of A-Z a-z 0-9 _ -; the same for every retry of one intake.",
        ),
    ],
) -> Status[CaseOpenedOut]:
    actor = api_actor(request)
    key = _idempotency_key(idempotency_key)
    data = intake_from_dict(payload.model_dump())
    outcome = services.case_open_with_outcome(actor=actor, data=data, idempotency_key=key)
    case = outcome.case
    body = CaseOpenedOut(
        id=case.pk,
        reference=case.reference,
        state=CaseState(case.state),
        created_at=case.created_at,
        replayed=not outcome.created,
    )
    return Status(201 if outcome.created else 200, body)


@router.get("/queue", auth=READ, response=QueueOut, summary="The unit's work list, a page")
def case_queue(request: HttpRequest, query: Query[QueueQueryIn]) -> dict[str, object]:
    page = selectors.unit_queue(
        actor=api_actor(request), view=query.view, cursor=query.cursor, limit=query.limit
    )
    return {
        "items": [
            {
                "id": case.pk,
                "reference": case.reference,
                "state": case.state,
                "channel": case.channel,
                "created_at": case.created_at,
                "assigned_to_id": case.assigned_to_id,
                "next_due_on": case.next_due_on,
                "repeat_perpetrator": case.repeat_perpetrator,
                "survivor_name": _text(case.survivor.full_name),
                "age_range": case.survivor.age_range,
            }
            for case in page.items
        ],
        "next_cursor": page.next_cursor,
    }


# --- finding her again, emergency access, alerts ------------------------------------------


@router.post(
    "/search",
    auth=READ,
    response=SearchOut,
    summary="Find her files by phone, CIN or name",
    description=(
        "Exactly one of phone, cin, name; a name may be narrowed by date_of_birth, "
        "age_range and commune. A POST so that what is typed never appears in a URL. "
        "Your unit's files come with their ids; another unit holding a matching file is "
        "named (which unit to contact) and nothing more. A bare name searches only your "
        "unit's files."
    ),
)
def case_search(request: HttpRequest, payload: SearchIn) -> dict[str, object]:
    actor = api_actor(request)
    given = [name for name in ("phone", "cin", "name") if getattr(payload, name)]
    if len(given) != 1:
        message = _("Search by one of phone, CIN or name.")
        raise InvalidInput(fields={name: [message] for name in given or ("phone", "cin", "name")})
    narrowing = [
        name
        for name in ("date_of_birth", "age_range", "commune")
        if getattr(payload, name) is not None
    ]
    if narrowing and given != ["name"]:
        message = _("Only with a name.")
        raise InvalidInput(fields={name: [message] for name in narrowing})
    if payload.phone:
        result = selectors.find_by_phone(actor=actor, phone=payload.phone)
    elif payload.cin:
        result = selectors.find_by_cin(actor=actor, cin=payload.cin)
    else:
        result = selectors.find_by_name(
            actor=actor,
            name=payload.name or "",
            date_of_birth=payload.date_of_birth,
            age_range=payload.age_range or "",
            commune_id=payload.commune,
        )
    return _search_out(result)


@router.post(
    "/break-glass",
    auth=WRITE,
    response={201: BreakGlassOut},
    summary="Emergency access to another unit's case (needs a fresh second factor)",
    description=(
        "For unit staff and prosecutors of another agency: a written reason, a fresh "
        "second factor, access for a few hours, and the holding unit's chief is alerted. "
        "A token never counts as a fresh second factor, so tokens always get 403 "
        "step_up_required: this is done from a signed-in session. Roles that may never "
        "break glass get 404, as for a case that does not exist."
    ),
)
def case_break_glass(request: HttpRequest, payload: BreakGlassIn) -> Status[BreakGlassOut]:
    grant = services.break_glass(
        actor=api_actor(request),
        reason=payload.reason,
        case_id=payload.case_id,
        reference=payload.reference,
    )
    return Status(
        201,
        BreakGlassOut(
            id=grant.pk,
            case_id=grant.case_id,
            starts_at=grant.starts_at,
            ends_at=grant.ends_at,
            scope=list(grant.scope),
        ),
    )


@router.get("/alerts", auth=READ, response=AlertListOut, summary="The unit chief's unread alerts")
def alert_list(request: HttpRequest, query: Query[AlertQueryIn]) -> dict[str, object]:
    actor = api_actor(request)
    # The same rule as the alerts page (policies.may_read_alerts): the unit chief's only.
    if not may_read_alerts(actor):
        raise NotFound
    page = selectors.alert_page(actor=actor, cursor=query.cursor, limit=query.limit)
    return {"items": [_alert_out(alert) for alert in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/alerts/{int:alert_id}/read", auth=WRITE, response=AlertOut, summary="Mark an alert read"
)
def alert_read(request: HttpRequest, alert_id: int) -> dict[str, object]:
    alert = services.alert_mark_read(actor=api_actor(request), alert_id=alert_id)
    return _alert_out(alert)


@router.post(
    "/tasks/{int:task_id}/complete", auth=WRITE, response=TaskCompletedOut, summary="Task done"
)
def task_complete(request: HttpRequest, task_id: int) -> TaskCompletedOut:
    task = services.task_complete(actor=api_actor(request), task_id=task_id)
    return TaskCompletedOut(
        id=task.pk, case_id=task.case_id, due_on=task.due_on, done_at=task.done_at
    )


# --- one case -----------------------------------------------------------------------------


@router.get(
    "/{uuid:case_id}",
    auth=READ,
    response=CaseOut,
    exclude_unset=True,
    summary="One case, cut to what you may see (audited)",
    description=(
        "access says on what basis you see it and which field groups (identity, contact, "
        "narrative, incidents, perpetrators, evidence, dependants) the answer holds; "
        "sections of any other group are absent. The holding unit's working record "
        "(notes, open tasks, consents, sharing, assignment) is only in the unit's answer."
    ),
)
def case_get(
    request: HttpRequest, case_id: uuid.UUID, query: Query[CaseQueryIn]
) -> dict[str, object]:
    details = selectors.case_details(
        actor=api_actor(request), case_id=case_id, notes_cursor=query.notes_cursor
    )
    return _case_out(details)


@router.get(
    "/{uuid:case_id}/timeline",
    auth=READ,
    response=TimelineOut,
    summary="What happened to the case, oldest first",
)
def case_timeline(
    request: HttpRequest, case_id: uuid.UUID, page: Query[PageQuery]
) -> dict[str, object]:
    result = selectors.case_timeline(
        actor=api_actor(request), case_id=case_id, cursor=page.cursor, limit=page.limit
    )
    return {
        "items": [_timeline_entry_out(entry) for entry in result.items],
        "next_cursor": result.next_cursor,
    }


@router.post(
    "/{uuid:case_id}/notes",
    auth=WRITE,
    response={201: NoteAddedOut},
    summary="Add a note (sealed)",
)
def note_add(request: HttpRequest, case_id: uuid.UUID, payload: NoteAddIn) -> Status[NoteAddedOut]:
    note = services.note_add(actor=api_actor(request), case_id=case_id, body=payload.body)
    return Status(201, NoteAddedOut(id=note.pk, created_at=note.created_at))


@router.post(
    "/{uuid:case_id}/tasks", auth=WRITE, response={201: TaskAddedOut}, summary="Add a task"
)
def task_add(request: HttpRequest, case_id: uuid.UUID, payload: TaskAddIn) -> Status[TaskAddedOut]:
    task = services.task_add(
        actor=api_actor(request),
        case_id=case_id,
        description=payload.description,
        due_on=payload.due_on,
        assigned_to_id=payload.assigned_to_id,
    )
    return Status(
        201,
        TaskAddedOut(
            id=task.pk,
            case_id=task.case_id,
            due_on=task.due_on,
            assigned_to_id=task.assigned_to_id,
            created_at=task.created_at,
            done_at=task.done_at,
        ),
    )


@router.post(
    "/{uuid:case_id}/consents",
    auth=WRITE,
    response={201: ConsentRecordedOut},
    summary="Record her answer for one purpose",
    description=(
        "A new answer replaces the live one; sharing that rested on the old answer is "
        "narrowed to the new scope, or ended if she now says no."
    ),
)
def consent_record(
    request: HttpRequest, case_id: uuid.UUID, payload: ConsentRecordIn
) -> Status[ConsentRecordedOut]:
    consent = services.consent_record(
        actor=api_actor(request),
        case_id=case_id,
        purpose=payload.purpose,
        granted=payload.granted,
        scope=[str(group) for group in payload.scope],
    )
    return Status(
        201,
        ConsentRecordedOut(
            id=consent.pk,
            purpose=ConsentPurpose(consent.purpose),
            granted=consent.granted,
            scope=list(consent.scope),
            recorded_at=consent.recorded_at,
            revoked_at=consent.revoked_at,
        ),
    )


@router.post(
    "/{uuid:case_id}/consents/{purpose}/revoke",
    auth=WRITE,
    response=ConsentRevokedOut,
    summary="She withdraws her consent for one purpose",
    description="Sharing that rested on it ends at once, in the same transaction.",
)
def consent_revoke(
    request: HttpRequest, case_id: uuid.UUID, purpose: ConsentPurpose
) -> ConsentRevokedOut:
    consent = services.consent_revoke(actor=api_actor(request), case_id=case_id, purpose=purpose)
    return ConsentRevokedOut(
        id=consent.pk, purpose=ConsentPurpose(consent.purpose), revoked_at=consent.revoked_at
    )


@router.post(
    "/{uuid:case_id}/transition",
    auth=WRITE,
    response=CaseStateOut,
    summary="Move an active case (assessed, referred, forwarded)",
)
def case_transition(
    request: HttpRequest, case_id: uuid.UUID, payload: TransitionIn
) -> CaseStateOut:
    case = services.case_transition(
        actor=api_actor(request), case_id=case_id, to_state=payload.to_state
    )
    return _case_state_out(case)


@router.post(
    "/{uuid:case_id}/assign", auth=WRITE, response=CaseStateOut, summary="Assign (unit chief)"
)
def case_assign(request: HttpRequest, case_id: uuid.UUID, payload: AssignIn) -> CaseStateOut:
    case = services.case_assign(
        actor=api_actor(request), case_id=case_id, officer_id=payload.officer_id
    )
    return _case_state_out(case)


@router.post(
    "/{uuid:case_id}/closure",
    auth=WRITE,
    response=CaseStateOut,
    summary="Ask the unit chief to close the case",
)
def case_request_closure(
    request: HttpRequest, case_id: uuid.UUID, payload: ClosureRequestIn
) -> CaseStateOut:
    case = services.case_request_closure(
        actor=api_actor(request), case_id=case_id, reason=payload.reason
    )
    return _case_state_out(case)


@router.post(
    "/{uuid:case_id}/closure/approve",
    auth=WRITE,
    response=CaseStateOut,
    summary="Close the case as requested (unit chief)",
)
def case_approve_closure(request: HttpRequest, case_id: uuid.UUID) -> CaseStateOut:
    case = services.case_approve_closure(actor=api_actor(request), case_id=case_id)
    return _case_state_out(case)


@router.post(
    "/{uuid:case_id}/closure/decline",
    auth=WRITE,
    response=CaseStateOut,
    summary="Refuse the closure: back to where it was (unit chief)",
)
def case_decline_closure(request: HttpRequest, case_id: uuid.UUID) -> CaseStateOut:
    case = services.case_decline_closure(actor=api_actor(request), case_id=case_id)
    return _case_state_out(case)


@router.post(
    "/{uuid:case_id}/reopen",
    auth=WRITE,
    response=CaseStateOut,
    summary="Reopen a closed case, with a reason (unit chief)",
)
def case_reopen(request: HttpRequest, case_id: uuid.UUID, payload: ReopenIn) -> CaseStateOut:
    case = services.case_reopen(actor=api_actor(request), case_id=case_id, reason=payload.reason)
    return _case_state_out(case)


@router.post(
    "/{uuid:case_id}/share-without-consent",
    auth=WRITE,
    response={201: GrantOut},
    summary="Share on a legal basis (minor, life-threatening risk); alerts the chief",
)
def case_share_without_consent(
    request: HttpRequest, case_id: uuid.UUID, payload: ShareWithoutConsentIn
) -> Status[GrantOut]:
    grant = services.share_without_consent(
        actor=api_actor(request),
        case_id=case_id,
        agency_id=payload.agency_id,
        basis=payload.basis,
        reason=payload.reason,
        scope=[str(group) for group in payload.scope],
    )
    return Status(201, _grant(grant))


@router.post(
    "/{uuid:case_id}/perpetrators",
    auth=WRITE,
    response={201: PerpetratorAddedOut},
    summary="Name another alleged perpetrator",
    description="Checked as at intake. A match with another survivor's file flags both.",
)
def perpetrator_add(
    request: HttpRequest, case_id: uuid.UUID, payload: PerpetratorAddIn
) -> Status[PerpetratorAddedOut]:
    data = perpetrator_from_dict(payload.model_dump())
    perpetrator = services.perpetrator_add(actor=api_actor(request), case_id=case_id, data=data)
    return Status(
        201,
        PerpetratorAddedOut(
            id=perpetrator.pk,
            relationship=perpetrator.relationship,
            age_range=perpetrator.age_range,
            number_involved=perpetrator.number_involved,
            created_at=perpetrator.created_at,
            case_repeat_perpetrator=perpetrator.case.repeat_perpetrator,
        ),
    )


@router.post(
    "/{uuid:case_id}/incidents",
    auth=WRITE,
    response={201: IncidentAddedOut},
    summary="Record another incident",
    description="Checked as at intake (dates, commune, forms).",
)
def incident_add(
    request: HttpRequest, case_id: uuid.UUID, payload: IncidentAddIn
) -> Status[IncidentAddedOut]:
    data = incident_from_dict(payload.model_dump())
    incident = services.incident_add(actor=api_actor(request), case_id=case_id, data=data)
    fields: dict[str, Any] = {**_incident_out(incident), "created_at": incident.created_at}
    return Status(201, IncidentAddedOut(**fields))


# --- correcting her record after intake ---------------------------------------------------


@router.put(
    "/{uuid:case_id}/survivor",
    auth=WRITE,
    response=SurvivorUpdatedOut,
    summary="Correct her identity, contact and safe-contact record",
    description=(
        "The whole record, checked as at intake: what is sent replaces what was recorded, "
        "and her search indexes follow. The timeline names the fields changed, never their "
        "values."
    ),
)
def survivor_update(
    request: HttpRequest, case_id: uuid.UUID, payload: SurvivorUpdateIn
) -> SurvivorUpdatedOut:
    data = services.survivor_from_dict(payload.model_dump())
    survivor = services.survivor_update(actor=api_actor(request), case_id=case_id, data=data)
    return SurvivorUpdatedOut(
        id=survivor.pk,
        age_range=survivor.age_range,
        residence_commune_id=survivor.residence_commune_id,
        preferred_language=survivor.preferred_language,
        declined=list(survivor.declined),
    )


@router.put(
    "/{uuid:case_id}/incidents/{incident_id}",
    auth=WRITE,
    response=IncidentUpdatedOut,
    summary="Correct an incident",
    description="The whole incident, checked as at intake; classified again.",
)
def incident_update(
    request: HttpRequest,
    case_id: uuid.UUID,
    incident_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    payload: IncidentUpdateIn,
) -> IncidentUpdatedOut:
    data = incident_from_dict(payload.model_dump())
    incident = services.incident_update(
        actor=api_actor(request), case_id=case_id, incident_id=incident_id, data=data
    )
    fields: dict[str, Any] = {**_incident_out(incident), "created_at": incident.created_at}
    return IncidentUpdatedOut(**fields)


@router.put(
    "/{uuid:case_id}/perpetrators/{uuid:perpetrator_id}",
    auth=WRITE,
    response=PerpetratorUpdatedOut,
    summary="Correct what she said about an alleged perpetrator",
    description="Checked as at intake; a match with another survivor's file flags both.",
)
def perpetrator_update(
    request: HttpRequest,
    case_id: uuid.UUID,
    perpetrator_id: uuid.UUID,
    payload: PerpetratorUpdateIn,
) -> PerpetratorUpdatedOut:
    data = perpetrator_from_dict(payload.model_dump())
    perpetrator = services.perpetrator_update(
        actor=api_actor(request), case_id=case_id, perpetrator_id=perpetrator_id, data=data
    )
    return PerpetratorUpdatedOut(
        id=perpetrator.pk,
        relationship=perpetrator.relationship,
        age_range=perpetrator.age_range,
        number_involved=perpetrator.number_involved,
        created_at=perpetrator.created_at,
        case_repeat_perpetrator=CaseFile.objects.filter(
            pk=perpetrator.case_id, repeat_perpetrator=True
        ).exists(),
    )


def _dependant_out(dependant: Dependant) -> DependantSavedOut:
    return DependantSavedOut(
        id=dependant.pk,
        age=dependant.age,
        relationship=dependant.relationship,
        at_risk=dependant.at_risk,
        declined=list(dependant.declined),
    )


@router.post(
    "/{uuid:case_id}/dependants",
    auth=WRITE,
    response={201: DependantSavedOut},
    summary="Record a child or other dependant at risk",
)
def dependant_add(
    request: HttpRequest, case_id: uuid.UUID, payload: DependantAddIn
) -> Status[DependantSavedOut]:
    data = services.dependant_from_dict(payload.model_dump())
    dependant = services.dependant_add(actor=api_actor(request), case_id=case_id, data=data)
    return Status(201, _dependant_out(dependant))


@router.put(
    "/{uuid:case_id}/dependants/{dependant_id}",
    auth=WRITE,
    response=DependantSavedOut,
    summary="Correct what was recorded about a child or dependant",
)
def dependant_update(
    request: HttpRequest,
    case_id: uuid.UUID,
    dependant_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    payload: DependantUpdateIn,
) -> DependantSavedOut:
    data = services.dependant_from_dict(payload.model_dump())
    dependant = services.dependant_update(
        actor=api_actor(request), case_id=case_id, dependant_id=dependant_id, data=data
    )
    return _dependant_out(dependant)
