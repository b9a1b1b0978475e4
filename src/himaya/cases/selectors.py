"""Every read of case files, already scoped to the actor. Fail closed: whatever the policy
does not allow reads as missing (``NotFound``), and every read of a case is audited.

Each selector is a fixed number of queries whatever the size of the database and the page
(the tests assert the counts): equality or range look-ups on an index, keyset pages, no
per-row queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from django.core import signing
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from himaya.accounts.models import User
from himaya.cases import policies, search
from himaya.cases.intake import FieldErrors, clean_cin, clean_phone
from himaya.cases.models import (
    AgeRange,
    Alert,
    CaseFile,
    Consent,
    Dependant,
    Evidence,
    Grant,
    Incident,
    Note,
    Perpetrator,
    Task,
    TimelineEntry,
)
from himaya.cases.policies import Access, Action, FieldGroup
from himaya.cases.search import SearchResult, SurvivorQuery
from himaya.cases.states import CaseState
from himaya.core import audit
from himaya.core.actor import Actor
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.core.names import token_keys
from himaya.core.pagination import Page, clamp_limit, paginate

__all__ = [
    "CaseDetails",
    "QueueView",
    "alert_page",
    "alerts_for",
    "case_details",
    "case_get",
    "case_timeline",
    "duplicate_candidates",
    "find_by_cin",
    "find_by_name",
    "find_by_phone",
    "unit_officers",
    "unit_queue",
]

TARGET = "cases.case"
#: How many case ids a search's audit event lists (the event's metadata is bounded).
AUDITED_IDS = 20


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound from None


# --- one case -----------------------------------------------------------------------------


def _visible_case(actor: Actor, case_id: uuid.UUID | str) -> tuple[CaseFile, Access]:
    case = (
        CaseFile.objects.select_related("survivor", "survivor__data_key", "unit", "assigned_to")
        .filter(pk=_uuid(case_id))
        .first()
    )
    if case is None:
        raise NotFound
    access = policies.access_for(actor, case)
    if access is None:
        # Recorded (the unit chief can see who tried), answered exactly like a missing case.
        audit.record(
            actor=actor, action="case.read_denied", target_type=TARGET, target_id=str(case.pk)
        )
        raise NotFound
    return case, access


def _access_metadata(access: Access) -> dict[str, object]:
    return {
        "holding_unit": access.holding_unit,
        "bases": sorted({grant.basis for grant in access.grants}),
        "emergency": any(policies.is_emergency(grant) for grant in access.grants),
        "groups": sorted(str(group) for group in access.groups),
    }


def case_get(
    *, actor: Actor, case_id: uuid.UUID | str, read_with: Sequence[audit.Planned] = ()
) -> tuple[CaseFile, Access]:
    """The case and what the actor may see of it; an audited ``case.read``.

    ``read_with``: events of the caller's own read that the file is part of (the complaint
    page's ``justice.complaint_read``), appended just before ``case.read`` in the same
    append, and only once the case is found visible.

    The holding unit's staff see everything; another agency sees it only through a live
    grant, and only the field groups in ``access.groups`` (the page must show nothing
    else). Everyone else gets ``NotFound``, the same as for a case that does not exist.
    The case comes with her record and its data key joined: reading her name costs no
    further query.
    """
    case, access = _visible_case(actor, case_id)
    audit.record_many(
        actor=actor,
        events=[
            *read_with,
            audit.Planned(
                action="case.read",
                target_type=TARGET,
                target_id=str(case.pk),
                metadata=_access_metadata(access),
            ),
        ],
    )
    return case, access


def _timeline_page(case: CaseFile, *, cursor: str | None, limit: int | None) -> Page[TimelineEntry]:
    return paginate(
        TimelineEntry.objects.filter(case=case).select_related("actor"),
        order_by="at",
        cursor=cursor,
        limit=limit,
        salt=f"cases.timeline.{case.pk}",
        descending=False,
    )


def case_timeline(
    *, actor: Actor, case_id: uuid.UUID | str, cursor: str | None = None, limit: int | None = None
) -> Page[TimelineEntry]:
    """What happened to the case, oldest first, a keyset page at a time (audited read).

    Timeline entries hold kinds, states and ids, never content, so every reader of the case
    may see them."""
    case, access = _visible_case(actor, case_id)
    page = _timeline_page(case, cursor=cursor, limit=limit)
    audit.record(
        actor=actor,
        action="case.timeline_read",
        target_type=TARGET,
        target_id=str(case.pk),
        metadata={"holding_unit": access.holding_unit, "count": len(page.items)},
    )
    return page


# --- the unit's queues --------------------------------------------------------------------


class QueueView(StrEnum):
    NEW = "new"  # opened, nobody assigned yet
    MINE = "mine"  # assigned to me, not closed
    OVERDUE = "overdue"  # a task is past its due date
    AWAITING_APPROVAL = "awaiting_approval"  # closure requested, waiting for the chief


def _encode(value: object) -> list[str]:
    if isinstance(value, datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    raise TypeError(type(value).__name__)


def _decode(tagged: object) -> date | datetime:
    if isinstance(tagged, list) and len(tagged) == 2 and isinstance(tagged[1], str):
        if tagged[0] == "dt":
            return datetime.fromisoformat(tagged[1])
        if tagged[0] == "d":
            return date.fromisoformat(tagged[1])
    raise ValueError("bad cursor value")


def _keyset(
    queryset: QuerySet[CaseFile],
    *,
    order_by: str,
    cursor: str | None,
    limit: int | None,
    salt: str,
    descending: bool,
) -> Page[CaseFile]:
    """``core.pagination.paginate`` for UUID primary keys (cases are keyed by UUID so their
    ids reveal nothing about how many there are). Same opaque, signed, list-salted cursor."""
    size = clamp_limit(limit)
    full_salt = f"himaya.pagination:{salt}:{order_by}:{'desc' if descending else 'asc'}"
    op = "lt" if descending else "gt"
    if cursor:
        try:
            raw, pk_text = signing.loads(cursor, salt=full_salt)
            value, pk = _decode(raw), uuid.UUID(str(pk_text))
        except (signing.BadSignature, ValueError, TypeError) as exc:
            raise InvalidInput(
                _("This page link is no longer valid. Start again from the first page."),
                fields={"cursor": [_("This cursor is not valid.")]},
            ) from exc
        # The first condition is implied by the second; it is there so the database gets a
        # range bound on the index instead of filtering every row before the cursor.
        queryset = queryset.filter(**{f"{order_by}__{op}e": value}).filter(
            Q(**{f"{order_by}__{op}": value}) | Q(**{order_by: value, f"pk__{op}": pk})
        )
    sign = "-" if descending else ""
    rows = list(queryset.order_by(f"{sign}{order_by}", f"{sign}pk")[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = signing.dumps(
            [_encode(getattr(last, order_by)), str(last.pk)], salt=full_salt
        )
    return Page(items=rows, next_cursor=next_cursor, limit=size)


# What the staff queue page shows of a case (no names: see cases.views). Loading only these
# columns keeps the page from reading her sealed record, its data key and the sealed
# narrative of fifty cases it never displays.
QUEUE_FACTS = (
    "id",
    "reference",
    "unit_id",
    "state",
    "channel",
    "created_at",
    "next_due_on",
    "repeat_perpetrator",
    "suspected_automated",
    "assigned_to_id",
    "assigned_to__id",
    "assigned_to__username",
    "assigned_to__display_name",
)


def _partial_index_condition(sql: str) -> RawSQL:
    """A queue's condition written as SQL literals, exactly as its partial index states it.

    SQLite uses a partial index only when the query repeats the index's condition with the
    same literal values; the bound parameters the ORM writes (``state IN (?, ?)``) never
    match, and the "new" list then walked the unit's whole history (27 ms instead of 0.2 ms
    at 1,000,000 cases). Only fixed state values go in here, never anything from a request.
    """
    return RawSQL(sql, [], output_field=BooleanField())  # noqa: S611  # nosec B611


_STATE = '"cases_casefile"."state"'
_ACTIVE_FOR_NEW = _partial_index_condition(
    f"NOT ({_STATE} IN ('{CaseState.CLOSURE_REQUESTED.value}', '{CaseState.CLOSED.value}'))"
)
_NOT_CLOSED = _partial_index_condition(f"NOT ({_STATE} = '{CaseState.CLOSED.value}')")


def unit_queue(
    *,
    actor: Actor,
    view: str,
    cursor: str | None = None,
    limit: int | None = None,
    with_survivor: bool = True,
) -> Page[CaseFile]:
    """One keyset page of the unit's work list, each served by its own index:

    ``new`` (still active and not yet taken by an officer; newest first), ``mine`` (assigned
    to me, not closed), ``overdue`` (a task past due; most overdue first),
    ``awaiting_approval`` (closure requested). Only the unit's own staff. With
    ``with_survivor`` (the API, which shows names) cases come with her record and its key
    joined, so showing names costs no further query; without it (the page, which shows
    facts only) only ``QUEUE_FACTS`` are read. One audit event per page.
    """
    if actor.agency_id is None or not policies.is_unit_staff(actor, actor.agency_id):
        raise PermissionDenied
    try:
        chosen = QueueView(view)
    except ValueError:
        raise InvalidInput(fields={"view": [_("Choose a value from the list.")]}) from None
    unit = actor.agency_id
    if with_survivor:
        base = CaseFile.objects.select_related("survivor", "survivor__data_key", "assigned_to")
    else:
        base = CaseFile.objects.select_related("assigned_to").only(*QUEUE_FACTS)
    order_by, descending = "created_at", True
    match chosen:
        case QueueView.NEW:
            # Nobody has taken it yet, whatever step it reached without the unit: her online
            # complaint is already with the prosecutor when the unit first sees it.
            queryset = base.filter(_ACTIVE_FOR_NEW, unit_id=unit, assigned_to__isnull=True)
        case QueueView.MINE:
            queryset = base.filter(_NOT_CLOSED, assigned_to_id=actor.user_id, unit_id=unit)
        case QueueView.OVERDUE:
            queryset = base.filter(unit_id=unit, next_due_on__lt=timezone.localdate())
            order_by, descending = "next_due_on", False
        case QueueView.AWAITING_APPROVAL:
            queryset = base.filter(unit_id=unit, state=CaseState.CLOSURE_REQUESTED)
    page = _keyset(
        queryset,
        order_by=order_by,
        cursor=cursor,
        limit=limit,
        salt=f"cases.queue.{chosen}",
        descending=descending,
    )
    audit.record(
        actor=actor,
        action="case.queue_read",
        target_type="network.agency",
        target_id=unit,
        metadata={"view": str(chosen), "count": len(page.items)},
    )
    return page


# --- finding her again --------------------------------------------------------------------


def _require_search(actor: Actor) -> int:
    policies.require(actor, Action.SEARCH)
    if actor.agency_id is None:  # the policy requires an agency; never trust that silently
        raise NotFound
    return actor.agency_id


def _audit_search(actor: Actor, by: str, result: SearchResult) -> None:
    """The search itself is audited: by what (never the value typed), what it showed."""
    audit.record(
        actor=actor,
        action="case.search",
        target_type=TARGET,
        target_id=None,
        metadata={
            "by": by,
            "own": len(result.own),
            "own_cases": [str(match.case.pk) for match in result.own[:AUDITED_IDS]],
            "other_units": [unit.agency_id for unit in result.elsewhere[:AUDITED_IDS]],
        },
    )


def find_by_phone(*, actor: Actor, phone: str) -> SearchResult:
    """Her files in my unit with this phone, and which other units hold one.

    The number may be typed nationally or internationally; a number that cannot exist is
    refused on the ``phone`` field."""
    unit = _require_search(actor)
    errors = FieldErrors()
    value = clean_phone(phone or "", "phone", errors)
    if not value and not errors:
        errors.add("phone", _("This field is required."))
    errors.raise_if_any()
    result = search.survivor_matches(SurvivorQuery(phone=value), unit_id=unit)
    _audit_search(actor, "phone", result)
    return result


def find_by_cin(*, actor: Actor, cin: str) -> SearchResult:
    """Her files in my unit with this CIN, and which other units hold one."""
    unit = _require_search(actor)
    errors = FieldErrors()
    value = clean_cin(cin or "", "cin", errors)
    if not value and not errors:
        errors.add("cin", _("This field is required."))
    errors.raise_if_any()
    result = search.survivor_matches(SurvivorQuery(cin=value), unit_id=unit)
    _audit_search(actor, "cin", result)
    return result


def _check_narrowing(errors: FieldErrors, date_of_birth: date | None, age_range: str) -> None:
    if date_of_birth is not None and date_of_birth > timezone.localdate():
        errors.add("date_of_birth", _("The date of birth cannot be in the future."))
    if age_range and age_range not in AgeRange.values:
        errors.add("age_range", _("Choose a value from the list."))


def find_by_name(
    *,
    actor: Actor,
    name: str,
    date_of_birth: date | None = None,
    age_range: str = "",
    commune_id: int | None = None,
) -> SearchResult:
    """Her files in my unit whose name holds every part typed, however it was spelled
    (فاطمة, Fatima, Fatema, Fadma), in either order.

    Other units appear only when the name is combined with a date of birth, or with a
    commune (and a compatible age range): a bare name never reveals that another unit
    holds a file."""
    unit = _require_search(actor)
    errors = FieldErrors()
    if not token_keys(name or ""):
        errors.add("name", _("Type at least one part of her name."))
    _check_narrowing(errors, date_of_birth, age_range)
    errors.raise_if_any()
    result = search.survivor_matches(
        SurvivorQuery(
            full_name=name,
            date_of_birth=date_of_birth,
            age_range=age_range,
            commune_id=commune_id,
        ),
        unit_id=unit,
        extra_own=search.survivors_by_name_in_unit(name, unit_id=unit),
    )
    _audit_search(actor, "name", result)
    return result


def duplicate_candidates(
    *,
    actor: Actor,
    full_name: str = "",
    phone: str = "",
    cin: str = "",
    date_of_birth: date | None = None,
    age_range: str = "",
    commune_id: int | None = None,
    exclude_case_id: uuid.UUID | str | None = None,
) -> SearchResult:
    """Is she already known? Shown at intake before a new file is opened (and on a file,
    with ``exclude_case_id``, to find its duplicates).

    Candidates in my unit (strong first: same phone, CIN, or name and date of birth; then
    partial name with the date of birth, name in the same commune, or every part of her
    name), and the other units to contact. Phonetic keys fold Arabic and Latin spellings;
    every comparison is between blind-index digests."""
    unit = _require_search(actor)
    errors = FieldErrors()
    clean_phone_value = clean_phone(phone or "", "phone", errors)
    clean_cin_value = clean_cin(cin or "", "cin", errors)
    _check_narrowing(errors, date_of_birth, age_range)
    errors.raise_if_any()
    exclude: list[uuid.UUID] = []
    if exclude_case_id is not None:
        survivor_id = (
            CaseFile.objects.filter(pk=_uuid(exclude_case_id), unit_id=unit)
            .values_list("survivor_id", flat=True)
            .first()
        )
        if survivor_id is None:
            raise NotFound
        exclude.append(survivor_id)
    result = search.survivor_matches(
        SurvivorQuery(
            full_name=full_name,
            phone=clean_phone_value,
            cin=clean_cin_value,
            date_of_birth=date_of_birth,
            age_range=age_range,
            commune_id=commune_id,
        ),
        unit_id=unit,
        exclude_survivor_ids=exclude,
        extra_own=search.survivors_by_name_in_unit(full_name, unit_id=unit),
    )
    _audit_search(actor, "duplicates", result)
    return result


# --- alerts -------------------------------------------------------------------------------


#: What an alert's row shows: the alert, her case's reference and the other unit's name;
#: never the case's sealed columns.
ALERT_COLUMNS = (
    "id",
    "agency_id",
    "kind",
    "case_id",
    "other_agency_id",
    "created_at",
    "read_at",
    "case__reference",
    "other_agency__name_ar",
    "other_agency__name_fr",
)


def _unread_alerts(actor: Actor) -> QuerySet[Alert]:
    if actor.role != "unit_chief" or actor.agency_id is None:
        return Alert.objects.none()
    return (
        Alert.objects.filter(agency_id=actor.agency_id, read_at__isnull=True)
        .select_related("case", "other_agency")
        .only(*ALERT_COLUMNS)
    )


def alerts_for(*, actor: Actor, limit: int = 50) -> list[Alert]:
    """The unit chief's unread alerts, newest first: emergency access, sharing without
    consent, closures awaiting approval, repeat perpetrators and earlier contact in other
    units. An alert names a case of her own unit and, for cross-unit ones, the other unit
    to contact; never anything from another unit's file. Nobody else has alerts."""
    return list(_unread_alerts(actor).order_by("-created_at", "-id")[: clamp_limit(limit)])


# --- the case page ------------------------------------------------------------------------

#: Upper bounds of the case page's lists (each is one query whatever the case holds).
PAGE_ROWS = 200
NOTES_PER_PAGE = 20
DONE_TASKS_SHOWN = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseDetails:
    """Everything the case page may show one actor, already cut to ``access``.

    A list belonging to a field group the actor does not see is empty, never loaded: the
    page cannot show by mistake what was never read. Notes, tasks, consents and the unit's
    sharing are the holding unit's working record; another agency sees only its own
    grants (what it received and on which basis).
    """

    case: CaseFile
    access: Access
    incidents: list[Incident]
    perpetrators: list[Perpetrator]
    dependants: list[Dependant]
    evidence: list[Evidence]
    consents: list[Consent]
    grants: list[Grant]
    notes: Page[Note] | None
    open_tasks: list[Task]
    done_tasks: list[Task]
    #: What happened to the case, when asked for (``timeline_limit``): kinds, states and
    #: ids only, so every reader of the case may see it.
    timeline: Page[TimelineEntry] | None = None


def _attach[T: (Incident, Dependant, Evidence, Note, Task)](
    rows: list[T], case: CaseFile
) -> list[T]:
    # Their sealed fields open with her key through ``case.survivor``: give each row the
    # case already loaded (with her record and key) instead of one query per row.
    for row in rows:
        row.case = case
    return rows


def _live_grants(case: CaseFile) -> QuerySet[Grant]:
    now = timezone.now()
    return (
        Grant.objects.filter(case=case, revoked_at__isnull=True, starts_at__lte=now)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .select_related("agency", "consent", "user")
        .order_by("starts_at", "id")
    )


def case_details(
    *,
    actor: Actor,
    case_id: uuid.UUID | str,
    notes_cursor: str | None = None,
    timeline_cursor: str | None = None,
    timeline_limit: int | None = None,
    read_with: Sequence[audit.Planned] = (),
) -> CaseDetails:
    """The case page's content: ``case_get`` (an audited ``case.read``) and the lists the
    actor's access allows, each one bounded query; with ``timeline_limit``, a page of the
    timeline too (the case page: its one ``case.read`` covers the timeline, no second
    audited read of the same case). Fails closed like ``case_get``; a cursor that was
    tampered with raises ``InvalidInput``."""
    case, access = case_get(actor=actor, case_id=case_id, read_with=read_with)
    timeline = (
        _timeline_page(case, cursor=timeline_cursor, limit=timeline_limit)
        if timeline_limit is not None
        else None
    )
    sees = access.sees
    incidents = (
        _attach(
            list(
                Incident.objects.filter(case=case)
                .select_related("commune")
                .order_by("created_at", "id")[:PAGE_ROWS]
            ),
            case,
        )
        if sees(FieldGroup.INCIDENTS)
        else []
    )
    perpetrators = (
        list(
            Perpetrator.objects.filter(case=case)
            .select_related("data_key")
            .order_by("created_at", "id")[:PAGE_ROWS]
        )
        if sees(FieldGroup.PERPETRATORS)
        else []
    )
    dependants = (
        _attach(list(Dependant.objects.filter(case=case).order_by("id")[:PAGE_ROWS]), case)
        if sees(FieldGroup.DEPENDANTS)
        else []
    )
    evidence = (
        _attach(
            list(Evidence.objects.filter(case=case).order_by("uploaded_at", "id")[:PAGE_ROWS]),
            case,
        )
        if sees(FieldGroup.EVIDENCE)
        else []
    )
    if not access.holding_unit:
        grants = list(
            Grant.objects.filter(pk__in=[grant.pk for grant in access.grants])
            .select_related("agency", "consent")
            .order_by("starts_at", "id")
        )
        return CaseDetails(
            case=case,
            access=access,
            incidents=incidents,
            perpetrators=perpetrators,
            dependants=dependants,
            evidence=evidence,
            consents=[],
            grants=grants,
            notes=None,
            open_tasks=[],
            done_tasks=[],
            timeline=timeline,
        )
    notes = paginate(
        Note.objects.filter(case=case).select_related("author"),
        order_by="created_at",
        cursor=notes_cursor,
        limit=NOTES_PER_PAGE,
        salt=f"cases.notes.{case.pk}",
    )
    _attach(list(notes.items), case)
    tasks = Task.objects.filter(case=case).select_related("assigned_to")
    return CaseDetails(
        case=case,
        access=access,
        incidents=incidents,
        perpetrators=perpetrators,
        dependants=dependants,
        evidence=evidence,
        consents=list(
            Consent.objects.filter(case=case)
            .select_related("recorded_by", "revoked_by")
            .order_by("purpose", "-recorded_at", "-id")[:PAGE_ROWS]
        ),
        grants=list(_live_grants(case)),
        notes=notes,
        open_tasks=_attach(
            list(tasks.filter(done_at__isnull=True).order_by("due_on", "id")[:PAGE_ROWS]), case
        ),
        done_tasks=_attach(
            list(
                tasks.filter(done_at__isnull=False).order_by("-done_at", "-id")[:DONE_TASKS_SHOWN]
            ),
            case,
        ),
        timeline=timeline,
    )


def unit_officers(*, actor: Actor) -> list[User]:
    """The active staff of the actor's unit (to assign a case or a task), by name.

    Only the unit's own staff get the list; anyone else gets an empty one."""
    if actor.agency_id is None or not policies.is_unit_staff(actor, actor.agency_id):
        return []
    return list(
        User.objects.filter(
            is_active=True,
            memberships__agency_id=actor.agency_id,
            memberships__role__in=policies.UNIT_ROLES,
            memberships__is_active=True,
        )
        .distinct()
        .order_by("display_name", "username")[:PAGE_ROWS]
    )


def alert_page(*, actor: Actor, cursor: str | None = None, limit: int | None = None) -> Page[Alert]:
    """``alerts_for`` a keyset page at a time (newest first), for the alerts page and the
    API: the same alerts, the same rule (the unit chief's unread alerts; an empty page for
    anyone else). ``InvalidInput`` for a cursor that was tampered with."""
    return paginate(
        _unread_alerts(actor),
        order_by="created_at",
        cursor=cursor,
        limit=limit,
        salt="cases.alerts",
    )
