"""The referrals API (mounted at /api/v1/referrals/): the same services, selectors and
policies as the pages, so one policy decides and one audit trail records, whichever door.

* Reads need a token with ``referrals:read``, writes ``referrals:write`` (a verified staff
  session is not narrowed by scopes).
* A referral the caller's agency neither sent nor received, an id that names nothing and an
  id that is not a UUID all answer the same ``404``.
* A referral carries the first contact (for those who may read it) and the "what you received
  and why" box; the receiving agency reads the case itself with ``GET /cases/{case_id}``,
  which the cases policy cuts to the referral's grant: her file is never copied here.
* Lists are keyset-paginated (``cursor``, ``limit``) and say nothing about her.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from himaya.accounts.api_auth import api_actor, require_scope
from himaya.accounts.scopes import Scope
from himaya.core.pagination import PageQuery
from himaya.referrals import selectors, services
from himaya.referrals.models import Referral
from himaya.referrals.schemas import (
    CloseIn,
    CompleteIn,
    DeclineIn,
    FirstContactIn,
    IncomingQueryIn,
    ProvidedIn,
    ReferAgainIn,
    ReferralListOut,
    ReferralOut,
    ReferralStateOut,
    ServiceReferralIn,
    WithdrawIn,
)

router = Router(tags=["referrals"])

READ = require_scope(Scope.REFERRALS_READ)
WRITE = require_scope(Scope.REFERRALS_WRITE)


def _agency(agency: object) -> dict[str, object]:
    return {
        "id": getattr(agency, "pk", 0),
        "name_ar": getattr(agency, "name_ar", ""),
        "name_fr": getattr(agency, "name_fr", ""),
    }


def _item(referral: Referral) -> dict[str, object]:
    return {
        "id": referral.pk,
        "kind": referral.kind,
        "state": referral.state,
        "from_agency": _agency(referral.from_agency),
        "to_agency": _agency(referral.to_agency),
        "case_id": referral.case_id,
        "case_reference": referral.case.reference if referral.case is not None else None,
        "need": referral.need,
        "urgency": referral.urgency,
        "deadline_at": referral.deadline_at,
        "overdue": selectors.is_overdue(referral, timezone.now()),
        "escalation_level": referral.escalation_level,
        "created_at": referral.created_at,
    }


def _text(value: object) -> str | None:
    return str(value) if value else None


def _detail(view: selectors.ReferralView) -> dict[str, object]:
    referral = view.referral
    out = _item(referral) | {
        "side": str(view.side),
        "message": _text(referral.message),
        "decline_reason": _text(referral.decline_reason),
        "provided": _text(referral.provided),
        "close_reason": referral.close_reason,
        "admitted_at": referral.admitted_at,
        "departed_at": referral.departed_at,
        "events": [
            {"at": e.at, "kind": e.kind, "from_state": e.from_state, "to_state": e.to_state}
            for e in view.events
        ],
    }
    fc = view.first_contact
    if fc is not None:
        out["first_contact"] = {
            "full_name": str(fc.full_name or ""),
            "phone": str(fc.phone or ""),
            "needs": str(fc.needs or ""),
            "immediate_danger": fc.immediate_danger,
            "safe_contact": fc.safe_contact if isinstance(fc.safe_contact, dict) else None,
            "note": str(fc.note or ""),
            "residence_commune_id": fc.residence_commune_id,
            "preferred_language": fc.preferred_language,
            "forms": list(fc.forms),
            "occurred_on": fc.occurred_on,
            "declined": list(fc.declined),
        }
    received = view.received
    if received is not None:
        out["received"] = {
            "groups": received.groups if received.live else [],
            "basis": received.basis,
            "consent_purpose": received.consent_purpose or None,
            "consent_recorded_at": received.consent_recorded_at,
            "legal_reason": received.legal_reason or None,
            "live": received.live,
            "ended_at": received.ended_at,
        }
    return out


def _state(referral: Referral) -> ReferralStateOut:
    return ReferralStateOut(
        id=referral.pk,
        state=referral.state,
        case_id=referral.case_id,
        updated_at=referral.updated_at,
    )


@router.get(
    "/incoming",
    auth=READ,
    response=ReferralListOut,
    summary="Referrals your agency received, by deadline (or the finished ones)",
    description=(
        "Waiting ones first by deadline: for a service, waiting and accepted; for a police "
        "unit, only those not yet answered (an accepted referral from a station has become "
        "a case). finished=true lists the others, newest first."
    ),
)
def incoming(request: HttpRequest, query: Query[IncomingQueryIn]) -> dict[str, object]:
    page = selectors.incoming(
        actor=api_actor(request),
        active=not query.finished,
        cursor=query.cursor,
        limit=query.limit,
    )
    return {"items": [_item(r) for r in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/sent", auth=READ, response=ReferralListOut, summary="Referrals your agency sent, newest first"
)
def sent(request: HttpRequest, query: Query[PageQuery]) -> dict[str, object]:
    page = selectors.outgoing(actor=api_actor(request), cursor=query.cursor, limit=query.limit)
    return {"items": [_item(r) for r in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/first-contacts",
    auth=WRITE,
    response={201: ReferralOut},
    summary="A focal point records a first contact and refers her to a unit",
)
def first_contact(request: HttpRequest, payload: FirstContactIn) -> Status[dict[str, object]]:
    actor = api_actor(request)
    referral = services.first_contact_refer(
        actor=actor,
        data=services.FirstContactData(
            full_name=payload.full_name,
            phone=payload.phone,
            needs=payload.needs,
            immediate_danger=payload.immediate_danger,
            safe_contact=payload.safe_contact,
            note=payload.note,
            residence_commune_id=payload.residence_commune_id,
            preferred_language=payload.preferred_language,
            forms=list(payload.forms),
            occurred_on=payload.occurred_on,
            declined=list(payload.declined),
        ),
        to_unit_id=payload.to_unit_id,
        override_reason=payload.override_reason,
    )
    return Status(201, _detail(selectors.referral_view(actor=actor, referral_id=referral.pk)))


@router.get(
    "/cases/{uuid:case_id}",
    auth=READ,
    response=ReferralListOut,
    summary="A case's referrals (the unit that holds it)",
)
def case_referrals(request: HttpRequest, case_id: uuid.UUID) -> dict[str, object]:
    items = selectors.case_referrals(actor=api_actor(request), case_id=case_id)
    return {"items": [_item(r) for r in items], "next_cursor": None}


@router.post(
    "/cases/{uuid:case_id}",
    auth=WRITE,
    response={201: ReferralOut},
    summary="Refer a case to a service, on her consent or a legal basis",
)
def refer_case(
    request: HttpRequest, case_id: uuid.UUID, payload: ServiceReferralIn
) -> Status[dict[str, object]]:
    actor = api_actor(request)
    referral = services.referral_send(
        actor=actor,
        case_id=case_id,
        data=services.ServiceReferralData(
            agency_id=payload.agency_id,
            need=payload.need,
            urgency=payload.urgency,
            scope=list(payload.scope),
            message=payload.message,
            basis=payload.basis,
            legal_reason=payload.legal_reason,
            suggested_agency_id=payload.suggested_agency_id,
            override_reason=payload.override_reason,
        ),
    )
    return Status(201, _detail(selectors.referral_view(actor=actor, referral_id=referral.pk)))


@router.get("/{uuid:referral_id}", auth=READ, response=ReferralOut, summary="One referral")
def referral_detail(request: HttpRequest, referral_id: uuid.UUID) -> dict[str, object]:
    return _detail(selectors.referral_view(actor=api_actor(request), referral_id=referral_id))


@router.post("/{uuid:referral_id}/accept", auth=WRITE, response=ReferralStateOut, summary="Accept")
def accept(request: HttpRequest, referral_id: uuid.UUID) -> ReferralStateOut:
    return _state(services.referral_accept(actor=api_actor(request), referral_id=referral_id))


@router.post(
    "/{uuid:referral_id}/decline",
    auth=WRITE,
    response=ReferralStateOut,
    summary="Decline, saying why",
)
def decline(request: HttpRequest, referral_id: uuid.UUID, payload: DeclineIn) -> ReferralStateOut:
    return _state(
        services.referral_decline(
            actor=api_actor(request), referral_id=referral_id, reason=payload.reason
        )
    )


@router.post(
    "/{uuid:referral_id}/withdraw", auth=WRITE, response=ReferralStateOut, summary="Withdraw"
)
def withdraw(request: HttpRequest, referral_id: uuid.UUID, payload: WithdrawIn) -> ReferralStateOut:
    return _state(
        services.referral_withdraw(
            actor=api_actor(request), referral_id=referral_id, reason=payload.reason
        )
    )


@router.post(
    "/{uuid:referral_id}/provided",
    auth=WRITE,
    response=ReferralStateOut,
    summary="Record what was provided",
)
def provided(request: HttpRequest, referral_id: uuid.UUID, payload: ProvidedIn) -> ReferralStateOut:
    return _state(
        services.referral_record_provided(
            actor=api_actor(request), referral_id=referral_id, provided=payload.provided
        )
    )


@router.post(
    "/{uuid:referral_id}/complete", auth=WRITE, response=ReferralStateOut, summary="Complete"
)
def complete(request: HttpRequest, referral_id: uuid.UUID, payload: CompleteIn) -> ReferralStateOut:
    return _state(
        services.referral_complete(
            actor=api_actor(request), referral_id=referral_id, provided=payload.provided
        )
    )


@router.post("/{uuid:referral_id}/close", auth=WRITE, response=ReferralStateOut, summary="Close")
def close(request: HttpRequest, referral_id: uuid.UUID, payload: CloseIn) -> ReferralStateOut:
    return _state(
        services.referral_close(
            actor=api_actor(request), referral_id=referral_id, reason=payload.reason
        )
    )


@router.post(
    "/{uuid:referral_id}/refer-again",
    auth=WRITE,
    response={201: ReferralOut},
    summary="After a decline: the same first contact to another unit",
)
def refer_again(
    request: HttpRequest, referral_id: uuid.UUID, payload: ReferAgainIn
) -> Status[dict[str, object]]:
    actor = api_actor(request)
    referral = services.referral_refer_again(
        actor=actor,
        referral_id=referral_id,
        to_unit_id=payload.to_unit_id,
        override_reason=payload.override_reason,
    )
    return Status(201, _detail(selectors.referral_view(actor=actor, referral_id=referral.pk)))


@router.post(
    "/{uuid:referral_id}/admit",
    auth=WRITE,
    response=ReferralStateOut,
    summary="She arrived at the shelter",
)
def admit(request: HttpRequest, referral_id: uuid.UUID) -> ReferralStateOut:
    return _state(services.shelter_admit(actor=api_actor(request), referral_id=referral_id))


@router.post(
    "/{uuid:referral_id}/depart",
    auth=WRITE,
    response=ReferralStateOut,
    summary="She left the shelter",
)
def depart(request: HttpRequest, referral_id: uuid.UUID) -> ReferralStateOut:
    return _state(services.shelter_depart(actor=api_actor(request), referral_id=referral_id))


@router.post(
    "/{uuid:referral_id}/consent-withdrawn",
    auth=WRITE,
    response=ReferralStateOut,
    summary="She withdraws the consent this referral rests on",
)
def consent_withdrawn(request: HttpRequest, referral_id: uuid.UUID) -> ReferralStateOut:
    return _state(
        services.referral_consent_withdrawn(actor=api_actor(request), referral_id=referral_id)
    )
