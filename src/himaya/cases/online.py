"""Opening a case from an online report: the portal's door into the unit's queue.

The survivor (or someone helping her) files from the portal without an account. There is
no staff member acting, so the writes here are made by ``PORTAL`` (an ``Actor`` with no
user: ``created_by``, ``recorded_by`` and the timeline's actor stay empty, and the audit
chain names "portal"). Everything else is the staff intake's own machinery, reused rather
than copied: ``validate_intake`` checks her answers, the unit's counter numbers the case,
``search.index_survivor`` writes the blind indexes, ``_incident`` classifies with the Law
103-13 forms and the GBVIMS core type, prior contact elsewhere raises the same alert.

``case_open_online`` is idempotent per unit and key exactly like ``case_open_from_intake``
(the unique ``(unit, idempotency_key)`` of ``CaseFile``): a retried submission returns the
case the first one opened.

Which unit: ``route_online`` asks ``network.routing`` for the competent police unit of her
commune (and, for a complaint, the competent prosecution office).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from himaya.cases import evidence as evidence_module
from himaya.cases.classification import CaseContext
from himaya.cases.intake import (
    ConsentData,
    DependantData,
    IncidentData,
    IntakeData,
    InterviewData,
    PerpetratorData,
    SurvivorData,
    clean_idempotency_key,
    validate_intake,
)
from himaya.cases.models import (
    AlertKind,
    CaseFile,
    Channel,
    Evidence,
    Gender,
    LegalBasis,
    NoticeEvent,
    Relationship,
    TimelineEntry,
)
from himaya.cases.services import (
    IntakeOutcome,
    _alert,
    _audit,
    _existing_case,
    _refuse_replay,
    _Replayed,
    _take_reference,
    _timeline,
    open_case_records,
)
from himaya.core import audit
from himaya.core.actor import Actor
from himaya.core.crypto import open_data_key, seal
from himaya.core.errors import InvalidInput, KeyUnavailable, NotFound
from himaya.network import routing
from himaya.network.errors import UnknownCommune

__all__ = [
    "PORTAL",
    "OnlineReport",
    "OnlineRoute",
    "ReportKind",
    "case_open_online",
    "case_open_online_with_outcome",
    "evidence_add_online",
    "online_evidence_supported",
    "route_online",
]

#: Who acts when she files online: no staff member. Audit events name "portal".
PORTAL = Actor(user_id=None, username="portal")

#: Contexts implied by who did it (the GBVIMS case context, never shown to her).
_RELATIONSHIP_CONTEXT: dict[str, str] = {
    Relationship.SPOUSE: CaseContext.INTIMATE_PARTNER,
    Relationship.EX_SPOUSE: CaseContext.INTIMATE_PARTNER,
    Relationship.FIANCE: CaseContext.INTIMATE_PARTNER,
    Relationship.FAMILY: CaseContext.FAMILY,
    Relationship.EMPLOYER: CaseContext.WORKPLACE,
    Relationship.COLLEAGUE: CaseContext.WORKPLACE,
    Relationship.ONLINE: CaseContext.ONLINE,
}


class ReportKind:
    HELP = "help"  # a unit contacts her safely
    COMPLAINT = "complaint"  # also to the competent prosecution office

    values = (HELP, COMPLAINT)


@dataclass(kw_only=True)
class OnlineReport:
    """Her answers, already mapped from everyday words to the case-file vocabulary.

    Every field may be empty except ``commune_id`` (it routes the report) and, for a
    complaint, her name and account (a complaint names its author and the facts).
    """

    kind: str
    commune_id: int
    on_behalf: bool = False
    forms: list[str] = field(default_factory=list)
    forms_declined: bool = False
    relationship: str = ""
    account: str = ""
    occurred_on: date | None = None
    occurred_from: date | None = None
    occurred_to: date | None = None
    date_declined: bool = False
    #: "yes", "no", "unsure" or "" (not answered).
    safe_now: str = ""
    children: int | None = None
    children_at_risk: bool = False
    #: Safe-contact preferences (``intake.SAFE_CONTACT_KEYS``); ``portal`` is added here.
    contact: dict[str, Any] = field(default_factory=dict)
    language: str = ""
    wants_woman_officer: bool = False
    full_name: str = ""
    cin: str = ""
    phone: str = ""
    date_of_birth: date | None = None
    age_range: str = ""
    consents: list[ConsentData] = field(default_factory=list)
    suspected_automated: bool = False


@dataclass(frozen=True, slots=True)
class OnlineRoute:
    unit_id: int | None
    prosecution_office_id: int | None


def route_online(*, commune_id: int) -> OnlineRoute:
    """The competent police unit (and prosecution office) for her commune."""
    from himaya.network.index import get_index

    index = get_index()
    commune = index.communes_by_id.get(commune_id)
    if commune is None:
        raise InvalidInput(fields={"commune": [_("Unknown commune. Choose one from the list.")]})
    try:
        origin = routing.origin_from_commune(commune.code, index=index)
    except UnknownCommune:
        raise InvalidInput(
            fields={"commune": [_("Unknown commune. Choose one from the list.")]}
        ) from None
    unit = routing.nearest_unit(origin, index=index).unit
    office = routing.competent_prosecution(origin, index=index).office
    return OnlineRoute(
        unit_id=unit.agency.id if unit is not None else None,
        prosecution_office_id=office.agency.id if office is not None else None,
    )


def _intake(report: OnlineReport) -> IntakeData:
    """Her report in the intake's shape, so the intake's validation applies unchanged."""
    declined: list[str] = []
    if report.date_declined:
        declined.append("date")
    if report.forms_declined and not report.forms:
        declined.append("forms")
    context: list[str] = []
    if report.relationship in _RELATIONSHIP_CONTEXT:
        context.append(_RELATIONSHIP_CONTEXT[report.relationship])
    incident = IncidentData(
        occurred_on=report.occurred_on,
        occurred_from=report.occurred_from,
        occurred_to=report.occurred_to,
        commune_id=report.commune_id,
        forms=list(report.forms),
        context=context,
        declined=declined,
    )
    perpetrators = (
        [PerpetratorData(relationship=report.relationship)] if report.relationship else []
    )
    dependants = [
        DependantData(at_risk=report.children_at_risk, declined=["first_name", "age"])
        for _child in range(min(report.children or 0, 10))
    ]
    contact = {k: v for k, v in report.contact.items() if k != "portal"}
    return IntakeData(
        channel=Channel.ONLINE,
        legal_basis=LegalBasis.LAW if report.kind == ReportKind.COMPLAINT else LegalBasis.CONSENT,
        survivor=SurvivorData(
            full_name=report.full_name,
            cin=report.cin,
            phone=report.phone,
            date_of_birth=report.date_of_birth,
            age_range=report.age_range,
            residence_commune_id=report.commune_id,
            preferred_language=report.language,
            safe_contact=contact or None,
        ),
        incidents=[incident],
        perpetrators=perpetrators,
        dependants=dependants,
        consents=list(report.consents),
        narrative=report.account,
        interview=InterviewData(
            interviewer_gender=Gender.WOMAN if report.wants_woman_officer else "",
            interviewer_gender_chosen=report.wants_woman_officer,
        ),
    )


def _validate(report: OnlineReport) -> IntakeData:
    errors: dict[str, list[Any]] = {}
    if report.kind not in ReportKind.values:
        errors["kind"] = [_("Choose a value from the list.")]
    if report.kind == ReportKind.COMPLAINT:
        if not report.full_name.strip():
            errors["full_name"] = [_("A complaint must give the name of the person who files it.")]
        if not report.account.strip():
            errors["account"] = [_("A complaint must say what happened, in your own words.")]
    if report.safe_now not in ("", "yes", "no", "unsure"):
        errors["safe_now"] = [_("Choose a value from the list.")]
    if report.children is not None and not 0 <= report.children <= 20:
        errors["children"] = [_("Give a number between 0 and 20.")]
    try:
        data = validate_intake(_intake(report))
    except InvalidInput as exc:
        errors.update(exc.fields or {})
        raise InvalidInput(fields=errors) from None
    if errors:
        raise InvalidInput(fields=errors)
    return data


def case_open_online(*, unit_id: int, report: OnlineReport, idempotency_key: str) -> CaseFile:
    """``case_open_online_with_outcome`` for callers that need only the case."""
    return case_open_online_with_outcome(
        unit_id=unit_id, report=report, idempotency_key=idempotency_key
    ).case


def case_open_online_with_outcome(
    *, unit_id: int, report: OnlineReport, idempotency_key: str
) -> IntakeOutcome:
    """Open her case in ``unit_id``'s queue from her online report; idempotent per key.

    Validates everything first (``InvalidInput`` names every field at fault), then in one
    transaction: a survivor record with her own data key, the case (channel online, no
    staff author), the incident classified, dependants, her consents (``recorded_by`` empty:
    she gave them herself), blind indexes, the ``ONLINE_REPORT`` alert to the unit, prior
    contact alerts, a timeline entry and the audit event. A report that looked automated is
    kept and marked (``suspected_automated``), never dropped.
    """
    key = clean_idempotency_key(idempotency_key)
    existing = _existing_case(unit_id, key)
    if existing is not None:
        _audit(PORTAL, "case.open_replayed", existing)
        return IntakeOutcome(case=existing, created=False)
    data = _validate(report)
    try:
        with transaction.atomic():
            return _open_online(unit_id=unit_id, report=report, data=data, key=key)
    except _Replayed as replay:
        _audit(PORTAL, "case.open_replayed", replay.case)
        return IntakeOutcome(case=replay.case, created=False)
    except IntegrityError:
        existing = _existing_case(unit_id, key)
        if existing is None:
            raise
        _audit(PORTAL, "case.open_replayed", existing)
        return IntakeOutcome(case=existing, created=False)


def _open_online(
    *, unit_id: int, report: OnlineReport, data: IntakeData, key: str
) -> IntakeOutcome:
    reference = _take_reference(unit_id)
    _refuse_replay(unit_id, key)
    person = data.survivor
    contact = dict(person.safe_contact or {})
    # The portal inbox is always a way to reach her: she holds the codename.
    contact["portal"] = True
    opened = open_case_records(
        unit_id=unit_id,
        reference=reference,
        key=key,
        data=data,
        channel=Channel.ONLINE,
        created_by_id=None,
        safe_contact=contact,
        suspected_automated=report.suspected_automated,
    )
    case, perpetrators = opened.case, opened.perpetrators
    _timeline(
        case,
        None,
        "opened",
        to_state=case.state,
        channel=Channel.ONLINE,
        online_kind=report.kind,
        on_behalf=report.on_behalf,
        safe_now=report.safe_now,
        suspected_automated=report.suspected_automated,
    )
    _alert(agency_id=unit_id, kind=AlertKind.ONLINE_REPORT, case_id=case.pk)
    prior = opened.tell_prior_contact(None, person)
    # One append for the whole report, last: the keys' events, then the case's.
    opened.record_open(
        PORTAL,
        channel=Channel.ONLINE,
        online_kind=report.kind,
        on_behalf=report.on_behalf,
        incidents=len(data.incidents),
        perpetrators=len(perpetrators),
        dependants=len(data.dependants),
        consents=len(data.consents),
        prior_contact_units=len(prior.elsewhere),
        suspected_automated=report.suspected_automated,
    )
    from himaya.cases import notices

    notices.notify(
        case=case,
        event=NoticeEvent.CASE_RECEIVED,
        dedupe_key="online:received",
    )
    return IntakeOutcome(case=case, created=True)


# --- evidence she adds herself ------------------------------------------------------------


def online_evidence_supported() -> bool:
    """Whether the portal takes files from her (``PORTAL_EVIDENCE_UPLOADS``, on by default):
    a deployment that cannot yet review files from the public may switch it off, and the
    portal then does not offer uploads at all rather than fail."""
    return bool(getattr(settings, "PORTAL_EVIDENCE_UPLOADS", True))


def evidence_add_online(
    *, case: CaseFile, kind: str, upload: Any, description: str = ""
) -> Evidence:
    """A file she sends from the portal: the staff upload's checks, stripping, sealing and
    durability (``cases.evidence``), with no staff uploader. ``case`` comes from her
    codename session, never from the request."""
    if not online_evidence_supported():
        raise NotFound
    fresh = CaseFile.objects.select_related("survivor", "survivor__data_key").get(pk=case.pk)
    key = open_data_key(fresh.survivor.data_key_id, row=fresh.survivor.data_key)
    if key is None:
        raise KeyUnavailable
    text, upload = evidence_module._clean_fields(kind, description, upload)
    prepared = evidence_module.prepare_file(evidence_module._read_upload(upload), kind=kind)
    evidence_id = uuid.uuid4()
    blob_name = secrets.token_hex(32)
    path = evidence_module._blob_path(blob_name)
    evidence_module._write_blob(
        path, seal(prepared.content, key=key, context=evidence_module._seal_context(evidence_id))
    )
    try:
        with transaction.atomic():
            locked = CaseFile.objects.select_for_update().filter(pk=case.pk).first()
            if locked is None:
                raise NotFound
            item = Evidence(
                id=evidence_id,
                case=locked,
                kind=kind,
                description=text,
                original_name=evidence_module.sanitize_name(upload.name),
                content_type=prepared.file_type.value,
                size=len(prepared.content),
                sha256_received=prepared.sha256_received,
                sha256_stored=prepared.sha256_stored,
                blob_name=blob_name,
                uploaded_by=None,
            )
            item.save(force_insert=True)
            TimelineEntry.objects.create(
                case=locked,
                actor=None,
                kind="evidence_added",
                metadata={"evidence": str(evidence_id), "kind": kind, "online": True},
            )
            audit.record(
                actor=PORTAL,
                action="evidence.add",
                target_type="cases.case",
                target_id=str(locked.pk),
                metadata={
                    "evidence": str(evidence_id),
                    "kind": kind,
                    "content_type": prepared.file_type.value,
                    "size_stored": len(prepared.content),
                    "sha256_stored": prepared.sha256_stored,
                },
            )
    except BaseException:
        evidence_module._remove_blob(path)
        raise
    return item
