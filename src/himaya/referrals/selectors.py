"""Every read of referrals, already scoped to the actor. Fail closed: a referral the actor's
agency neither sent nor received reads as missing (``NotFound``), and every read of a
referral's content is audited.

Lists (queues) carry no content about her: kinds, agencies, states, deadlines, references.
What the receiver of a referral to a service may read of the case comes from
``cases.selectors.case_details`` through the referral's grant: exactly the consented field
groups, for as long as the grant lives, and that read is the case's own audited
``case.read``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.core import signing
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from himaya.cases import selectors as case_selectors
from himaya.cases.models import Grant
from himaya.cases.policies import FieldGroup, is_unit_staff
from himaya.core import audit
from himaya.core.actor import Actor
from himaya.core.errors import InvalidInput, NotFound
from himaya.core.i18n import localized_name
from himaya.core.pagination import clamp_limit
from himaya.network import routing
from himaya.network.index import get_index
from himaya.network.models import AgencyKind
from himaya.referrals import policies
from himaya.referrals.models import (
    FirstContact,
    Referral,
    ReferralEvent,
    ReferralKind,
    ShelterOccupancy,
)
from himaya.referrals.policies import Side
from himaya.referrals.states import ACTIVE_STATES, ReferralState

__all__ = [
    "Box",
    "ReferralPage",
    "ReferralView",
    "case_referrals",
    "incoming",
    "outgoing",
    "received_box",
    "referral_for_letter",
    "referral_view",
    "service_candidates",
    "unit_choices",
    "waiting_states",
]

TARGET = "referrals.referral"
EVENTS_SHOWN = 50
CASE_REFERRALS_SHOWN = 100


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound from None


# --- queues -------------------------------------------------------------------------------


class Box(StrEnum):
    INCOMING = "incoming"
    SENT = "sent"


@dataclass(frozen=True, slots=True)
class ReferralPage:
    items: list[Referral]
    next_cursor: str | None


def _cursor_salt(name: str) -> str:
    return f"himaya.referrals.{name}"


def _decode(cursor: str, name: str) -> tuple[datetime, uuid.UUID]:
    try:
        when, pk = signing.loads(cursor, salt=_cursor_salt(name))
        return datetime.fromisoformat(when), uuid.UUID(pk)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidInput(
            _("This page link is no longer valid. Start again from the first page."),
            fields={"cursor": [_("This cursor is not valid.")]},
        ) from exc


def _page(
    queryset: QuerySet[Referral] | list[QuerySet[Referral]],
    *,
    key: str,
    descending: bool,
    cursor: str | None,
    limit: int | None,
    name: str,
) -> ReferralPage:
    """Keyset page on ``(key, id)`` (ids are UUIDs, so the cursor is our own).

    Several querysets (disjoint parts of one list) are each read in index order up to the
    page size and merged: one ordered index scan per part, where a single ``IN`` over the
    parts would read and sort every matching row, a cost that grows with the table."""
    size = clamp_limit(limit)
    parts = queryset if isinstance(queryset, list) else [queryset]
    op = "lt" if descending else "gt"
    sign = "-" if descending else ""
    rows: list[Referral] = []
    after = Q()
    if cursor:
        value, pk = _decode(cursor, name)
        after = Q(**{f"{key}__{op}": value}) | Q(**{key: value, f"pk__{op}": pk})
    for part in parts:
        rows += part.filter(after).order_by(f"{sign}{key}", f"{sign}pk")[: size + 1]
    if len(parts) > 1:
        rows.sort(key=lambda r: (getattr(r, key), r.pk), reverse=descending)
        rows = rows[: size + 1]
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = signing.dumps(
            [getattr(last, key).isoformat(), str(last.pk)], salt=_cursor_salt(name)
        )
    return ReferralPage(items=rows, next_cursor=next_cursor)


#: What a queue row shows (page and API alike), and nothing else: no sealed column of the
#: referral, and of her case only its reference (the case row carries her sealed narrative).
LIST_COLUMNS = (
    "id",
    "kind",
    "state",
    "from_agency__id",
    "from_agency__name_ar",
    "from_agency__name_fr",
    "to_agency__id",
    "to_agency__name_ar",
    "to_agency__name_fr",
    "case__id",
    "case__reference",
    "need",
    "urgency",
    "deadline_at",
    "escalation_level",
    "created_at",
)


def _list_related(queryset: QuerySet[Referral]) -> QuerySet[Referral]:
    return queryset.select_related("from_agency", "to_agency", "case").only(*LIST_COLUMNS)


def waiting_states(actor: Actor) -> frozenset[ReferralState]:
    """What the actor's "waiting" tab holds. A service's referral stays at work while it is
    accepted (she is in the shelter, the lawyer has her file), so a service sees waiting and
    accepted ones together. A unit's referral from a station is handed over once accepted:
    her case is open and lives in the unit's case queue, so only the unanswered ones wait;
    the accepted ones are listed with the finished (otherwise they would pile up, oldest
    deadline first, above the women still waiting for an answer)."""
    if policies.is_unit_staff(actor):
        return frozenset({ReferralState.SENT})
    return ACTIVE_STATES


def incoming(
    *,
    actor: Actor,
    active: bool = True,
    cursor: str | None = None,
    limit: int | None = None,
) -> ReferralPage:
    """What the actor's agency received: the waiting ones (``waiting_states``), most urgent
    deadline first; otherwise the rest, newest first. Empty for anyone who receives none: a
    unit receives referrals to a unit, a service provider referrals to a service."""
    if policies.is_unit_staff(actor):
        kind = ReferralKind.TO_UNIT
    elif policies.may_receive_services(actor):
        kind = ReferralKind.TO_SERVICE
    else:
        return ReferralPage(items=[], next_cursor=None)
    queryset = _list_related(Referral.objects.filter(to_agency_id=actor.agency_id, kind=kind))
    waiting = waiting_states(actor)
    if active:
        # Each state read along the inbox index (agency, state, deadline) and merged.
        return _page(
            [queryset.filter(state=state) for state in sorted(waiting)],
            key="deadline_at",
            descending=False,
            cursor=cursor,
            limit=limit,
            name=f"in.{actor.agency_id}",
        )
    return _page(
        queryset.exclude(state__in=waiting),
        key="created_at",
        descending=True,
        cursor=cursor,
        limit=limit,
        name=f"in-done.{actor.agency_id}",
    )


def outgoing(*, actor: Actor, cursor: str | None = None, limit: int | None = None) -> ReferralPage:
    """What the actor's agency sent, newest first: a station's referrals to units for a
    focal point, a unit's referrals to services for its staff."""
    if policies.is_focal_point(actor):
        kind = ReferralKind.TO_UNIT
    elif policies.is_unit_staff(actor):
        kind = ReferralKind.TO_SERVICE
    else:
        return ReferralPage(items=[], next_cursor=None)
    return _page(
        _list_related(Referral.objects.filter(from_agency_id=actor.agency_id, kind=kind)),
        key="created_at",
        descending=True,
        cursor=cursor,
        limit=limit,
        name=f"out.{actor.agency_id}",
    )


def case_referrals(*, actor: Actor, case_id: uuid.UUID | str) -> list[Referral]:
    """Every referral of one case, for the unit that holds it (others: ``NotFound``)."""
    from himaya.cases.models import CaseFile

    case = CaseFile.objects.filter(pk=_uuid(case_id)).only("id", "unit_id").first()
    if case is None or not is_unit_staff(actor, case.unit_id):
        raise NotFound
    return list(
        _list_related(Referral.objects.filter(case_id=case.pk)).order_by("-created_at", "-id")[
            :CASE_REFERRALS_SHOWN
        ]
    )


# --- one referral -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """The "what you received and why" box: the field groups and the basis."""

    groups: list[str]
    basis: str
    consent_purpose: str
    consent_recorded_at: datetime | None
    legal_reason: str
    live: bool
    ended_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralView:
    referral: Referral
    side: Side
    first_contact: FirstContact | None
    #: The case as the actor may see it (receiver: only the consented groups, and only while
    #: the grant lives); None when there is nothing to show.
    case: case_selectors.CaseDetails | None
    received: Received | None
    events: list[ReferralEvent]
    overdue: bool


def received_box(grant: Grant | None) -> Received | None:
    if grant is None:
        return None
    now = timezone.now()
    consent = grant.consent
    live = (
        grant.revoked_at is None
        and grant.starts_at <= now
        and (grant.ends_at is None or grant.ends_at > now)
        and (consent is None or (consent.revoked_at is None and consent.granted))
    )
    return Received(
        groups=[g for g in grant.scope if g in {str(f) for f in FieldGroup}],
        basis=grant.basis,
        consent_purpose=consent.purpose if consent is not None else "",
        consent_recorded_at=consent.recorded_at if consent is not None else None,
        legal_reason=grant.reason if consent is None else "",
        live=live,
        ended_at=grant.revoked_at or (consent.revoked_at if consent is not None else None),
    )


def is_overdue(referral: Referral, now: datetime | None = None) -> bool:
    return referral.state == ReferralState.SENT and referral.deadline_at <= (now or timezone.now())


def referral_view(
    *, actor: Actor, referral_id: uuid.UUID | str, for_letter: bool = False
) -> ReferralView:
    """One referral as the actor may see it; an audited ``referral.read``.

    The sender sees the referral, its timeline, and the first contact it wrote (until a unit
    accepted her). The receiver of a referral to a unit sees the first contact while it
    waits; the receiver of a referral to a service sees the case cut to its grant's groups
    while the grant lives (``case_details``), and the "what you received and why" box."""
    referral = (
        Referral.objects.select_related(
            "data_key",
            "from_agency",
            "to_agency",
            "suggested_agency",
            "case",
            "grant",
            "grant__consent",
        )
        .filter(pk=_uuid(referral_id))
        .first()
    )
    if referral is None:
        raise NotFound
    side = policies.side_of(actor, referral)
    if side is None:
        audit.record(
            actor=actor,
            action="referral.read_denied",
            target_type=TARGET,
            target_id=str(referral.pk),
        )
        raise NotFound
    first_contact = None
    if referral.first_contact_id is not None and policies.sees_first_contact(actor, referral):
        first_contact = (
            FirstContact.objects.select_related("data_key", "residence_commune", "station")
            .filter(pk=referral.first_contact_id)
            .first()
        )
    received = received_box(referral.grant)
    case = None
    live = received is not None and received.live
    if referral.case_id is not None and live and (side is Side.RECEIVER or for_letter):
        # The receiver reads through its grant (cut to the consented groups by the cases
        # policy); the sender reads its own case only to print the letter, which shows
        # the grant's groups and nothing else.
        try:
            case = case_selectors.case_details(actor=actor, case_id=referral.case_id)
        except NotFound:
            case = None
    audit.record(
        actor=actor,
        action="referral.read",
        target_type=TARGET,
        target_id=str(referral.pk),
        metadata={
            "side": str(side),
            "first_contact": first_contact is not None,
            "case": case is not None,
            "groups": received.groups if received is not None and received.live else [],
        },
    )
    events = list(
        ReferralEvent.objects.filter(referral=referral)
        .select_related("actor")
        .order_by("at", "id")[:EVENTS_SHOWN]
    )
    return ReferralView(
        referral=referral,
        side=side,
        first_contact=first_contact,
        case=case,
        received=received,
        events=events,
        overdue=is_overdue(referral),
    )


def referral_for_letter(*, actor: Actor, referral_id: uuid.UUID | str) -> ReferralView:
    """The referral letter's content: the same view (and audit) as the page, for a
    referral to a service only; its content is what the grant allows, nothing more."""
    view = referral_view(actor=actor, referral_id=referral_id, for_letter=True)
    if view.referral.kind != ReferralKind.TO_SERVICE:
        raise NotFound
    return view


# --- choosing where to refer her ----------------------------------------------------------

#: Which kind of agency answers each need (None: any kind of service).
NEED_KINDS: dict[str, str | None] = {
    "shelter": AgencyKind.SHELTER,
    "medical": AgencyKind.HOSPITAL_UNIT,
    "legal_aid": AgencyKind.LEGAL_AID,
    "psychosocial": AgencyKind.PSYCHOSOCIAL,
    "listening": AgencyKind.NGO_CENTRE,
    "livelihoods": AgencyKind.NGO_CENTRE,
    "other": None,
}
CANDIDATES = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    agency_id: int
    name: str
    kind: str
    distance_km: float
    reasons: list[str]
    beds: int | None
    free_beds: int | None

    @property
    def full(self) -> bool:
        return self.free_beds is not None and self.free_beds <= 0


def service_candidates(
    *, actor: Actor, case_id: uuid.UUID | str, need: str, needs: routing.Needs
) -> list[Candidate]:
    """Services near her (her commune, else the unit's) that meet every stated need, nearest
    first, each with routing's reasons and, for a shelter, its free beds. Only for the
    staff of the unit that holds the case (others: ``NotFound``)."""
    from himaya.cases.models import CaseFile

    case = (
        CaseFile.objects.select_related("survivor", "unit")
        .filter(pk=_uuid(case_id))
        .only("id", "unit_id", "unit__commune_id", "survivor__residence_commune_id")
        .first()
    )
    if case is None or not is_unit_staff(actor, case.unit_id):
        raise NotFound
    index = get_index()
    commune_id = case.survivor.residence_commune_id or case.unit.commune_id
    commune = index.communes_by_id.get(commune_id) if commune_id is not None else None
    unit = index.agencies.get(case.unit_id)
    if commune is not None:
        origin = routing.Origin("commune", commune.latitude, commune.longitude, commune)
    elif unit is not None and unit.latitude is not None and unit.longitude is not None:
        origin = routing.Origin("point", unit.latitude, unit.longitude, None)
    else:
        return []
    kind = NEED_KINDS.get(need)
    answer = routing.nearest_services(
        origin, kind=kind, needs=needs, limit=CANDIDATES * (1 if kind else 4), index=index
    )
    results = [c for c in answer.results if c.agency.kind in policies.SERVICE_KINDS][:CANDIDATES]
    shelter_ids = [c.agency.id for c in results if c.agency.kind == AgencyKind.SHELTER]
    occupied = dict(
        ShelterOccupancy.objects.filter(agency_id__in=shelter_ids).values_list(
            "agency_id", "occupied"
        )
    )
    out = []
    for c in results:
        beds = c.agency.beds if c.agency.kind == AgencyKind.SHELTER else None
        out.append(
            Candidate(
                agency_id=c.agency.id,
                name=localized_name(c.agency),
                kind=c.agency.kind,
                distance_km=c.distance_km,
                reasons=[r.text for r in c.reasons],
                beds=beds,
                free_beds=None if beds is None else beds - occupied.get(c.agency.id, 0),
            )
        )
    return out


def unit_choices() -> list[tuple[int, str]]:
    """Every active police unit, by name (the focal point may choose another unit)."""
    units = [
        a for a in get_index().agencies.values() if a.kind == AgencyKind.POLICE_UNIT and a.is_active
    ]
    return sorted(((a.id, localized_name(a)) for a in units), key=lambda pair: pair[1])


def service_choices(candidates: list[Candidate]) -> list[tuple[int, str]]:
    return [(c.agency_id, c.name) for c in candidates]
