"""Every write of the justice chain. Pages, the API, the portal and the periodic job call
these; nothing else writes the justice models.

Like ``cases.services``: keyword-only, the acting ``Actor`` first, ``justice.policies``
(and ``cases.policies`` for the case file) checked before anything is touched, one
transaction, the row being changed locked (``select_for_update``: two prosecutors acting on
one complaint at once queue instead of overwriting), a justice timeline row
(``ComplaintEvent``), a ``cases.TimelineEntry`` on the case, an audit event and, for every
step that concerns her, a notice -- all in the same transaction.

Forwarding shares the case file with the office through ``cases.services.case_share`` (her
live consent) or ``share_without_consent`` (a legal basis): the office reads her file through
that grant and never gets a copy of it (tell it once).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from himaya.cases import notices
from himaya.cases import policies as case_policies
from himaya.cases import services as case_services
from himaya.cases.intake import IDEMPOTENCY_KEY
from himaya.cases.models import (
    Alert,
    AlertKind,
    CaseFile,
    Consent,
    ConsentPurpose,
    Dependant,
    Grant,
    NoticeEvent,
    SharingBasis,
    TimelineEntry,
)
from himaya.cases.policies import Action, FieldGroup
from himaya.cases.states import ACTIVE_STATES, CaseState
from himaya.cases.states import can_transition as case_can_transition
from himaya.core import audit
from himaya.core.actor import SYSTEM, Actor, person_id
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.justice import errors, policies
from himaya.justice.models import (
    Breach,
    BreachReporter,
    Complaint,
    ComplaintEvent,
    ComplaintSource,
    Decision,
    Hearing,
    IssuingAuthority,
    MeasureBasis,
    MeasureKind,
    ProtectionMeasure,
)
from himaya.justice.states import (
    DECISION_TARGET,
    FINAL_STATES,
    ComplaintState,
    DecisionKind,
    HearingOutcome,
    HearingState,
    MeasureState,
    can_transition,
)
from himaya.network.models import Agency, Jurisdiction

__all__ = [
    "PROSECUTOR_SCOPE",
    "ForwardOutcome",
    "breach_report",
    "breach_report_by_survivor",
    "competent_office_id",
    "complaint_file_online",
    "complaint_forward",
    "complaint_forward_with_outcome",
    "decision_record",
    "flag_expiring_measures",
    "hearing_record_outcome",
    "hearing_schedule",
    "measure_kinds",
    "measure_order",
]

TARGET = "justice.complaint"
MIN_REASON = 10
MAX_TEXT = 5_000
MAX_PLACE = 200
SURVIVOR = "survivor"
REMOTE = _("Remote hearing")

#: What forwarding shares with the office (within what she agreed to): the police record --
#: her identity, her account (the officer's report is the case's narrative), the incidents,
#: the alleged perpetrators, the evidence list with its hashes, the children at risk. Never
#: her contact details: the unit keeps contacting her safely.
PROSECUTOR_SCOPE: tuple[FieldGroup, ...] = (
    FieldGroup.IDENTITY,
    FieldGroup.NARRATIVE,
    FieldGroup.INCIDENTS,
    FieldGroup.PERPETRATORS,
    FieldGroup.EVIDENCE,
    FieldGroup.DEPENDANTS,
)


def decision_days() -> int:
    """How many days the office has to decide on a new complaint (its queue's deadline)."""
    return int(getattr(settings, "HIMAYA_JUSTICE_DECISION_DAYS", 15))


def review_days() -> int:
    """How many days before its end a measure is flagged for review."""
    return int(getattr(settings, "HIMAYA_JUSTICE_MEASURE_REVIEW_DAYS", 7))


def measure_kinds() -> dict[str, str]:
    """Law 103-13's measures plus those configured in ``HIMAYA_JUSTICE_EXTRA_MEASURE_KINDS``
    (``{"code": "label"}``)."""
    kinds: dict[str, str] = {str(v): str(label) for v, label in MeasureKind.choices}
    extra = getattr(settings, "HIMAYA_JUSTICE_EXTRA_MEASURE_KINDS", {}) or {}
    kinds.update({str(code): str(label) for code, label in dict(extra).items()})
    return kinds


# --- helpers ------------------------------------------------------------------------------


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound from None


def _int_id(value: int | str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotFound from None
    if not 0 < number < 2**63:
        raise NotFound
    return number


def _locked_case(case_id: uuid.UUID | str) -> CaseFile:
    case = (
        CaseFile.objects.select_for_update(of=("self",))
        .select_related("survivor", "survivor__data_key")
        .filter(pk=_uuid(case_id))
        .first()
    )
    if case is None:
        raise NotFound
    return case


def _locked_complaint(complaint_id: int | str) -> Complaint:
    complaint = (
        Complaint.objects.select_for_update(of=("self",))
        .select_related("case", "case__survivor", "case__survivor__data_key")
        .filter(pk=_int_id(complaint_id))
        .first()
    )
    if complaint is None:
        raise NotFound
    return complaint


def _event(
    complaint: Complaint,
    actor: Actor,
    kind: str,
    *,
    from_state: str = "",
    to_state: str = "",
    **metadata: object,
) -> None:
    """One justice timeline row, and its twin on the case's timeline."""
    ComplaintEvent.objects.create(
        complaint=complaint,
        actor_id=actor.user_id,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        metadata=metadata,
    )
    TimelineEntry.objects.create(
        case_id=complaint.case_id,
        actor_id=actor.user_id,
        kind=f"justice_{kind}",
        metadata={"complaint": complaint.pk, **metadata},
    )


def _audit(actor: Actor, action: str, complaint: Complaint, **metadata: object) -> None:
    audit.record(
        actor=actor,
        action=action,
        target_type=TARGET,
        target_id=str(complaint.pk),
        metadata={"case": str(complaint.case_id), **metadata},
    )


def _notify(
    case: CaseFile,
    event: NoticeEvent,
    dedupe_key: str,
    *,
    params: dict[str, str] | None = None,
    author: Actor | None = None,
) -> None:
    notices.notify(case=case, event=event, dedupe_key=dedupe_key, params=params, author=author)


def _measure_label(case: CaseFile, kind: str) -> str:
    """The measure's name in her language (the notice shows it as given)."""
    with translation.override(case.survivor.preferred_language or settings.LANGUAGE_CODE):
        return str(measure_kinds().get(kind, kind))


def _agency_label(case: CaseFile, office: Agency) -> str:
    language = case.survivor.preferred_language or settings.LANGUAGE_CODE
    if language.startswith("ar"):
        return office.name_ar or office.name_fr
    return office.name_fr or office.name_ar


def _remote_label(case: CaseFile) -> str:
    with translation.override(case.survivor.preferred_language or settings.LANGUAGE_CODE):
        return str(REMOTE)


def _text(value: str, *, field: str, required: bool = False, minimum: int = 0) -> str:
    text = (value or "").strip()
    if required and len(text) < max(minimum, 1):
        raise InvalidInput(fields={field: [errors.WRITE_REASON if minimum else errors.REQUIRED]})
    if len(text) > MAX_TEXT:
        raise InvalidInput(fields={field: [errors.TOO_LONG]})
    return text


def _key(value: str, field: str = "idempotency_key") -> str:
    if not IDEMPOTENCY_KEY.fullmatch(value or ""):
        raise InvalidInput(fields={field: [errors.BAD_KEY]})
    return value


def _office(office_id: int | None) -> Agency:
    office = (
        Agency.objects.filter(
            pk=office_id, is_active=True, kind__in=sorted(policies.PROSECUTION_KINDS)
        ).first()
        if office_id is not None and 0 < office_id < 2**63
        else None
    )
    if office is None:
        raise InvalidInput(fields={"office_id": [errors.NOT_AN_OFFICE]})
    return office


def competent_office_id(case: CaseFile) -> int | None:
    """The office competent for the case (``network.Jurisdiction``): by her commune of
    residence first, then each incident's commune, then the unit's own commune."""
    incident_communes = list(
        case.incidents.exclude(commune__isnull=True)
        .order_by("created_at", "id")
        .values_list("commune_id", flat=True)
    )
    unit_commune = Agency.objects.filter(pk=case.unit_id).values_list("commune_id", flat=True)
    communes = [
        c
        for c in (case.survivor.residence_commune_id, *incident_communes, *unit_commune)
        if c is not None
    ]
    if not communes:
        return None
    found = dict(
        Jurisdiction.objects.filter(
            commune_id__in=communes,
            office__is_active=True,
            office__kind__in=sorted(policies.PROSECUTION_KINDS),
        ).values_list("commune_id", "office_id")
    )
    for commune in communes:
        if commune in found:
            return int(found[commune])
    return None


def _open_complaint(case: CaseFile) -> Complaint | None:
    return (
        Complaint.objects.filter(case=case)
        .exclude(state__in=sorted(FINAL_STATES))
        .order_by("-received_at")
        .first()
    )


def _mark_forwarded(case: CaseFile, actor: Actor) -> None:
    """Move the case to "forwarded" when its life cycle allows it (an active case)."""
    state = CaseFile.objects.filter(pk=case.pk).values_list("state", flat=True).get()
    if state == CaseState.FORWARDED or state not in ACTIVE_STATES:
        return
    if not case_can_transition(state, CaseState.FORWARDED):
        return
    if actor.is_system:
        CaseFile.objects.filter(pk=case.pk).update(
            state=CaseState.FORWARDED, updated_at=timezone.now()
        )
        TimelineEntry.objects.create(
            case=case,
            actor=None,
            kind="transition",
            from_state=state,
            to_state=CaseState.FORWARDED,
            metadata={"online": True},
        )
    else:
        case_services.case_transition(actor=actor, case_id=case.pk, to_state=CaseState.FORWARDED)
    case.state = CaseState.FORWARDED


def _received(case: CaseFile, office: Agency, actor: Actor, complaint: Complaint) -> None:
    _event(
        complaint,
        actor,
        "received",
        to_state=ComplaintState.RECEIVED,
        office=office.pk,
        source=complaint.source,
        grant=str(complaint.grant_id) if complaint.grant_id else "",
    )
    _notify(
        case,
        NoticeEvent.COMPLAINT_FORWARDED,
        f"complaint:{complaint.pk}",
        params={"agency": _agency_label(case, office)},
        author=None if actor.is_system else actor,
    )


# --- forwarding ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ForwardOutcome:
    complaint: Complaint
    #: False when the case was already with this office: nothing new was written.
    created: bool


def complaint_forward(
    *,
    actor: Actor,
    case_id: uuid.UUID | str,
    office_id: int | None = None,
    basis: str = "",
    reason: str = "",
) -> Complaint:
    """A unit officer forwards her complaint to the competent prosecution office.

    ``office_id`` defaults to the office competent for the case's communes. The office reads
    the case file through a grant resting on her live ``SHARE_PROSECUTOR`` consent (within
    its scope) or, when ``basis`` is given (minor, life-threatening risk), on that legal
    basis with ``reason`` (the unit chief is alerted). Forwarding again to the same office
    returns the complaint already there; to another office while one is open is refused.
    """
    return complaint_forward_with_outcome(
        actor=actor, case_id=case_id, office_id=office_id, basis=basis, reason=reason
    ).complaint


@transaction.atomic
def complaint_forward_with_outcome(
    *,
    actor: Actor,
    case_id: uuid.UUID | str,
    office_id: int | None = None,
    basis: str = "",
    reason: str = "",
) -> ForwardOutcome:
    """``complaint_forward``, telling the page whether anything new was done."""
    case = _locked_case(case_id)
    case_policies.require(actor, Action.SHARE, case)
    existing = _open_complaint(case)
    if existing is not None:
        if office_id is None or existing.office_id == office_id:
            return ForwardOutcome(existing, created=False)
        raise InvalidInput(fields={"office_id": [errors.ALREADY_FORWARDED_ELSEWHERE]})
    chosen = office_id if office_id is not None else competent_office_id(case)
    if chosen is None:
        raise InvalidInput(fields={"office_id": [errors.NO_COMPETENT_OFFICE]})
    office = _office(chosen)
    grant: Grant
    if basis:
        grant = case_services.share_without_consent(
            actor=actor,
            case_id=case.pk,
            agency_id=office.pk,
            basis=basis,
            reason=reason,
            scope=[str(g) for g in PROSECUTOR_SCOPE],
        )
    else:
        consent = (
            Consent.objects.filter(
                case=case,
                purpose=ConsentPurpose.SHARE_PROSECUTOR,
                granted=True,
                revoked_at__isnull=True,
            )
            .order_by("-recorded_at")
            .first()
        )
        scope = [str(g) for g in PROSECUTOR_SCOPE if consent and str(g) in consent.scope]
        if consent is None or not scope:
            raise InvalidInput(fields={"basis": [errors.NO_CONSENT]})
        grant = case_services.case_share(
            actor=actor, case_id=case.pk, agency_id=office.pk, scope=scope
        )
    complaint = Complaint.objects.create(
        case=case,
        office=office,
        grant=grant,
        source=ComplaintSource.UNIT,
        forwarded_by_id=person_id(actor),
        decision_due_on=timezone.localdate() + timedelta(days=decision_days()),
    )
    _mark_forwarded(case, actor)
    _received(case, office, actor, complaint)
    _audit(
        actor,
        "justice.complaint_forward",
        complaint,
        office=office.pk,
        grant=str(grant.pk),
        basis=grant.basis,
        scope=list(grant.scope),
    )
    return ForwardOutcome(complaint, created=True)


def _legally_complete(case: CaseFile) -> bool:
    """Enough to stand as a complaint without meeting her: who she is (name and CIN), her
    account, and at least one incident. Otherwise the office confirms it with her first."""
    survivor = case.survivor
    return bool(
        str(survivor.full_name or "").strip()
        and str(survivor.cin or "").strip()
        and str(case.narrative or "").strip()
        and case.incidents.exists()
    )


def _online_consent(case: CaseFile, now: datetime) -> Consent:
    """Her filing is her consent to share with the prosecutor: recorded as hers
    (``recorded_by`` null). A live answer that already covers the scope is kept; any other
    live answer is replaced, its live grants moving to the new consent unchanged."""
    scope = [str(g) for g in PROSECUTOR_SCOPE]
    live = (
        Consent.objects.select_for_update()
        .filter(case=case, purpose=ConsentPurpose.SHARE_PROSECUTOR, revoked_at__isnull=True)
        .first()
    )
    if live is not None and live.granted and all(g in live.scope for g in scope):
        return live
    if live is not None:
        live.revoked_at = now
        live.save(update_fields=["revoked_at"])
    consent = Consent.objects.create(
        case=case,
        purpose=ConsentPurpose.SHARE_PROSECUTOR,
        granted=True,
        scope=sorted({*scope, *(live.scope if live is not None and live.granted else [])}),
        recorded_by=None,
    )
    if live is not None and live.granted:
        Grant.objects.filter(consent=live, revoked_at__isnull=True).update(consent=consent)
    TimelineEntry.objects.create(
        case=case,
        actor=None,
        kind="consent_recorded",
        metadata={
            "purpose": ConsentPurpose.SHARE_PROSECUTOR,
            "granted": True,
            "scope": consent.scope,
            "online": True,
        },
    )
    return consent


@transaction.atomic
def complaint_file_online(*, case: CaseFile, office_id: int, idempotency_key: str) -> Complaint:
    """She filed her complaint online herself (the portal calls this; no staff actor).

    Records her ``SHARE_PROSECUTOR`` consent (``recorded_by`` null), opens the file to the
    office through a grant (``granted_by`` null), and puts the complaint in the office's
    queue, marked ``needs_confirmation`` unless it is legally complete (``_legally_complete``).
    Idempotent on ``idempotency_key``; a case already with an office returns that complaint.
    """
    key = _key(idempotency_key)
    locked = _locked_case(case.pk)
    replay = Complaint.objects.filter(case=locked, idempotency_key=key).first()
    if replay is not None:
        return replay
    existing = _open_complaint(locked)
    if existing is not None:
        return existing
    if locked.state == CaseState.CLOSED:
        raise InvalidInput(fields={"office_id": [errors.COMPLAINT_CLOSED]})
    office = _office(office_id)
    now = timezone.now()
    consent = _online_consent(locked, now)
    scope = [str(g) for g in PROSECUTOR_SCOPE]
    grant = Grant.objects.create(
        case=locked,
        agency=office,
        basis=SharingBasis.CONSENT,
        consent=consent,
        scope=scope,
        granted_by=None,
        starts_at=now,
    )
    TimelineEntry.objects.create(
        case=locked,
        actor=None,
        kind="shared",
        metadata={"agency": office.pk, "purpose": ConsentPurpose.SHARE_PROSECUTOR, "scope": scope},
    )
    complaint = Complaint.objects.create(
        case=locked,
        office=office,
        grant=grant,
        source=ComplaintSource.ONLINE,
        needs_confirmation=not _legally_complete(locked),
        idempotency_key=key,
        decision_due_on=timezone.localdate() + timedelta(days=decision_days()),
    )
    _mark_forwarded(locked, SYSTEM)
    _received(locked, office, SYSTEM, complaint)
    _audit(
        SYSTEM,
        "justice.complaint_file_online",
        complaint,
        office=office.pk,
        grant=str(grant.pk),
        needs_confirmation=complaint.needs_confirmation,
    )
    return complaint


# --- decisions ----------------------------------------------------------------------------


def _not_closed(complaint: Complaint, field: str) -> None:
    if complaint.state in FINAL_STATES:
        raise InvalidInput(fields={field: [errors.COMPLAINT_CLOSED]})


def _move(
    complaint: Complaint, actor: Actor, target: ComplaintState, kind: str, **meta: object
) -> None:
    previous = complaint.state
    complaint.state = target
    complaint.save(update_fields=["state", "updated_at"])
    _event(complaint, actor, kind, from_state=previous, to_state=target, **meta)


@transaction.atomic
def decision_record(
    *, actor: Actor, complaint_id: int | str, kind: str, reason: str = ""
) -> Decision:
    """The prosecutor's decision: open proceedings, further investigation, referral to an
    investigating judge, or dismissal (with a reason). Protection measures are decided with
    ``measure_order``, which records the decision with the measure."""
    complaint = _locked_complaint(complaint_id)
    policies.require_decides(actor, complaint)
    _not_closed(complaint, "kind")
    try:
        decision_kind = DecisionKind(kind)
    except ValueError:
        raise InvalidInput(fields={"kind": [errors.CHOOSE]}) from None
    if decision_kind is DecisionKind.PROTECTION_MEASURES:
        raise InvalidInput(fields={"kind": [errors.MEASURE_IS_A_FORM]})
    target = DECISION_TARGET[decision_kind]
    if target is None or not can_transition(complaint.state, target):
        raise InvalidInput(fields={"kind": [errors.DECISION_NOT_NOW]})
    if decision_kind is DecisionKind.DISMISS:
        why = _text(reason, field="reason", required=True, minimum=MIN_REASON)
        if len(why) < MIN_REASON:
            raise InvalidInput(fields={"reason": [errors.WRITE_REASON]})
    else:
        why = _text(reason, field="reason")
    decision = Decision(complaint=complaint, kind=decision_kind, reason=why)
    decision.decided_by_id = person_id(actor)
    decision.save()
    _move(complaint, actor, target, "decision", decision=str(decision_kind))
    _audit(actor, "justice.decision_record", complaint, decision=str(decision_kind))
    return decision


# --- hearings -----------------------------------------------------------------------------


@transaction.atomic
def hearing_schedule(
    *,
    actor: Actor,
    complaint_id: int | str,
    scheduled_at: datetime | None,
    place: str = "",
    remote: bool = False,
) -> Hearing:
    """A hearing at a date and time to come, in a court (``place``) or remote. She is told
    (a HEARING_SET notice, through her safe channel)."""
    complaint = _locked_complaint(complaint_id)
    policies.require_decides(actor, complaint)
    _not_closed(complaint, "scheduled_at")
    if complaint.state not in (ComplaintState.PROCEEDINGS, ComplaintState.INVESTIGATING_JUDGE):
        raise InvalidInput(fields={"scheduled_at": [errors.HEARING_NEEDS_PROCEEDINGS]})
    if scheduled_at is None:
        raise InvalidInput(fields={"scheduled_at": [errors.REQUIRED]})
    if timezone.is_naive(scheduled_at):
        scheduled_at = timezone.make_aware(scheduled_at)
    if scheduled_at <= timezone.now():
        raise InvalidInput(fields={"scheduled_at": [errors.HEARING_IN_PAST]})
    where = (place or "").strip()
    if len(where) > MAX_PLACE:
        raise InvalidInput(fields={"place": [errors.TOO_LONG]})
    if not where and not remote:
        raise InvalidInput(fields={"place": [errors.HEARING_NEEDS_PLACE]})
    hearing = Hearing.objects.create(
        complaint=complaint,
        scheduled_at=scheduled_at,
        place=where,
        remote=remote,
        created_by_id=person_id(actor),
    )
    _event(complaint, actor, "hearing_set", hearing=hearing.pk, remote=remote)
    _audit(actor, "justice.hearing_schedule", complaint, hearing=hearing.pk)
    _notify(
        complaint.case,
        NoticeEvent.HEARING_SET,
        f"hearing:{hearing.pk}",
        params={
            "date": timezone.localtime(scheduled_at).date().isoformat(),
            "time": timezone.localtime(scheduled_at).strftime("%H:%M"),
            "place": where or _remote_label(complaint.case),
        },
        author=actor,
    )
    return hearing


@transaction.atomic
def hearing_record_outcome(
    *, actor: Actor, hearing_id: int | str, outcome: str, sentence: str = ""
) -> Hearing:
    """What the hearing decided: conviction (with the sentence) or acquittal make the
    complaint ``judged``; an adjournment leaves it where it is (set the next hearing).
    Measures ordered on conviction are recorded with ``measure_order(on_conviction=True)``."""
    row = Hearing.objects.filter(pk=_int_id(hearing_id)).values_list("complaint_id", flat=True)
    complaint_id = row.first()
    if complaint_id is None:
        raise NotFound
    complaint = _locked_complaint(complaint_id)
    policies.require_decides(actor, complaint)
    hearing = Hearing.objects.select_for_update().get(pk=_int_id(hearing_id))
    hearing.complaint = complaint
    if hearing.state != HearingState.SCHEDULED:
        raise InvalidInput(fields={"outcome": [errors.OUTCOME_RECORDED]})
    try:
        result = HearingOutcome(outcome)
    except ValueError:
        raise InvalidInput(fields={"outcome": [errors.CHOOSE]}) from None
    if timezone.localdate(hearing.scheduled_at) > timezone.localdate():
        raise InvalidInput(fields={"outcome": [errors.OUTCOME_BEFORE_HEARING]})
    final = result in (HearingOutcome.CONVICTION, HearingOutcome.ACQUITTAL)
    if final:
        _not_closed(complaint, "outcome")
    text = _text(sentence, field="sentence", required=result is HearingOutcome.CONVICTION)
    hearing.state = HearingState.HELD
    hearing.outcome = result
    hearing.sentence = text if result is HearingOutcome.CONVICTION else ""
    hearing.save(update_fields=["state", "outcome", "sentence"])
    if final and can_transition(complaint.state, ComplaintState.JUDGED):
        _move(
            complaint,
            actor,
            ComplaintState.JUDGED,
            "judged",
            hearing=hearing.pk,
            outcome=str(result),
        )
    else:
        _event(complaint, actor, "hearing_held", hearing=hearing.pk, outcome=str(result))
    _audit(actor, "justice.hearing_outcome", complaint, hearing=hearing.pk, outcome=str(result))
    return hearing


# --- protection measures ------------------------------------------------------------------


def _protected(case: CaseFile, values: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(str(v) for v in values))
    if not chosen:
        raise InvalidInput(fields={"protected": [errors.NOBODY_PROTECTED]})
    dependant_ids = {
        str(pk) for pk in Dependant.objects.filter(case=case).values_list("pk", flat=True)
    }
    if any(v != SURVIVOR and v not in dependant_ids for v in chosen):
        raise InvalidInput(fields={"protected": [errors.CHOOSE]})
    return chosen


@transaction.atomic
def measure_order(
    *,
    actor: Actor,
    complaint_id: int | str,
    kind: str,
    legal_basis: str,
    authority: str,
    starts_on: date | None,
    ends_on: date | None = None,
    protected: Sequence[str] = (SURVIVOR,),
    conditions: str = "",
    distance_m: int | None = None,
    on_conviction: bool = False,
) -> ProtectionMeasure:
    """A protection measure (Law 103-13): what, on which legal basis, by whom, from when to
    when, protecting whom, on which conditions (sealed). Recorded as the office's
    "protection measures" decision; she is told (MEASURE_ORDERED)."""
    complaint = _locked_complaint(complaint_id)
    policies.require_decides(actor, complaint)
    if complaint.state == ComplaintState.DISMISSED or (
        complaint.state == ComplaintState.JUDGED and not on_conviction
    ):
        raise InvalidInput(fields={"kind": [errors.COMPLAINT_CLOSED]})
    problems: dict[str, list[object]] = {}
    if kind not in measure_kinds():
        problems["kind"] = [errors.CHOOSE]
    if legal_basis not in MeasureBasis.values:
        problems["legal_basis"] = [errors.CHOOSE]
    if authority not in IssuingAuthority.values:
        problems["authority"] = [errors.CHOOSE]
    if starts_on is None:
        problems["starts_on"] = [errors.REQUIRED]
    elif ends_on is not None and ends_on < starts_on:
        problems["ends_on"] = [errors.END_BEFORE_START]
    if kind == MeasureKind.NO_APPROACH and not distance_m:
        problems["distance_m"] = [errors.DISTANCE_NEEDED]
    if problems or starts_on is None:
        raise InvalidInput(fields=problems)
    who = _protected(complaint.case, protected)
    measure = ProtectionMeasure(
        complaint=complaint,
        kind=kind,
        distance_m=distance_m if kind == MeasureKind.NO_APPROACH else None,
        legal_basis=legal_basis,
        authority=authority,
        starts_on=starts_on,
        ends_on=ends_on,
        protected=who,
        conditions=_text(conditions, field="conditions"),
        on_conviction=on_conviction,
    )
    measure.ordered_by_id = person_id(actor)
    measure.save()
    decision = Decision(complaint=complaint, kind=DecisionKind.PROTECTION_MEASURES)
    decision.decided_by_id = person_id(actor)
    decision.save()
    _event(complaint, actor, "measure_ordered", measure=measure.pk, measure_kind=kind)
    _audit(actor, "justice.measure_order", complaint, measure=measure.pk, measure_kind=kind)
    _notify(
        complaint.case,
        NoticeEvent.MEASURE_ORDERED,
        f"measure:{measure.pk}",
        params={
            "measure": _measure_label(complaint.case, kind),
            "date": starts_on.isoformat(),
            "until": ends_on.isoformat() if ends_on else "",
        },
        author=actor,
    )
    return measure


# --- breaches -----------------------------------------------------------------------------


def _locked_measure(measure_id: int | str) -> tuple[ProtectionMeasure, Complaint]:
    complaint_id = (
        ProtectionMeasure.objects.filter(pk=_int_id(measure_id))
        .values_list("complaint_id", flat=True)
        .first()
    )
    if complaint_id is None:
        raise NotFound
    complaint = _locked_complaint(complaint_id)
    measure = ProtectionMeasure.objects.select_for_update().get(pk=_int_id(measure_id))
    measure.complaint = complaint
    return measure, complaint


def _breach(
    *,
    actor: Actor,
    measure: ProtectionMeasure,
    complaint: Complaint,
    reporter: BreachReporter,
    description: str,
    key: str | None,
) -> Breach:
    text = _text(description, field="description", required=True)
    breach = Breach(
        measure=measure,
        reported_by_kind=reporter,
        reported_by_id=actor.user_id,
        description=text,
        idempotency_key=key,
    )
    breach.save()
    # A breach is itself an offence: both the unit chief and the office, at once.
    Alert.objects.bulk_create(
        [
            Alert(agency_id=agency, kind=AlertKind.MEASURE_BREACH, case_id=complaint.case_id)
            for agency in dict.fromkeys((complaint.case.unit_id, complaint.office_id))
        ]
    )
    _event(
        complaint,
        actor,
        "breach_reported",
        measure=measure.pk,
        breach=breach.pk,
        reporter=str(reporter),
    )
    _audit(actor, "justice.breach_report", complaint, measure=measure.pk, breach=breach.pk)
    return breach


@transaction.atomic
def breach_report(*, actor: Actor, measure_id: int | str, description: str) -> Breach:
    """The unit or the prosecutor reports a breach of a measure."""
    measure, complaint = _locked_measure(measure_id)
    policies.require_sees(actor, complaint)
    reporter = (
        BreachReporter.PROSECUTOR
        if policies.is_prosecutor_of(actor, complaint.office_id)
        else BreachReporter.UNIT
    )
    if not policies.may_report_breach(actor, complaint):
        raise PermissionDenied
    return _breach(
        actor=actor,
        measure=measure,
        complaint=complaint,
        reporter=reporter,
        description=description,
        key=None,
    )


@transaction.atomic
def breach_report_by_survivor(
    *, case: CaseFile, measure_id: int | str, description: str, idempotency_key: str
) -> Breach:
    """She reports a breach herself (the portal calls this with her own case). Idempotent on
    ``idempotency_key``; a measure of another case is ``NotFound``."""
    key = _key(idempotency_key)
    measure, complaint = _locked_measure(measure_id)
    if complaint.case_id != case.pk:
        raise NotFound
    replay = Breach.objects.filter(measure=measure, idempotency_key=key).first()
    if replay is not None:
        return replay
    return _breach(
        actor=SYSTEM,
        measure=measure,
        complaint=complaint,
        reporter=BreachReporter.SURVIVOR,
        description=description,
        key=key,
    )


# --- the periodic job ---------------------------------------------------------------------

BATCH = 500


def flag_expiring_measures(*, today: date | None = None, batch: int = BATCH) -> int:
    """Flag for review every measure in force that ends within ``review_days()``: one alert
    to the unit and one to the office, a MEASURE_ENDING notice, a timeline row -- once per
    measure (``review_flagged_at``), however often the job runs. Measures past their end
    are marked ended. Works in batches, locking with ``skip_locked`` so two runners never
    flag the same measure twice. Returns how many measures it flagged."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=review_days())
    ProtectionMeasure.objects.filter(state=MeasureState.ACTIVE, ends_on__lt=today).update(
        state=MeasureState.ENDED
    )
    flagged = 0
    while True:
        with transaction.atomic():
            rows = list(
                ProtectionMeasure.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    state=MeasureState.ACTIVE,
                    ends_on__isnull=False,
                    ends_on__gte=today,
                    ends_on__lte=horizon,
                    review_flagged_at__isnull=True,
                )
                .select_related("complaint", "complaint__case", "complaint__case__survivor")
                .order_by("ends_on", "id")[:batch]
            )
            if not rows:
                return flagged
            now = timezone.now()
            ProtectionMeasure.objects.filter(pk__in=[m.pk for m in rows]).update(
                review_flagged_at=now
            )
            alerts: list[Alert] = []
            events: list[ComplaintEvent] = []
            entries: list[TimelineEntry] = []
            for measure in rows:
                complaint = measure.complaint
                for agency in dict.fromkeys((complaint.case.unit_id, complaint.office_id)):
                    alerts.append(
                        Alert(
                            agency_id=agency,
                            kind=AlertKind.MEASURE_EXPIRING,
                            case_id=complaint.case_id,
                        )
                    )
                meta = {"measure": measure.pk, "ends_on": str(measure.ends_on)}
                events.append(
                    ComplaintEvent(complaint=complaint, kind="measure_expiring", metadata=meta)
                )
                entries.append(
                    TimelineEntry(
                        case_id=complaint.case_id,
                        kind="justice_measure_expiring",
                        metadata={"complaint": complaint.pk, **meta},
                    )
                )
                _notify(
                    complaint.case,
                    NoticeEvent.MEASURE_ENDING,
                    f"measure-ending:{measure.pk}",
                    params={
                        "measure": _measure_label(complaint.case, measure.kind),
                        "until": str(measure.ends_on),
                    },
                )
            Alert.objects.bulk_create(alerts)
            ComplaintEvent.objects.bulk_create(events)
            TimelineEntry.objects.bulk_create(entries)
            audit.record(
                actor=SYSTEM,
                action="justice.measures_flagged",
                target_type="justice.measure",
                target_id=None,
                metadata={"count": len(rows)},
            )
            flagged += len(rows)
            if len(rows) < batch:
                return flagged
