"""Every write to a case file. Pages and the API call these; nothing else writes the models.

Each service is keyword-only, takes the acting ``Actor``, checks ``cases.policies`` before
touching anything, runs in one transaction, locks the case row it changes
(``select_for_update``: two officers acting at once queue instead of overwriting), writes a
timeline entry for what happened to the case and an audit event in the same transaction,
and returns the domain object.

Ids come in as ``uuid.UUID`` or their string form; an id that is not one, a case that does
not exist and a case the actor may not see all raise the same ``NotFound``.

Audit events use ``target_type="cases.case"`` and the case id; the survivor portal's
"who opened my file" reads the ``case.read`` events of her case.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from himaya.accounts.models import Membership
from himaya.cases import policies, search
from himaya.cases.classification import classify
from himaya.cases.errors import ConsentMissing, TransitionRefused
from himaya.cases.intake import (
    DEPENDANT_DECLINABLE,
    MSG_CHOICE,
    MSG_TOO_LONG,
    ConsentData,
    DependantData,
    FieldErrors,
    IncidentData,
    IntakeData,
    PerpetratorData,
    SurvivorData,
    clean_consent,
    clean_idempotency_key,
    clean_incident,
    clean_perpetrator,
    clean_survivor,
    existing_communes,
    incident_from_dict,
    incident_last_day,
    intake_from_dict,
    perpetrator_from_dict,
    validate_intake,
)
from himaya.cases.models import (
    AgeRange,
    Alert,
    AlertKind,
    CaseFile,
    Consent,
    Dependant,
    Grant,
    Incident,
    IntakeDraft,
    Note,
    Perpetrator,
    SharingBasis,
    Survivor,
    Task,
    TimelineEntry,
    UnitCounter,
)
from himaya.cases.policies import ALL_GROUPS, Action
from himaya.cases.states import ACTIVE_STATES, CaseState, ClosureReason, can_transition
from himaya.core import audit, rows
from himaya.core.actor import SYSTEM, Actor, person_id
from himaya.core.crypto import data_key_create, data_key_events, data_keys_insert
from himaya.core.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    StepUpRequired,
)
from himaya.core.models import DataKey
from himaya.core.shredding import data_key_shred
from himaya.network.models import Agency

__all__ = [
    "IntakeOutcome",
    "NewCase",
    "alert_mark_read",
    "break_glass",
    "case_approve_closure",
    "case_assign",
    "case_decline_closure",
    "case_open_from_intake",
    "case_open_with_outcome",
    "case_reopen",
    "case_request_closure",
    "case_share",
    "case_transition",
    "clean_dependant",
    "clean_reason",
    "consent_record",
    "consent_revoke",
    "dependant_add",
    "dependant_from_dict",
    "dependant_update",
    "grant_end",
    "incident_add",
    "incident_from_dict",
    "incident_update",
    "intake_draft_max_age",
    "intake_draft_sweep_abandoned",
    "note_add",
    "open_case_records",
    "perpetrator_add",
    "perpetrator_from_dict",
    "perpetrator_update",
    "share_without_consent",
    "survivor_from_dict",
    "survivor_update",
    "task_add",
    "task_complete",
]

TARGET = "cases.case"
MIN_REASON = 10
MAX_REASON = 1000
MAX_NOTE = 20_000
MAX_TASK = 2_000


# --- helpers ------------------------------------------------------------------------------


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound from None


def _case(actor: Actor, case_id: uuid.UUID | str, action: Action) -> CaseFile:
    """The case, row-locked until the transaction ends, once ``action`` is allowed."""
    case = (
        CaseFile.objects.select_for_update(of=("self",))
        .select_related("survivor", "survivor__data_key")
        .filter(pk=_uuid(case_id))
        .first()
    )
    if case is None:
        raise NotFound
    policies.require(actor, action, case)
    return case


def _timeline(
    case: CaseFile,
    actor: Actor | None,
    kind: str,
    *,
    from_state: str = "",
    to_state: str = "",
    **metadata: object,
) -> TimelineEntry:
    entry = TimelineEntry(
        case=case,
        actor_id=actor.user_id if actor is not None else None,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        metadata=metadata,
    )
    rows.insert([entry])
    return entry


def _audit(
    actor: Actor,
    action: str,
    case: CaseFile,
    *,
    reason: str = "",
    metadata: dict[str, object] | None = None,
) -> None:
    audit.record(
        actor=actor,
        action=action,
        target_type=TARGET,
        target_id=str(case.pk),
        reason=reason,
        metadata=metadata,
    )


def clean_reason(value: str, *, field: str = "reason") -> str:
    """A written justification: long enough to mean something, short enough to audit.
    Shared by every service that asks for one (cases, referrals)."""
    text = (value or "").strip()
    if len(text) < MIN_REASON:
        raise InvalidInput(fields={field: [_("Write the reason in a sentence.")]})
    if len(text) > MAX_REASON:
        raise InvalidInput(fields={field: [_("This is too long.")]})
    return text


def _case_communes(case: CaseFile) -> list[int | None]:
    """Where the case places him: her residence and every incident's commune."""
    incident_communes = case.incidents.exclude(commune__isnull=True).values_list(
        "commune_id", flat=True
    )
    return [case.survivor.residence_commune_id, *incident_communes]


def _seal_perpetrator(actor: Actor, case: CaseFile, data: PerpetratorData) -> Perpetrator:
    perpetrator = Perpetrator(
        case=case,
        data_key=data_key_create(actor=actor, kind=DataKey.Kind.PERSON),
        full_name=data.full_name,
        cin=data.cin,
        phone=data.phone,
        relationship=data.relationship,
        age_range=data.age_range or AgeRange.UNKNOWN,
        number_involved=data.number_involved,
        declined=list(data.declined),
    )
    perpetrator.save()
    return perpetrator


def _incident(case: CaseFile, data: IncidentData) -> Incident:
    incident = _incident_row(case, data)
    incident.save()
    return incident


def _incident_row(case: CaseFile, data: IncidentData) -> Incident:
    """An unsaved incident (``_incident`` saves one; an intake bulk-inserts them)."""
    return Incident(
        case=case,
        occurred_on=data.occurred_on,
        occurred_from=data.occurred_from,
        occurred_to=data.occurred_to,
        commune_id=data.commune_id,
        forms=list(data.forms),
        acts=list(data.acts),
        gbvims_type=classify(forms=data.forms, acts=data.acts),
        context=list(data.context),
        declined=list(data.declined),
    )


def _alert(
    *, agency_id: int, kind: str, case_id: uuid.UUID | None, other_agency_id: int | None = None
) -> Alert:
    return Alert.objects.create(
        agency_id=agency_id, kind=kind, case_id=case_id, other_agency_id=other_agency_id
    )


def _refresh_next_due(case: CaseFile) -> None:
    """Keep ``next_due_on`` (the overdue queue's key) equal to the earliest open task."""
    if case.state == CaseState.CLOSED:
        due = None
    else:
        due = Task.objects.filter(case=case, done_at__isnull=True).aggregate(d=Min("due_on"))["d"]
    if due != case.next_due_on:
        case.next_due_on = due
        CaseFile.objects.filter(pk=case.pk).update(next_due_on=due)


def _flag_repeat_perpetrators(
    actor: Actor,
    case: CaseFile,
    perpetrators: Iterable[Perpetrator],
    communes: Sequence[int | None] | None = None,
) -> int:
    """Flag this case and the other survivors' cases naming the same man; alert each unit
    chief involved with the other unit to contact. No content crosses units: the alert
    names the unit, never the other case. Returns how many other cases matched.
    ``communes``: where the case places him, when the caller already knows (else read)."""
    if communes is None:
        communes = _case_communes(case)
    matches: dict[uuid.UUID, search.PerpetratorMatch] = {}
    for perpetrator in perpetrators:
        for match in search.perpetrator_matches(
            perpetrator=perpetrator, communes=communes, survivor=case.survivor
        ):
            matches.setdefault(match.case_id, match)
    if not matches:
        return 0
    others = list(matches.values())
    if not case.repeat_perpetrator:
        case.repeat_perpetrator = True
        CaseFile.objects.filter(pk=case.pk).update(repeat_perpetrator=True)
    newly_flagged = set(
        CaseFile.objects.filter(
            pk__in=[m.case_id for m in others], repeat_perpetrator=False
        ).values_list("pk", flat=True)
    )
    CaseFile.objects.filter(pk__in=newly_flagged).update(repeat_perpetrator=True)
    existing = set(
        Alert.objects.filter(
            kind=AlertKind.REPEAT_PERPETRATOR,
            case_id__in=[case.pk, *(m.case_id for m in others)],
        ).values_list("agency_id", "case_id", "other_agency_id")
    )
    wanted: list[tuple[int, uuid.UUID, int | None]] = []
    for match in others:
        other_unit = match.unit_id if match.unit_id != case.unit_id else None
        wanted.append((case.unit_id, case.pk, other_unit))
        wanted.append((match.unit_id, match.case_id, case.unit_id if other_unit else None))
    new_alerts = {w for w in wanted if w not in existing}
    Alert.objects.bulk_create(
        Alert(
            agency_id=agency_id,
            kind=AlertKind.REPEAT_PERPETRATOR,
            case_id=case_id,
            other_agency_id=other_agency_id,
        )
        for agency_id, case_id, other_agency_id in sorted(new_alerts, key=str)
    )
    # One INSERT for every timeline entry, however many files he appears in: the other
    # units' timelines say only that a match exists (and from which unit).
    TimelineEntry.objects.bulk_create(
        [
            *(
                TimelineEntry(
                    case_id=other_id,
                    actor=None,
                    kind="repeat_perpetrator",
                    metadata={"other_unit": case.unit_id},
                )
                for other_id in sorted(newly_flagged, key=str)
            ),
            TimelineEntry(
                case=case,
                actor_id=actor.user_id,
                kind="repeat_perpetrator",
                metadata={
                    "other_units": sorted({m.unit_id for m in others if m.unit_id != case.unit_id}),
                    "same_unit": sum(1 for m in others if m.unit_id == case.unit_id),
                },
            ),
        ]
    )
    return len(others)


def _reindex_perpetrators(case: CaseFile) -> list[Perpetrator]:
    perpetrators = list(case.perpetrators.select_related("data_key"))
    communes = _case_communes(case)
    for perpetrator in perpetrators:
        search.index_perpetrator(perpetrator, unit_id=case.unit_id, communes=communes)
    return perpetrators


# --- opening a case -----------------------------------------------------------------------


def _take_reference(unit_id: int) -> str:
    """The unit's next reference for this year, taken in one statement that also locks the
    counter row until the transaction ends: opening cases in one unit is serialized here
    (PostgreSQL row lock; SQLite already holds the write lock), which makes the idempotency
    check that follows race-free. Two first openers of a year agree through the unique
    constraint (the second waits, then increments). A replay found after this rolls the
    transaction back (``_Replayed``), so a number is never spent on nothing."""
    year = timezone.localdate().year
    table = UnitCounter._meta.db_table  # fixed by the model
    sql = (
        f"INSERT INTO {table} (unit_id, year, last) VALUES (%s, %s, 1) "  # noqa: S608  # nosec B608
        f"ON CONFLICT (unit_id, year) DO UPDATE SET last = {table}.last + 1 RETURNING last"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [unit_id, year])
        row = cursor.fetchone()
    return f"U{unit_id:04d}-{year}-{int(row[0]):05d}"


class _Replayed(Exception):
    """The key (or the draft) already opened a case: raised inside the opening
    transaction, so the reference number just taken is rolled back with it."""

    def __init__(self, case: CaseFile) -> None:
        super().__init__()
        self.case = case


def _refuse_replay(unit_id: int, key: str) -> None:
    existing = _existing_case(unit_id, key)
    if existing is not None:
        raise _Replayed(existing)


_CASE_PK = CaseFile._meta.get_field("id")


def _existing_case(unit_id: int, key: str) -> CaseFile | None:
    """The case this key already opened in the unit, if any. Asked on every intake and
    almost always answered "none": the id alone first, in plain SQL (a covering look-up on
    the unique key; compiling it through the ORM cost more than running it), the case only
    then."""
    with connection.cursor() as cursor:
        cursor.execute(_existing_case_sql(connection.vendor), [unit_id, key])
        row = cursor.fetchone()
    return CaseFile.objects.get(pk=_CASE_PK.to_python(row[0])) if row else None


@functools.cache
def _existing_case_sql(vendor: str) -> str:
    """Built once per database vendor (``vendor`` keys the cache)."""
    table, column = rows.names(CaseFile)
    return (
        f"SELECT {column['id']} FROM {table} "  # noqa: S608  # nosec B608
        f"WHERE {column['unit']} = %s AND {column['idempotency_key']} = %s LIMIT 1"
    )


@dataclass(frozen=True, slots=True)
class NewCase:
    """What ``open_case_records`` wrote, and the audit events its caller must append (with
    its own ``case.open``, ``record_open``) before its transaction ends."""

    case: CaseFile
    perpetrators: list[Perpetrator]
    audit_events: list[audit.Planned]

    def tell_prior_contact(self, actor: Actor | None, person: SurvivorData) -> search.PriorContact:
        """Earlier contact with her: an alert to her unit for each other unit holding a
        file (naming the unit, never the file), and one timeline entry saying so."""
        case = self.case
        prior = search.prior_contact(
            search.SurvivorQuery(
                full_name=person.full_name,
                phone=person.phone,
                cin=person.cin,
                date_of_birth=person.date_of_birth,
                age_range=person.age_range,
                commune_id=person.residence_commune_id,
            ),
            unit_id=case.unit_id,
            exclude_survivor_ids=[case.survivor_id],
        )
        if prior.found:
            rows.insert(
                [
                    Alert(
                        agency_id=case.unit_id,
                        kind=AlertKind.PRIOR_CONTACT,
                        case_id=case.pk,
                        other_agency_id=unit.agency_id,
                    )
                    for unit in prior.elsewhere
                ]
            )
            _timeline(
                case,
                actor,
                "prior_contact",
                earlier_here=prior.own_references[:20],
                other_units=[u.agency_id for u in prior.elsewhere][:20],
            )
        return prior

    def record_open(self, actor: Actor, **metadata: object) -> None:
        """The opening's one audit append, the last write of its transaction: the keys'
        events, then ``case.open`` with ``metadata``."""
        audit.record_many(
            actor=actor,
            events=[
                *self.audit_events,
                audit.Planned(
                    action="case.open",
                    target_type=TARGET,
                    target_id=str(self.case.pk),
                    metadata=metadata,
                ),
            ],
        )


def open_case_records(
    *,
    unit_id: int,
    reference: str,
    key: str,
    data: IntakeData,
    channel: str,
    created_by_id: int | None,
    survivor_key: DataKey | None = None,
    safe_contact: dict[str, Any] | None = None,
    suspected_automated: bool = False,
) -> NewCase:
    """Write a new case's records, in the caller's transaction (after ``_take_reference``):
    her survivor record, the file, incidents, the men she names, dependants, consents, and
    their blind-index entries. Shared by the staff intake and the portal
    (``cases.online``); each does its own alerts, timeline and audit around it.

    Bulk where the rows are many: one INSERT for the data keys, one each for incidents,
    perpetrators, dependants, consents and index entries. The keys' audit events are
    returned (``NewCase.audit_events``), not appended: the caller appends them with its
    ``case.open``, in one append at the end of its transaction (``data_keys_insert`` says
    why). ``survivor_key``: hers already exists (an interrupted intake's draft, a focal
    point's first contact), so her record is sealed under it.
    """
    person = data.survivor
    kinds = [DataKey.Kind.PERSON] * len(data.perpetrators)
    if survivor_key is None:
        kinds.insert(0, DataKey.Kind.SURVIVOR)
    keys = data_keys_insert(kinds=kinds)
    key_events = data_key_events(keys)
    if survivor_key is None:
        survivor_key = keys.pop(0)
    survivor = Survivor(
        data_key=survivor_key,
        full_name=person.full_name,
        cin=person.cin,
        phone=person.phone,
        address=person.address,
        date_of_birth=person.date_of_birth.isoformat() if person.date_of_birth else "",
        age_range=person.age_range or AgeRange.UNKNOWN,
        residence_commune_id=person.residence_commune_id,
        preferred_language=person.preferred_language,
        safe_contact=person.safe_contact if safe_contact is None else safe_contact,
        declined=list(person.declined),
    )
    rows.insert([survivor])
    interview = data.interview
    case = CaseFile(
        reference=reference,
        unit_id=unit_id,
        survivor=survivor,
        state=CaseState.OPEN,
        channel=channel,
        legal_basis=data.legal_basis,
        narrative=data.narrative,
        private_room=interview.private_room,
        interviewer_gender=interview.interviewer_gender,
        interviewer_gender_chosen=interview.interviewer_gender_chosen,
        interpreter_language=interview.interpreter_language,
        others_present=interview.others_present,
        idempotency_key=key,
        created_by_id=created_by_id,
        suspected_automated=suspected_automated,
    )
    rows.insert([case])
    rows.insert([_incident_row(case, incident) for incident in data.incidents])
    perpetrators = [
        Perpetrator(
            case=case,
            data_key=data_key,
            full_name=p.full_name,
            cin=p.cin,
            phone=p.phone,
            relationship=p.relationship,
            age_range=p.age_range or AgeRange.UNKNOWN,
            number_involved=p.number_involved,
            declined=list(p.declined),
        )
        for p, data_key in zip(data.perpetrators, keys, strict=True)
    ]
    rows.insert(perpetrators)
    rows.insert([Dependant(case=case, **asdict(dependant)) for dependant in data.dependants])
    rows.insert(
        [
            Consent(
                case=case,
                purpose=consent.purpose,
                granted=consent.granted,
                scope=list(consent.scope),
                recorded_by_id=created_by_id,
            )
            for consent in data.consents
        ]
    )
    search.index_new_case(survivor, perpetrators, unit_id=unit_id, communes=_intake_communes(data))
    return NewCase(case=case, perpetrators=perpetrators, audit_events=key_events)


def _intake_communes(data: IntakeData) -> list[int | None]:
    """Where an intake places him: her residence and every incident's commune."""
    return [data.survivor.residence_commune_id, *(i.commune_id for i in data.incidents)]


@dataclass(frozen=True, slots=True)
class IntakeOutcome:
    """What one intake submission did: ``created`` is False when its key had already opened
    the case (a replay), which the API answers 200 instead of 201."""

    case: CaseFile
    created: bool


def case_open_from_intake(
    *,
    actor: Actor,
    data: IntakeData,
    idempotency_key: str,
    draft_id: uuid.UUID | str | None = None,
) -> CaseFile:
    """``case_open_with_outcome`` for callers that need only the case."""
    return case_open_with_outcome(
        actor=actor, data=data, idempotency_key=idempotency_key, draft_id=draft_id
    ).case


def case_open_with_outcome(
    *,
    actor: Actor,
    data: IntakeData,
    idempotency_key: str,
    draft_id: uuid.UUID | str | None = None,
) -> IntakeOutcome:
    """Open her case from the whole intake, in one transaction; idempotent per unit and key.

    The same ``idempotency_key`` submitted again (double click, retry after a time-out,
    two requests racing) returns the case the first one opened: exactly one case, one
    reference, one survivor record. ``draft_id`` (the interview saved as it went) gives
    her the draft's data key and freezes the draft.

    After opening: earlier contact in other units raises a ``prior_contact`` alert naming
    the unit to contact, and a perpetrator already named by another survivor flags both
    cases and alerts both chiefs.

    Not decorated with ``transaction.atomic`` on purpose: the work runs in an inner atomic
    block, so a lost race on the unique key rolls back only that block and the winner's
    case is returned.
    """
    policies.require(actor, Action.OPEN_CASE)
    key = clean_idempotency_key(idempotency_key)
    unit_id = actor.agency_id
    if unit_id is None or actor.user_id is None:
        raise PermissionDenied
    try:
        clean = validate_intake(data)
    except InvalidInput:
        # A replay is answered with its case even if its body no longer validates; a new
        # key is not looked up before validating (the transaction below refuses a replay
        # anyway), which spares every first submission a query.
        existing = _existing_case(unit_id, key)
        if existing is None:
            raise
        _audit(actor, "case.open_replayed", existing)
        return IntakeOutcome(case=existing, created=False)
    try:
        with transaction.atomic():
            return _open(actor=actor, unit_id=unit_id, data=clean, key=key, draft_id=draft_id)
    except _Replayed as replay:
        _audit(actor, "case.open_replayed", replay.case)
        return IntakeOutcome(case=replay.case, created=False)
    except IntegrityError:
        existing = _existing_case(unit_id, key)
        if existing is None:
            raise
        _audit(actor, "case.open_replayed", existing)
        return IntakeOutcome(case=existing, created=False)


def _open(
    *,
    actor: Actor,
    unit_id: int,
    data: IntakeData,
    key: str,
    draft_id: uuid.UUID | str | None,
) -> IntakeOutcome:
    reference = _take_reference(unit_id)
    _refuse_replay(unit_id, key)
    draft = None
    if draft_id is not None:
        draft = (
            IntakeDraft.objects.select_for_update()
            .select_related("data_key")
            .filter(pk=_uuid(draft_id), created_by_id=person_id(actor), unit_id=unit_id)
            .first()
        )
        if draft is None:
            raise NotFound
        if draft.submitted_case_id is not None:
            raise _Replayed(CaseFile.objects.get(pk=draft.submitted_case_id))
    person = data.survivor
    opened = open_case_records(
        unit_id=unit_id,
        reference=reference,
        key=key,
        data=data,
        channel=data.channel,
        created_by_id=person_id(actor),
        survivor_key=draft.data_key if draft is not None else None,
    )
    case, perpetrators = opened.case, opened.perpetrators
    _timeline(case, actor, "opened", to_state=CaseState.OPEN, channel=data.channel)
    if draft is not None:
        draft.submitted_case = case
        draft.data = None
        draft.step = "review"
        draft.save(update_fields=["submitted_case", "data", "step", "updated_at"])
    prior = opened.tell_prior_contact(actor, person)
    repeats = _flag_repeat_perpetrators(actor, case, perpetrators, _intake_communes(data))
    opened.record_open(
        actor,
        incidents=len(data.incidents),
        perpetrators=len(perpetrators),
        dependants=len(data.dependants),
        consents=len(data.consents),
        prior_contact_units=len(prior.elsewhere),
        repeat_perpetrator_matches=repeats,
        from_draft=draft is not None,
    )
    return IntakeOutcome(case=case, created=True)


# --- life cycle ---------------------------------------------------------------------------


def _move(actor: Actor, case: CaseFile, target: CaseState, kind: str, **metadata: object) -> None:
    if not can_transition(case.state, target):
        raise TransitionRefused
    previous = case.state
    case.state = target
    case.save(update_fields=["state", "closure_reason", "closed_at", "next_due_on", "updated_at"])
    _timeline(case, actor, kind, from_state=previous, to_state=target, **metadata)
    _audit(actor, f"case.{kind}", case, metadata={"from": previous, "to": str(target)})


@transaction.atomic
def case_transition(*, actor: Actor, case_id: uuid.UUID | str, to_state: str) -> CaseFile:
    """Move an active case to another active state (assessed, referred, forwarded).

    Closing goes through ``case_request_closure`` / ``case_approve_closure``, reopening
    through ``case_reopen``: those need a reason or the chief.
    """
    case = _case(actor, case_id, Action.TRANSITION)
    try:
        target = CaseState(to_state)
    except ValueError:
        raise InvalidInput(fields={"to_state": [_("Choose a value from the list.")]}) from None
    if target not in ACTIVE_STATES:
        raise InvalidInput(fields={"to_state": [_("Choose a value from the list.")]})
    _move(actor, case, target, "transition")
    return case


@transaction.atomic
def case_assign(*, actor: Actor, case_id: uuid.UUID | str, officer_id: int | None) -> CaseFile:
    """The chief gives the case to an officer of the unit (``None``: back to the queue)."""
    case = _case(actor, case_id, Action.ASSIGN)
    if officer_id is not None:
        staff = Membership.objects.filter(
            user_id=officer_id,
            agency_id=case.unit_id,
            role__in=policies.UNIT_ROLES,
            is_active=True,
            user__is_active=True,
        ).exists()
        if not staff:
            raise InvalidInput(fields={"officer_id": [_("Choose an officer of this unit.")]})
    previous = case.assigned_to_id
    case.assigned_to_id = officer_id
    case.save(update_fields=["assigned_to", "updated_at"])
    _timeline(case, actor, "assigned", officer=officer_id, previous=previous)
    _audit(actor, "case.assign", case, metadata={"officer": officer_id, "previous": previous})
    return case


@transaction.atomic
def case_request_closure(*, actor: Actor, case_id: uuid.UUID | str, reason: str) -> CaseFile:
    """Ask the chief to close the case, for one of the closure reasons; alerts the chief."""
    case = _case(actor, case_id, Action.REQUEST_CLOSURE)
    if reason not in ClosureReason.values:
        raise InvalidInput(fields={"reason": [_("Choose a value from the list.")]})
    case.closure_reason = reason
    _move(actor, case, CaseState.CLOSURE_REQUESTED, "closure_requested", reason=reason)
    _alert(agency_id=case.unit_id, kind=AlertKind.CLOSURE_REQUESTED, case_id=case.pk)
    return case


def _close_alerts_read(case: CaseFile) -> None:
    Alert.objects.filter(case=case, kind=AlertKind.CLOSURE_REQUESTED, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def case_approve_closure(*, actor: Actor, case_id: uuid.UUID | str) -> CaseFile:
    """The chief closes the case as requested."""
    case = _case(actor, case_id, Action.APPROVE_CLOSURE)
    case.closed_at = timezone.now()
    case.next_due_on = None
    _move(actor, case, CaseState.CLOSED, "closed", reason=case.closure_reason)
    _close_alerts_read(case)
    return case


@transaction.atomic
def case_decline_closure(*, actor: Actor, case_id: uuid.UUID | str) -> CaseFile:
    """The chief refuses the closure: the case goes back to where it was."""
    case = _case(actor, case_id, Action.APPROVE_CLOSURE)
    request = (
        TimelineEntry.objects.filter(case=case, kind="closure_requested")
        .order_by("-at", "-id")
        .values_list("from_state", flat=True)
        .first()
    )
    back = CaseState(request) if request in ACTIVE_STATES else CaseState.OPEN
    case.closure_reason = ""
    _move(actor, case, back, "closure_declined")
    _close_alerts_read(case)
    return case


@transaction.atomic
def case_reopen(*, actor: Actor, case_id: uuid.UUID | str, reason: str) -> CaseFile:
    """The chief reopens a closed case (she came back); the reason is audited."""
    case = _case(actor, case_id, Action.REOPEN)
    why = clean_reason(reason)
    if not can_transition(case.state, CaseState.OPEN):
        raise TransitionRefused
    previous = case.state
    case.state = CaseState.OPEN
    case.closed_at = None
    case.closure_reason = ""
    case.save(update_fields=["state", "closed_at", "closure_reason", "updated_at"])
    _refresh_next_due(case)
    _timeline(case, actor, "reopened", from_state=previous, to_state=CaseState.OPEN)
    _audit(actor, "case.reopened", case, reason=why)
    return case


# --- notes and tasks ----------------------------------------------------------------------


@transaction.atomic
def note_add(*, actor: Actor, case_id: uuid.UUID | str, body: str) -> Note:
    """A note on the case, sealed with her key."""
    case = _case(actor, case_id, Action.ADD_NOTE)
    text = (body or "").strip()
    if not text:
        raise InvalidInput(fields={"body": [_("This field is required.")]})
    if len(text) > MAX_NOTE:
        raise InvalidInput(fields={"body": [_("This is too long.")]})
    note = Note(case=case, author_id=person_id(actor), body=text)
    note.save()
    _timeline(case, actor, "note_added", note=note.pk)
    _audit(actor, "case.note_add", case, metadata={"note": note.pk})
    return note


def _unit_officer(case: CaseFile, user_id: int | None, field: str) -> None:
    if user_id is None:
        return
    ok = Membership.objects.filter(
        user_id=user_id,
        agency_id=case.unit_id,
        role__in=policies.UNIT_ROLES,
        is_active=True,
        user__is_active=True,
    ).exists()
    if not ok:
        raise InvalidInput(fields={field: [_("Choose an officer of this unit.")]})


@transaction.atomic
def task_add(
    *,
    actor: Actor,
    case_id: uuid.UUID | str,
    description: str,
    due_on: date,
    assigned_to_id: int | None = None,
) -> Task:
    """A task with a due date (sealed description); keeps the overdue queue current."""
    case = _case(actor, case_id, Action.EDIT)
    errors = FieldErrors()
    text = (description or "").strip()
    if not text:
        errors.add("description", _("This field is required."))
    elif len(text) > MAX_TASK:
        errors.add("description", _("This is too long."))
    if isinstance(due_on, datetime):
        due_on = timezone.localdate(due_on)
    if due_on < timezone.localdate():
        errors.add("due_on", _("The due date cannot be in the past."))
    errors.raise_if_any()
    _unit_officer(case, assigned_to_id, "assigned_to_id")
    task = Task(
        case=case,
        description=text,
        due_on=due_on,
        assigned_to_id=assigned_to_id,
        created_by_id=person_id(actor),
    )
    task.save()
    _refresh_next_due(case)
    _timeline(case, actor, "task_added", task=task.pk, due_on=due_on.isoformat())
    _audit(actor, "case.task_add", case, metadata={"task": task.pk})
    return task


@transaction.atomic
def task_complete(*, actor: Actor, task_id: int) -> Task:
    """Mark a task done (idempotent)."""
    case_id = Task.objects.filter(pk=task_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise NotFound
    case = _case(actor, case_id, Action.EDIT)
    task = Task.objects.select_for_update().get(pk=task_id)
    if task.done_at is None:
        task.done_at = timezone.now()
        task.save(update_fields=["done_at"])
        _refresh_next_due(case)
        _timeline(case, actor, "task_completed", task=task.pk)
        _audit(actor, "case.task_complete", case, metadata={"task": task.pk})
    return task


# --- consent and sharing ------------------------------------------------------------------


def _end_grants(grants: Iterable[Grant], now: datetime) -> list[str]:
    ended: list[str] = []
    for grant in grants:
        grant.revoked_at = now
        grant.save(update_fields=["revoked_at"])
        ended.append(str(grant.pk))
    return ended


@transaction.atomic
def consent_record(
    *,
    actor: Actor,
    case_id: uuid.UUID | str,
    purpose: str,
    granted: bool,
    scope: Sequence[str] = (),
) -> Consent:
    """Her answer for one purpose, with who recorded it and when.

    A new answer replaces the live one. Sharing that rested on the old answer continues
    only as far as the new answer allows (narrower scope), and stops if she now says no.
    """
    case = _case(actor, case_id, Action.RECORD_CONSENT)
    errors = FieldErrors()
    clean = clean_consent(
        ConsentData(purpose=purpose, granted=granted, scope=list(scope)), errors=errors, prefix=""
    )
    errors.raise_if_any()
    now = timezone.now()
    previous = (
        Consent.objects.select_for_update()
        .filter(case=case, purpose=clean.purpose, revoked_at__isnull=True)
        .first()
    )
    if previous is not None:
        previous.revoked_at = now
        previous.revoked_by_id = actor.user_id
        previous.save(update_fields=["revoked_at", "revoked_by"])
    consent = Consent.objects.create(
        case=case,
        purpose=clean.purpose,
        granted=clean.granted,
        scope=list(clean.scope),
        recorded_by_id=person_id(actor),
    )
    ended: list[str] = []
    if previous is not None:
        live = list(
            Grant.objects.select_for_update().filter(consent=previous, revoked_at__isnull=True)
        )
        for grant in live:
            narrowed = [g for g in grant.scope if g in consent.scope]
            if consent.granted and narrowed:
                grant.consent = consent
                grant.scope = narrowed
                grant.save(update_fields=["consent", "scope"])
            else:
                ended += _end_grants([grant], now)
    _timeline(
        case,
        actor,
        "consent_recorded",
        purpose=clean.purpose,
        granted=clean.granted,
        scope=list(clean.scope),
        grants_ended=len(ended),
    )
    _audit(
        actor,
        "case.consent_record",
        case,
        metadata={
            "purpose": clean.purpose,
            "granted": clean.granted,
            "scope": list(clean.scope),
            "grants_ended": ended,
        },
    )
    return consent


@transaction.atomic
def consent_revoke(*, actor: Actor, case_id: uuid.UUID | str, purpose: str) -> Consent:
    """She withdraws her consent for ``purpose``: from this moment the policy refuses the
    sharing it covered (grants resting on it end now, in this transaction)."""
    case = _case(actor, case_id, Action.RECORD_CONSENT)
    consent = (
        Consent.objects.select_for_update()
        .filter(case=case, purpose=purpose, revoked_at__isnull=True)
        .first()
    )
    if consent is None:
        raise InvalidInput(
            fields={"purpose": [_("She has no consent on record for this purpose.")]}
        )
    now = timezone.now()
    consent.revoked_at = now
    consent.revoked_by_id = actor.user_id
    consent.save(update_fields=["revoked_at", "revoked_by"])
    ended = _end_grants(
        Grant.objects.select_for_update().filter(consent=consent, revoked_at__isnull=True), now
    )
    _timeline(case, actor, "consent_revoked", purpose=purpose, grants_ended=len(ended))
    _audit(
        actor,
        "case.consent_revoke",
        case,
        metadata={"purpose": purpose, "grants_ended": ended},
    )
    return consent


def _recipient(case: CaseFile, agency_id: int) -> Agency:
    agency = Agency.objects.filter(pk=agency_id, is_active=True).first()
    if agency is None or agency.pk == case.unit_id:
        raise InvalidInput(fields={"agency_id": [_("Choose an agency from the directory.")]})
    return agency


def _scope(values: Sequence[str], *, within: Iterable[str] = ALL_GROUPS) -> list[str]:
    allowed = {str(g) for g in within}
    chosen = list(dict.fromkeys(values))
    if not chosen:
        raise InvalidInput(fields={"scope": [_("Choose what to share.")]})
    if any(group not in allowed for group in chosen):
        raise InvalidInput(
            fields={"scope": [_("She has not agreed to share all of this.")]}
            if within is not ALL_GROUPS
            else {"scope": [_("Choose a value from the list.")]}
        )
    return chosen


@transaction.atomic
def case_share(
    *, actor: Actor, case_id: uuid.UUID | str, agency_id: int, scope: Sequence[str]
) -> Grant:
    """Open the case to another agency on her live consent (referrals, forwarding to the
    prosecutor call this). ``ConsentMissing`` unless she agreed to share with this kind of
    agency; ``scope`` must stay within what she agreed to."""
    case = _case(actor, case_id, Action.SHARE)
    agency = _recipient(case, agency_id)
    purpose = policies.SHARING_PURPOSE.get(agency.kind)
    consent = (
        Consent.objects.filter(case=case, purpose=purpose, granted=True, revoked_at__isnull=True)
        .order_by("-recorded_at")
        .first()
        if purpose is not None
        else None
    )
    if consent is None:
        raise ConsentMissing
    chosen = _scope(scope, within=consent.scope)
    grant = Grant.objects.create(
        case=case,
        agency=agency,
        basis=SharingBasis.CONSENT,
        consent=consent,
        scope=chosen,
        granted_by_id=person_id(actor),
        starts_at=timezone.now(),
    )
    _timeline(case, actor, "shared", agency=agency.pk, purpose=str(purpose), scope=chosen)
    _audit(
        actor,
        "case.share",
        case,
        metadata={"agency": agency.pk, "grant": str(grant.pk), "scope": chosen},
    )
    return grant


@transaction.atomic
def share_without_consent(
    *,
    actor: Actor,
    case_id: uuid.UUID | str,
    agency_id: int,
    basis: str,
    reason: str,
    scope: Sequence[str],
) -> Grant:
    """Share on a recorded legal basis only (she is a minor; life-threatening risk),
    marked as such on the grant and the timeline, and alerting the unit chief.

    A minor basis needs the record to say she is under 18.
    """
    case = _case(actor, case_id, Action.SHARE_WITHOUT_CONSENT)
    errors = FieldErrors()
    if basis not in policies.WITHOUT_CONSENT_BASES:
        errors.add("basis", _("Choose a value from the list."))
    elif basis == SharingBasis.MINOR and case.survivor.age_range not in (
        AgeRange.UNDER_12,
        AgeRange.FROM_12,
    ):
        errors.add("basis", _("Her record does not say she is under 18."))
    errors.raise_if_any()
    why = clean_reason(reason)
    agency = _recipient(case, agency_id)
    chosen = _scope(scope)
    grant = Grant.objects.create(
        case=case,
        agency=agency,
        basis=basis,
        scope=chosen,
        reason=why,
        granted_by_id=person_id(actor),
        starts_at=timezone.now(),
    )
    _alert(
        agency_id=case.unit_id,
        kind=AlertKind.SHARED_WITHOUT_CONSENT,
        case_id=case.pk,
        other_agency_id=agency.pk,
    )
    _timeline(
        case,
        actor,
        "shared_without_consent",
        agency=agency.pk,
        basis=basis,
        scope=chosen,
        without_consent=True,
    )
    _audit(
        actor,
        "case.share_without_consent",
        case,
        reason=why,
        metadata={"agency": agency.pk, "basis": basis, "grant": str(grant.pk), "scope": chosen},
    )
    return grant


@transaction.atomic
def grant_end(*, actor: Actor, grant_id: uuid.UUID | str) -> Grant:
    """The holding unit stops sharing (referral closed, complaint returned), also once the
    case is closed."""
    grant = Grant.objects.filter(pk=_uuid(grant_id)).first()
    if grant is None:
        raise NotFound
    case = _case(actor, grant.case_id, Action.READ)
    if not policies.is_unit_staff(actor, case.unit_id):
        raise PermissionDenied
    if grant.revoked_at is None:
        _end_grants([grant], timezone.now())
        _timeline(case, actor, "sharing_ended", agency=grant.agency_id)
        _audit(actor, "case.share_end", case, metadata={"grant": str(grant.pk)})
    return grant


@transaction.atomic
def break_glass(
    *,
    actor: Actor,
    reason: str,
    case_id: uuid.UUID | str | None = None,
    reference: str | None = None,
) -> Grant:
    """Emergency access for one person of another agency, for ``BREAK_GLASS_HOURS``.

    Needs a written reason and a fresh second factor; alerts the holding unit's chief and
    is on the case's timeline. The case is named by id or by its reference (read out over
    the phone by the unit). A role that may never break glass gets ``NotFound``, exactly as
    for a case that does not exist, so this cannot be used to probe references.
    """
    if actor.role not in policies.BREAK_GLASS_ROLES or actor.agency_id is None:
        raise NotFound
    if actor.user_id is None:
        raise NotFound
    if not actor.recently_verified:
        raise StepUpRequired
    why = clean_reason(reason)
    if (case_id is None) == (reference is None):
        raise InvalidInput(fields={"reference": [_("This field is required.")]})
    queryset = CaseFile.objects.select_for_update(of=("self",)).select_related("survivor")
    case = (
        queryset.filter(pk=_uuid(case_id)).first()
        if case_id is not None
        else queryset.filter(reference=(reference or "").strip().upper()).first()
    )
    if case is None:
        raise NotFound
    if not policies.allowed(actor, Action.BREAK_GLASS, case):
        raise PermissionDenied
    now = timezone.now()
    until = now + timedelta(hours=policies.BREAK_GLASS_HOURS)
    grant = Grant.objects.create(
        case=case,
        agency_id=actor.agency_id,
        user_id=actor.user_id,
        basis=SharingBasis.BREAK_GLASS,
        scope=sorted(str(g) for g in ALL_GROUPS),
        reason=why,
        granted_by_id=person_id(actor),
        starts_at=now,
        ends_at=until,
    )
    _alert(
        agency_id=case.unit_id,
        kind=AlertKind.BREAK_GLASS,
        case_id=case.pk,
        other_agency_id=actor.agency_id,
    )
    _timeline(
        case,
        actor,
        "break_glass",
        agency=actor.agency_id,
        until=until.isoformat(),
    )
    _audit(
        actor,
        "case.break_glass",
        case,
        reason=why,
        metadata={"grant": str(grant.pk), "hours": policies.BREAK_GLASS_HOURS},
    )
    return grant


# --- her record, the incidents, the perpetrators ------------------------------------------


@transaction.atomic
def survivor_update(*, actor: Actor, case_id: uuid.UUID | str, data: SurvivorData) -> Survivor:
    """Replace her identity and contact details (same checks as at intake); re-indexes her
    and the perpetrators placed by her commune. The timeline lists which fields changed,
    never their values."""
    case = _case(actor, case_id, Action.EDIT)
    survivor = case.survivor
    errors = FieldErrors()
    days = [
        day
        for on, end in case.incidents.values_list("occurred_on", "occurred_to")
        if (day := on or end) is not None
    ]
    clean = clean_survivor(
        data,
        today=timezone.localdate(),
        errors=errors,
        known_communes=existing_communes([data.residence_commune_id]),
        incident_days=days,
        prefix="",
    )
    errors.raise_if_any()
    new_values: dict[str, object] = {
        "full_name": clean.full_name,
        "cin": clean.cin,
        "phone": clean.phone,
        "address": clean.address,
        "date_of_birth": clean.date_of_birth.isoformat() if clean.date_of_birth else "",
        "age_range": clean.age_range or AgeRange.UNKNOWN,
        "residence_commune_id": clean.residence_commune_id,
        "preferred_language": clean.preferred_language,
        "safe_contact": clean.safe_contact,
        "declined": list(clean.declined),
    }
    changed = [name for name, value in new_values.items() if getattr(survivor, name) != value]
    if not changed:
        return survivor
    for name in changed:
        setattr(survivor, name, new_values[name])
    survivor.save()
    search.index_survivor(survivor, unit_id=case.unit_id)
    fields = sorted(name.removesuffix("_id") for name in changed)
    if "residence_commune_id" in changed:
        _flag_repeat_perpetrators(actor, case, _reindex_perpetrators(case))
    _timeline(case, actor, "survivor_updated", fields=fields)
    _audit(actor, "case.survivor_update", case, metadata={"fields": fields})
    return survivor


@transaction.atomic
def perpetrator_add(
    *, actor: Actor, case_id: uuid.UUID | str, data: PerpetratorData
) -> Perpetrator:
    """Name an alleged perpetrator; if another survivor's file names the same man, both
    cases are flagged and both chiefs alerted (which unit to contact, nothing more)."""
    case = _case(actor, case_id, Action.EDIT)
    errors = FieldErrors()
    clean = clean_perpetrator(data, errors=errors, prefix="")
    errors.raise_if_any()
    perpetrator = _seal_perpetrator(actor, case, clean)
    search.index_perpetrator(perpetrator, unit_id=case.unit_id, communes=_case_communes(case))
    repeats = _flag_repeat_perpetrators(actor, case, [perpetrator])
    _timeline(case, actor, "perpetrator_added", perpetrator=str(perpetrator.pk))
    _audit(
        actor,
        "case.perpetrator_add",
        case,
        metadata={"perpetrator": str(perpetrator.pk), "repeat_matches": repeats},
    )
    return perpetrator


@transaction.atomic
def incident_add(*, actor: Actor, case_id: uuid.UUID | str, data: IncidentData) -> Incident:
    """Record another incident of the same survivor (one survivor per incident)."""
    case = _case(actor, case_id, Action.EDIT)
    born_text = case.survivor.date_of_birth
    born = date.fromisoformat(born_text) if born_text and len(born_text) == 10 else None
    errors = FieldErrors()
    clean = clean_incident(
        data,
        today=timezone.localdate(),
        errors=errors,
        known_communes=existing_communes([data.commune_id]),
        prefix="",
        born=born,
    )
    errors.raise_if_any()
    incident = _incident(case, clean)
    if clean.commune_id is not None:
        _flag_repeat_perpetrators(actor, case, _reindex_perpetrators(case))
    _timeline(
        case,
        actor,
        "incident_added",
        incident=incident.pk,
        gbvims_type=incident.gbvims_type,
        dated=incident_last_day(clean) is not None,
    )
    _audit(actor, "case.incident_add", case, metadata={"incident": incident.pk})
    return incident


# --- alerts -------------------------------------------------------------------------------


@transaction.atomic
def alert_mark_read(*, actor: Actor, alert_id: int) -> Alert:
    """The chief has seen an alert of her unit."""
    alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None or actor.role != "unit_chief" or alert.agency_id != actor.agency_id:
        raise NotFound
    if alert.read_at is None:
        alert.read_at = timezone.now()
        alert.save(update_fields=["read_at"])
        audit.record(
            actor=actor, action="case.alert_read", target_type="cases.alert", target_id=alert.pk
        )
    return alert


# --- correcting her record after intake ---------------------------------------------------
#
# The edit pages and the API correct what the intake recorded. Each service replaces one
# record whole (the same checks as at intake), changes nothing when nothing changed, and
# writes a timeline entry and an audit event naming the fields that changed, never their
# values. Search indexes follow the sealed values they are built from; a change to where or
# who he is runs the repeat-perpetrator check again (a flag once raised stays: the chiefs
# were alerted, and a correction does not unsay that two files once matched).


def _changed(record: object, new_values: dict[str, object]) -> list[str]:
    return [name for name, value in new_values.items() if getattr(record, name) != value]


def _fields(changed: Iterable[str]) -> list[str]:
    return sorted(name.removesuffix("_id") for name in changed)


def _born(case: CaseFile) -> date | None:
    text = case.survivor.date_of_birth
    return date.fromisoformat(text) if text and len(text) == 10 else None


def _int_id(value: int | str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotFound from None
    if not 0 < number < 2**63:
        raise NotFound
    return number


@transaction.atomic
def incident_update(
    *, actor: Actor, case_id: uuid.UUID | str, incident_id: int, data: IncidentData
) -> Incident:
    """Correct one incident of the case (same checks as at intake). The GBVIMS core type is
    derived again from the forms and acts; a new commune re-places the perpetrators and
    runs the repeat-perpetrator check again. An incident of another case is not found."""
    case = _case(actor, case_id, Action.EDIT)
    incident = (
        Incident.objects.select_for_update().filter(pk=_int_id(incident_id), case=case).first()
    )
    if incident is None:
        raise NotFound
    errors = FieldErrors()
    clean = clean_incident(
        data,
        today=timezone.localdate(),
        errors=errors,
        known_communes=existing_communes([data.commune_id]),
        prefix="",
        born=_born(case),
    )
    errors.raise_if_any()
    new_values: dict[str, object] = {
        "occurred_on": clean.occurred_on,
        "occurred_from": clean.occurred_from,
        "occurred_to": clean.occurred_to,
        "commune_id": clean.commune_id,
        "forms": list(clean.forms),
        "acts": list(clean.acts),
        "context": list(clean.context),
        "declined": list(clean.declined),
    }
    changed = _changed(incident, new_values)
    if not changed:
        return incident
    previous_type = incident.gbvims_type
    for name in changed:
        setattr(incident, name, new_values[name])
    incident.gbvims_type = classify(forms=clean.forms, acts=clean.acts)
    incident.save()
    repeats = 0
    if "commune_id" in changed:
        repeats = _flag_repeat_perpetrators(actor, case, _reindex_perpetrators(case))
    fields = _fields(changed)
    _timeline(
        case,
        actor,
        "incident_updated",
        incident=incident.pk,
        fields=fields,
        gbvims_type=incident.gbvims_type,
        reclassified=incident.gbvims_type != previous_type,
    )
    _audit(
        actor,
        "case.incident_update",
        case,
        metadata={"incident": incident.pk, "fields": fields, "repeat_matches": repeats},
    )
    return incident


@transaction.atomic
def perpetrator_update(
    *,
    actor: Actor,
    case_id: uuid.UUID | str,
    perpetrator_id: uuid.UUID | str,
    data: PerpetratorData,
) -> Perpetrator:
    """Correct what she said about one alleged perpetrator (same checks as at intake).

    His blind indexes are rebuilt from the new values (the old name, phone or CIN no longer
    finds him) and, when who he is changed, the repeat-perpetrator check runs again: another
    survivor's file naming the same man flags both cases and alerts both chiefs."""
    case = _case(actor, case_id, Action.EDIT)
    perpetrator = (
        Perpetrator.objects.select_for_update()
        .select_related("data_key")
        .filter(pk=_uuid(perpetrator_id), case=case)
        .first()
    )
    if perpetrator is None:
        raise NotFound
    errors = FieldErrors()
    clean = clean_perpetrator(data, errors=errors, prefix="")
    errors.raise_if_any()
    new_values: dict[str, object] = {
        "full_name": clean.full_name,
        "cin": clean.cin,
        "phone": clean.phone,
        "relationship": clean.relationship,
        "age_range": clean.age_range or AgeRange.UNKNOWN,
        "number_involved": clean.number_involved,
        "declined": list(clean.declined),
    }
    changed = _changed(perpetrator, new_values)
    if not changed:
        return perpetrator
    for name in changed:
        setattr(perpetrator, name, new_values[name])
    perpetrator.save()
    repeats = 0
    if {"full_name", "cin", "phone"} & set(changed):
        search.index_perpetrator(perpetrator, unit_id=case.unit_id, communes=_case_communes(case))
        repeats = _flag_repeat_perpetrators(actor, case, [perpetrator])
    fields = _fields(changed)
    _timeline(case, actor, "perpetrator_updated", perpetrator=str(perpetrator.pk), fields=fields)
    _audit(
        actor,
        "case.perpetrator_update",
        case,
        metadata={"perpetrator": str(perpetrator.pk), "fields": fields, "repeat_matches": repeats},
    )
    return perpetrator


MAX_DEPENDANT_AGE = 30


def clean_dependant(data: DependantData, *, errors: FieldErrors, prefix: str = "") -> DependantData:
    """The intake's checks of one child or dependant (``validate_intake`` applies the same)."""
    p = prefix
    if data.age is not None and not 0 <= data.age <= MAX_DEPENDANT_AGE:
        errors.add(p + "age", _("Give an age between 0 and 30."))
    first_name = data.first_name.strip()
    if len(first_name) > 100:
        errors.add(p + "first_name", MSG_TOO_LONG)
    relationship = data.relationship.strip()
    if len(relationship) > 32:
        errors.add(p + "relationship", MSG_TOO_LONG)
    declined: list[str] = []
    for name in data.declined:
        if name not in DEPENDANT_DECLINABLE:
            errors.add(p + "declined", MSG_CHOICE)
        elif name not in declined:
            declined.append(name)
    return replace(data, first_name=first_name, relationship=relationship, declined=declined)


@transaction.atomic
def dependant_add(*, actor: Actor, case_id: uuid.UUID | str, data: DependantData) -> Dependant:
    """Record a child or other dependant at risk (first name sealed with her key)."""
    case = _case(actor, case_id, Action.EDIT)
    errors = FieldErrors()
    clean = clean_dependant(data, errors=errors)
    errors.raise_if_any()
    dependant = Dependant(case=case, **asdict(clean))
    dependant.save()
    _timeline(case, actor, "dependant_added", dependant=dependant.pk, at_risk=dependant.at_risk)
    _audit(actor, "case.dependant_add", case, metadata={"dependant": dependant.pk})
    return dependant


@transaction.atomic
def dependant_update(
    *, actor: Actor, case_id: uuid.UUID | str, dependant_id: int, data: DependantData
) -> Dependant:
    """Correct what was recorded about a child or dependant."""
    case = _case(actor, case_id, Action.EDIT)
    dependant = (
        Dependant.objects.select_for_update().filter(pk=_int_id(dependant_id), case=case).first()
    )
    if dependant is None:
        raise NotFound
    errors = FieldErrors()
    clean = clean_dependant(data, errors=errors)
    errors.raise_if_any()
    new_values: dict[str, object] = asdict(clean)
    changed = _changed(dependant, new_values)
    if not changed:
        return dependant
    for name in changed:
        setattr(dependant, name, new_values[name])
    dependant.save()
    fields = _fields(changed)
    _timeline(case, actor, "dependant_updated", dependant=dependant.pk, fields=fields)
    _audit(
        actor,
        "case.dependant_update",
        case,
        metadata={"dependant": dependant.pk, "fields": fields},
    )
    return dependant


# --- parsing one record (pages and API alike) ---------------------------------------------


def _one_record(raw: dict[str, Any], key: str, prefix: str) -> IntakeData:
    """Parse one record with the intake's own parser (``intake_from_dict``), so a page, the
    API and the intake give the same messages; paths come back without the intake's prefix."""
    try:
        return intake_from_dict({key: raw} if key == "survivor" else {key: [raw]})
    except InvalidInput as exc:
        raise InvalidInput(
            fields={path.removeprefix(prefix): messages for path, messages in exc.fields.items()}
        ) from None


def survivor_from_dict(raw: Mapping[str, Any]) -> SurvivorData:
    """Her identity and contact record from JSON-like input (shape only, as at intake)."""
    return _one_record(dict(raw), "survivor", "survivor.").survivor


def dependant_from_dict(raw: Mapping[str, Any]) -> DependantData:
    """One child or dependant from JSON-like input (shape only, as at intake)."""
    return _one_record(dict(raw), "dependants", "dependants.0.").dependants[0]


# --- scheduled sweeps (registered in CasesConfig.ready, run by ``manage.py run_schedule``) --

DEFAULT_DRAFT_MAX_AGE = timedelta(days=7)
SWEEP_BATCH = 200


def intake_draft_max_age() -> timedelta:
    days = getattr(settings, "HIMAYA_INTAKE_DRAFT_MAX_AGE_DAYS", None)
    return timedelta(days=int(days)) if days else DEFAULT_DRAFT_MAX_AGE


def intake_draft_sweep_abandoned(*, older_than: timedelta | None = None) -> int:
    """Erase interviews abandoned for longer than ``older_than`` (the setting
    ``HIMAYA_INTAKE_DRAFT_MAX_AGE_DAYS``, 7 days by default): each draft's data key is
    crypto-shredded, so what she said in an interview nobody finished cannot be read again,
    not even from a backup (the shred ledger). A submitted draft is never touched: its key
    is hers now.

    Run by the system (audited as such), a batch at a time, each draft in its own
    transaction with its row locked and re-checked: an officer who resumes the interview at
    that moment either saves first (the draft is then recent and kept) or finds it erased.
    Idempotent; returns how many drafts were erased."""
    cutoff = timezone.now() - (older_than if older_than is not None else intake_draft_max_age())
    stale = IntakeDraft.objects.filter(
        submitted_case__isnull=True, data_key__shredded_at__isnull=True, updated_at__lt=cutoff
    )
    erased = 0
    last: uuid.UUID | None = None
    while True:
        batch = stale.filter(pk__gt=last) if last is not None else stale
        ids = list(batch.order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH])
        if not ids:
            return erased
        last = ids[-1]
        for draft_id in ids:
            with transaction.atomic():
                draft = (
                    stale.select_for_update(of=("self",))
                    .select_related("data_key")
                    .filter(pk=draft_id)
                    .first()
                )
                if draft is None:
                    continue
                data_key_shred(
                    actor=SYSTEM, data_key=draft.data_key, reason="intake draft abandoned"
                )
                audit.record(
                    actor=SYSTEM,
                    action="intake_draft.expire",
                    target_type="cases.intake_draft",
                    target_id=str(draft.pk),
                    metadata={"step": draft.step},
                )
                erased += 1
