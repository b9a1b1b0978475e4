"""Bulk generator of synthetic referrals for the benchmarks (issue 5, "Referrals").

    .venv/bin/python bench/generate.py --cases 1000000 --database sqlite        # cases first
    .venv/bin/python bench/generate_referrals.py --database sqlite              # then these
    .venv/bin/python bench/generate_referrals.py --check --database sqlite      # open a few
    .venv/bin/python bench/generate_referrals.py --repair --database sqlite     # after a kill

For the case files ``bench/generate.py`` wrote (in the order it wrote them; existing
referrals are kept, so a benchmark can grow the same database in stages), about three
referrals per case, the way ``referrals.services`` would leave them, but written in bulk
with ``generate.py``'s helpers (``executemany`` on SQLite, ``COPY`` on PostgreSQL, rows
built in forked workers, secondary indexes dropped and rebuilt for big loads):

* **District focal point → unit.** A case whose channel is "focal point" began as a first
  contact at a district station that refers to her unit (``Agency.default_unit``): the
  ``FirstContact`` is sealed under *her* data key (the key a unit's acceptance hands to her
  survivor record: the same name and phone), and its referral is ``accepted`` with the case
  it opened; some were first declined by another unit. A few recent first contacts still
  wait for a unit (``sent``, a new data key of their own, no case yet).
* **Unit → services.** Cases past their first days are referred to shelters, hospital
  units, legal aid, psychosocial services and NGO centres near their unit (each service at
  most once per case), each on her consent for that kind of agency (a ``Consent`` and a
  ``Grant`` within its scope) or, rarely, on a life-threat basis. Old referrals are finished
  (completed, closed, declined, withdrawn: their grant revoked when they ended), recent ones
  wait or are accepted, and some waited past their acceptance deadline and were escalated
  as ``referrals.escalate_overdue`` would have (level, events, alerts, case timeline).
  A shelter never holds more admitted women than beds (``ShelterOccupancy`` recomputed).
* **Timelines.** Referral events (sent, accepted, declined…) and the case timeline entries
  the services write (shared, referral_sent, referral_accepted, sharing_ended…); declined
  and overdue referrals raise their chief's alert.

Staff: one or two focal points per district station and one to three service providers per
service agency (``bench.s<id>.focal<k>``, ``bench.a<id>.provider<k>``), unusable passwords.
Every message and reason is synthetic. Not generated: audit events and notices to her.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, generate

BATCH = 2000
PROGRESS_TABLE = "bench_referral_progress"
#: Services near each unit considered for its referrals, per kind.
NEAREST = 6

#: (need, agency kind, consent purpose, weight): what units refer women to.
NEEDS = (
    ("shelter", "shelter", "share_shelter", 0.22),
    ("medical", "hospital_unit", "share_health", 0.24),
    ("legal_aid", "legal_aid", "share_legal_aid", 0.20),
    ("psychosocial", "psychosocial", "share_psychosocial", 0.18),
    ("listening", "ngo_centre", "share_ngo", 0.12),
    ("livelihoods", "ngo_centre", "share_ngo", 0.04),
)
_NEED_CUM = list(itertools.accumulate(n[3] for n in NEEDS))
#: How many services an eligible case is referred to (mean about 2.9).
SERVICE_COUNTS = ((1, 0.15), (2, 0.25), (3, 0.25), (4, 0.20), (5, 0.15))
_COUNT_CUM = list(itertools.accumulate(w for _, w in SERVICE_COUNTS))
#: Case states whose file has been referred to services (an open or just assessed file
#: has not yet: ``referral_send`` would move it to "referred").
REFERRED_STATES = frozenset({"referred", "forwarded", "closure_requested", "closed"})
CHOSEN_CLOSE = ("no_longer_needed", "she_left", "no_contact", "other")
MESSAGES = (
    "Elle a besoin d'un hébergement ce soir avec ses deux enfants.",
    "Merci de la recevoir pour un certificat médical.",
    "Elle souhaite être accompagnée pour sa plainte.",
    "تحتاج إلى مواكبة نفسية بعد الأحداث.",
    "يرجى استقبالها في أقرب وقت.",
    "",
)
PROVIDED = (
    "Hébergée cinq nuits, orientée vers un avocat.",
    "Consultation et certificat médical délivré.",
    "Trois séances d'écoute.",
    "تمت مواكبتها لدى المحكمة.",
)
DECLINE = (
    "Nous n'avons plus de place cette semaine.",
    "Ce service ne correspond pas à sa demande.",
    "لا يمكننا استقبالها حاليا.",
)
NEEDS_TEXT = (
    "Un endroit sûr ce soir pour elle et ses enfants.",
    "Être entendue par la police.",
    "مكان آمن هذه الليلة.",
    "مساعدة طبية.",
)
NOTES = ("Venue avec une voisine.", "Elle a peur de rentrer.", "جاءت برفقة أختها.", "")


@dataclass(slots=True)
class Place:
    """A police unit seen from its referrals: who refers her there, where it refers her."""

    unit_id: int
    officers: list[int]
    stations: list[int]
    #: agency kind -> nearest services of that kind (ids).
    services: dict[str, list[int]]


@dataclass(slots=True)
class ReferralWorld:
    base: generate.World
    places: dict[int, Place]
    unit_ids: list[int]
    #: station id -> its focal points; agency id -> its service providers.
    focal: dict[int, list[int]]
    providers: dict[int, list[int]]
    central: list[int]
    beds: dict[int, int]
    second_period: timedelta
    now: datetime
    extras: dict[str, tuple[tuple[str, ...], tuple[Any, ...]]] = field(default_factory=dict)


TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "core_datakey": generate.TABLE_COLUMNS["core_datakey"],
    "referrals_firstcontact": (
        "id",
        "station_id",
        "data_key_id",
        "full_name",
        "phone",
        "needs",
        "immediate_danger",
        "safe_contact",
        "note",
        "residence_commune_id",
        "preferred_language",
        "forms",
        "occurred_on",
        "declined",
        "recorded_by_id",
        "created_at",
    ),
    "cases_consent": (
        "id",
        "case_id",
        "purpose",
        "granted",
        "scope",
        "recorded_by_id",
        "recorded_at",
        "revoked_at",
        "revoked_by_id",
    ),
    "cases_grant": (
        "id",
        "case_id",
        "agency_id",
        "user_id",
        "basis",
        "consent_id",
        "scope",
        "reason",
        "granted_by_id",
        "starts_at",
        "ends_at",
        "revoked_at",
    ),
    "referrals_referral": (
        "id",
        "kind",
        "state",
        "from_agency_id",
        "to_agency_id",
        "data_key_id",
        "first_contact_id",
        "case_id",
        "grant_id",
        "suggested_agency_id",
        "override_reason",
        "need",
        "urgency",
        "message",
        "deadline_at",
        "escalation_level",
        "escalated_at",
        "decline_reason",
        "provided",
        "close_reason",
        "admitted_at",
        "departed_at",
        "created_by_id",
        "created_at",
        "answered_at",
        "answered_by_id",
        "ended_at",
        "updated_at",
    ),
    "referrals_referralevent": (
        "referral_id",
        "at",
        "actor_id",
        "kind",
        "from_state",
        "to_state",
        "metadata",
    ),
    "cases_timelineentry": generate.TABLE_COLUMNS["cases_timelineentry"],
    "cases_alert": ("agency_id", "kind", "case_id", "other_agency_id", "created_at", "read_at"),
}
TABLE_ORDER = tuple(TABLE_COLUMNS)
_REFERRAL = {name: i for i, name in enumerate(TABLE_COLUMNS["referrals_referral"])}
_GRANT_CONSENT = TABLE_COLUMNS["cases_grant"].index("consent_id")
_CONSENT_ID = TABLE_COLUMNS["cases_consent"].index("id")
#: Tables whose secondary indexes a big load drops and rebuilds.
BIG_TABLES = (
    "referrals_referral",
    "referrals_referralevent",
    "referrals_firstcontact",
    "cases_grant",
    "cases_consent",
    "cases_alert",
    "cases_timelineentry",
    "core_datakey",
)


# --- the world ----------------------------------------------------------------------------


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


def _ensure_staff(
    stations: list[int], services: list[tuple[int, str]]
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Focal points of every district station, service providers of every service."""
    from django.contrib.auth.hashers import make_password

    from himaya.accounts.models import Membership, User
    from himaya.accounts.roles import Role

    wanted: list[tuple[str, int, str]] = []
    for station in stations:
        wanted += [(f"bench.s{station}.focal{k}", station, Role.FOCAL_POINT) for k in range(2)]
    for agency, kind in services:
        count = 3 if kind in {"shelter", "hospital_unit"} else 1 + agency % 2
        wanted += [
            (f"bench.a{agency}.provider{k}", agency, Role.SERVICE_PROVIDER) for k in range(count)
        ]
    existing = set(
        User.objects.filter(username__regex=r"^bench\.[sa]").values_list("username", flat=True)
    )
    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(username=n, password=unusable, display_name=n)
            for n, _, _ in wanted
            if n not in existing
        ],
        batch_size=500,
    )
    ids = dict(User.objects.filter(username__regex=r"^bench\.[sa]").values_list("username", "id"))
    Membership.objects.bulk_create(
        [Membership(user_id=ids[n], agency_id=a, role=r) for n, a, r in wanted],
        ignore_conflicts=True,
        batch_size=500,
    )
    focal: dict[int, list[int]] = {}
    providers: dict[int, list[int]] = {}
    for name, agency, role in wanted:
        (focal if role == Role.FOCAL_POINT else providers).setdefault(agency, []).append(ids[name])
    return focal, providers


def _contexts() -> dict[str, bytes]:
    from himaya.referrals.models import FirstContact, Referral

    return {
        f"{model.__name__}.{name}": getattr(model._meta.get_field(name), "context_bytes")  # noqa: B009
        for model, names in (
            (FirstContact, ("full_name", "phone", "needs", "safe_contact", "note")),
            (Referral, ("override_reason", "message", "decline_reason", "provided")),
        )
        for name in names
    }


def _extra_columns() -> dict[str, tuple[tuple[str, ...], tuple[Any, ...]]]:
    """Columns this generator does not fill, with their default (as ``generate.py``)."""
    saved = dict(generate.TABLE_COLUMNS)
    try:
        generate.TABLE_COLUMNS.clear()
        generate.TABLE_COLUMNS.update(TABLE_COLUMNS)
        return generate._extra_columns()
    finally:
        generate.TABLE_COLUMNS.clear()
        generate.TABLE_COLUMNS.update(saved)


def load_world(
    base: generate.World | None = None, say: Callable[[str], None] = print
) -> ReferralWorld:
    """The cases' world (``generate.load_world``), the stations and services around each
    unit, and their staff (created when missing)."""
    from himaya.network.models import Agency, AgencyKind
    from himaya.referrals import escalation
    from himaya.referrals.policies import SERVICE_KINDS

    base = base or generate.load_world(say)
    base.contexts.update(_contexts())
    agencies = list(
        Agency.objects.filter(is_active=True).values_list(
            "id", "kind", "latitude", "longitude", "default_unit_id", "beds"
        )
    )
    stations: dict[int, list[int]] = {}
    services: list[tuple[int, str, tuple[float, float]]] = []
    beds: dict[int, int] = {}
    central = []
    for pk, kind, lat, lon, default_unit, bed_count in agencies:
        if kind == AgencyKind.DISTRICT_STATION and default_unit is not None:
            stations.setdefault(default_unit, []).append(pk)
        elif kind in SERVICE_KINDS and lat is not None and lon is not None:
            services.append((pk, kind, (float(lat), float(lon))))
            if kind == AgencyKind.SHELTER and bed_count:
                beds[pk] = int(bed_count)
        elif kind == AgencyKind.CENTRAL_UNIT:
            central.append(pk)
    located = {
        pk: (float(lat), float(lon))
        for pk, _, lat, lon, _, _ in agencies
        if lat is not None and lon is not None
    }
    all_stations = sorted(s for group in stations.values() for s in group)
    places: dict[int, Place] = {}
    for unit in base.units:
        here = located.get(unit.id)
        near: dict[str, list[int]] = {}
        for kind in sorted(SERVICE_KINDS):
            of_kind = [(pk, point) for pk, k, point in services if k == kind]
            if here is not None:
                of_kind.sort(key=lambda item: _distance(here, item[1]))
            near[str(kind)] = [pk for pk, _ in of_kind[:NEAREST]]
        own = stations.get(unit.id, [])
        if not own and here is not None and all_stations:
            own = [min(all_stations, key=lambda s: _distance(here, located.get(s, here)))]
        places[unit.id] = Place(
            unit_id=unit.id, officers=unit.officer_ids, stations=own, services=near
        )
    focal, providers = _ensure_staff(all_stations, [(pk, kind) for pk, kind, _ in services])
    return ReferralWorld(
        base=base,
        places=places,
        unit_ids=[u.id for u in base.units],
        focal=focal,
        providers=providers,
        central=sorted(central),
        beds=beds,
        second_period=escalation._second_period(),
        now=base.now,
        extras=_extra_columns(),
    )


# --- building rows (in worker processes: no database access) ------------------------------


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One generated case, as the main process read it."""

    index: int
    case_id: uuid.UUID
    unit_id: int
    state: str
    created_at: datetime
    channel: str
    closed_at: datetime | None
    officer_id: int
    key_id: uuid.UUID
    wrapped_key: bytes
    commune_id: int | None
    language: str
    name: bytes | None
    phone: bytes | None


@dataclass(slots=True)
class Batch:
    rows: dict[str, list[tuple[Any, ...]]]
    #: Shelter admissions still running: (referral row index, shelter, admitted at, case,
    #: referral id, provider) -- the writer admits her while the shelter has a free bed.
    admissions: list[tuple[int, int, datetime, Any, str, int]]
    last_index: int
    referrals: int


class _Builder(generate._Builder):
    """Rows of one batch of referrals; reuses the cases builder's values and sealing."""

    def __init__(self, world: ReferralWorld, seed: int, start: int) -> None:
        super().__init__(world.base, seed, start)
        self.rw = world
        self.rows = {t: [] for t in TABLE_ORDER}
        self.admissions: list[tuple[int, int, datetime, Any, str, int]] = []
        self.consents = 0

    def open_key(self, row: CaseRow) -> Any:
        from himaya.core.crypto import unwrap_data_key

        raw = unwrap_data_key(row.wrapped_key, data_key_id=row.key_id)
        return self.crypto.OpenDataKey(id=row.key_id, aead=self.aesgcm(raw))

    def unseal(self, blob: bytes | None, key: Any, context: str) -> str:
        """One of her survivor record's sealed values (``Survivor.<context>``), opened."""
        if blob is None:
            return ""
        plain = self.crypto.unseal(blob, key=key, context=self.w.contexts[context])
        return str(plain.decode("utf-8"))

    def event(  # noqa: PLR0917 - one row's columns, in the table's order
        self,
        referral: str,
        at: datetime,
        actor: int | None,
        kind: str,
        frm: str = "",
        to: str = "",
        **meta: object,
    ) -> None:
        self.rows["referrals_referralevent"].append(
            (referral, self.dt(at), actor, kind, frm, to, self.js(meta))
        )

    def timeline(
        self, case: Any, at: datetime, actor: int | None, kind: str, **meta: object
    ) -> None:
        self.rows["cases_timelineentry"].append(
            (case, self.dt(at), actor, kind, "", "", self.js(meta))
        )

    def alert(self, agency: int, kind: str, case: Any, other: int | None, at: datetime) -> None:
        self.rows["cases_alert"].append((agency, kind, case, other, self.dt(at), None))

    def capped(self, at: datetime) -> datetime:
        return min(at, self.rw.now - timedelta(minutes=1))

    # one case ---------------------------------------------------------------------------

    def case(self, row: CaseRow) -> int:  # type: ignore[override]
        """Every referral of one case; returns how many."""
        rng = self.rng
        place = self.rw.places.get(row.unit_id)
        if place is None:
            return 0
        key = self.open_key(row)
        made = 0
        if row.channel == "focal_point" and place.stations:
            made += self.from_station(row, place, key)
        if row.state in REFERRED_STATES:
            count = SERVICE_COUNTS[bisect.bisect(_COUNT_CUM, rng.random() * _COUNT_CUM[-1])][0]
            made += self.to_services(row, place, key, count)
        # Now and then a first contact still waits for a unit (no case yet).
        if rng.random() < 0.01 and place.stations:
            made += self.waiting_first_contact(row, place)
        return made

    def first_contact(
        self,
        *,
        row: CaseRow,
        station: int,
        key_id: uuid.UUID,
        key: Any,
        name: str,
        phone: str,
        at: datetime,
        focal: int,
    ) -> uuid.UUID:
        rng = self.rng
        fc_id = self.new_uuid()
        danger = rng.choice(("no", "no", "no", "yes", "declined"))
        self.rows["referrals_firstcontact"].append(
            (
                self.uid(fc_id),
                station,
                self.uid(key_id),
                self.seal(name, key, "FirstContact.full_name"),
                self.seal(phone, key, "FirstContact.phone"),
                self.seal(rng.choice(NEEDS_TEXT), key, "FirstContact.needs"),
                danger,
                self.seal(
                    {"channel": "phone", "may_leave_message": False},
                    key,
                    "FirstContact.safe_contact",
                )
                if phone and rng.random() < 0.6
                else None,
                self.seal(rng.choice(NOTES), key, "FirstContact.note"),
                row.commune_id,
                row.language,
                self.js([rng.choice(("physical", "psychological", "economic", "sexual"))]),
                self.day((at - timedelta(days=rng.randrange(0, 10))).date()),
                self.js([] if phone else ["phone"]),
                focal,
                self.dt(at),
            )
        )
        return fc_id

    def to_unit_referral(
        self,
        *,
        fc_id: uuid.UUID,
        key_id: uuid.UUID,
        key: Any,
        station: int,
        unit: int,
        suggested: int,
        case: Any,
        state: str,
        at: datetime,
        focal: int,
        answered_by: int | None,
        completed: datetime | None = None,
    ) -> None:
        rng = self.rng
        referral_id = self.new_uuid()
        pk = str(referral_id)
        urgency = "urgent" if rng.random() < 0.8 else "emergency"
        deadline = at + timedelta(hours=2 if urgency == "emergency" else 24)
        answered = (
            self.capped(at + timedelta(minutes=rng.randrange(10, 600))) if state != "sent" else None
        )
        why = "" if unit == suggested else "Elle habite chez sa sœur, près de cette unité."
        ended = answered if state == "declined" else None
        if completed is not None and answered is not None:
            state, ended = "completed", max(completed, answered)
        self.rows["referrals_referral"].append(
            (
                self.uid(referral_id),
                "to_unit",
                state,
                station,
                unit,
                self.uid(key_id),
                self.uid(fc_id),
                case,
                None,
                suggested,
                self.seal(why, key, "Referral.override_reason"),
                "",
                urgency,
                self.seal("", key, "Referral.message"),
                self.dt(deadline),
                0,
                None,
                self.seal(
                    rng.choice(DECLINE) if state == "declined" else "",
                    key,
                    "Referral.decline_reason",
                ),
                self.seal("", key, "Referral.provided"),
                "",
                None,
                None,
                focal,
                self.dt(at),
                self.dt(answered),
                answered_by if answered else None,
                self.dt(ended),
                self.dt(answered or at),
            )
        )
        key_pk = self.uid(referral_id)
        self.event(key_pk, at, focal, "sent", "", "sent", overridden=bool(why))
        if state in {"accepted", "completed"} and answered is not None:
            self.event(key_pk, answered, answered_by, "accepted", "sent", "accepted")
            self.timeline(
                case,
                answered,
                answered_by,
                "referral_received",
                referral=pk,
                agency=unit,
                station=station,
            )
            if ended is not None:
                self.event(key_pk, ended, answered_by, "completed", "accepted", "completed")
                self.timeline(
                    case, ended, answered_by, "referral_completed", referral=pk, agency=unit
                )
        elif state == "declined" and answered is not None:
            self.event(key_pk, answered, answered_by, "declined", "sent", "declined")
        elif state == "sent" and deadline <= self.rw.now:
            self.overdue(key_pk, "to_unit", station, unit, None, deadline)

    def from_station(self, row: CaseRow, place: Place, key: Any) -> int:
        """Her first contact at the station, sealed under her key; the unit accepted it
        (sometimes after another unit declined her)."""
        rng = self.rng
        station = rng.choice(place.stations)
        focal = rng.choice(self.rw.focal[station])
        name = self.unseal(row.name, key, "Survivor.full_name")
        phone = self.unseal(row.phone, key, "Survivor.phone")
        at = row.created_at - timedelta(hours=rng.randrange(1, 30))
        fc_id = self.first_contact(
            row=row,
            station=station,
            key_id=row.key_id,
            key=key,
            name=name,
            phone=phone,
            at=at,
            focal=focal,
        )
        made = 0
        if rng.random() < 0.05 and len(self.rw.unit_ids) > 1:
            other = rng.choice([u for u in self.rw.unit_ids if u != row.unit_id])
            other_staff = self.rw.places[other].officers if other in self.rw.places else []
            self.to_unit_referral(
                fc_id=fc_id,
                key_id=row.key_id,
                key=key,
                station=station,
                unit=other,
                suggested=other,
                case=None,
                state="declined",
                at=at - timedelta(hours=6),
                focal=focal,
                answered_by=rng.choice(other_staff) if other_staff else None,
            )
            made += 1
        self.to_unit_referral(
            fc_id=fc_id,
            key_id=row.key_id,
            key=key,
            station=station,
            unit=row.unit_id,
            suggested=row.unit_id,
            case=self.uid(row.case_id),
            state="accepted",
            at=at,
            focal=focal,
            answered_by=row.officer_id,
            # Some units complete the referral once her file is closed; most leave it.
            completed=row.closed_at if row.closed_at is not None and rng.random() < 0.5 else None,
        )
        return made + 1

    def waiting_first_contact(self, row: CaseRow, place: Place) -> int:
        """A woman referred to this unit in the last day, not yet accepted: her first
        contact has a key of its own (no survivor record yet)."""
        rng = self.rng
        at = self.rw.now - timedelta(minutes=rng.randrange(5, 36 * 60))
        key_id, key = self.data_key("survivor", at)
        station = rng.choice(place.stations)
        focal = rng.choice(self.rw.focal[station])
        person = self.person(10_000_000 + row.index)
        fc_id = self.first_contact(
            row=row,
            station=station,
            key_id=key_id,
            key=key,
            name=person.name,
            phone=person.phone,
            at=at,
            focal=focal,
        )
        self.to_unit_referral(
            fc_id=fc_id,
            key_id=key_id,
            key=key,
            station=station,
            unit=row.unit_id,
            suggested=row.unit_id,
            case=None,
            state="sent",
            at=at,
            focal=focal,
            answered_by=None,
        )
        return 1

    def overdue(  # noqa: PLR0917 - the referral's columns the job reads
        self, referral: Any, kind: str, sender: int, receiver: int, case: Any, deadline: datetime
    ) -> None:
        """What ``escalate_overdue`` (every 5 minutes) has left on a referral still waiting
        past its deadline: the chief alerted, and one period later the central unit."""
        now = self.rw.now
        chief_unit = receiver if kind == "to_unit" else sender
        other = sender if kind == "to_unit" else receiver
        level_at = [deadline + timedelta(minutes=self.rng.randrange(0, 5))]
        if now - deadline > self.rw.second_period:
            level_at.append(
                deadline + self.rw.second_period + timedelta(minutes=self.rng.randrange(0, 5))
            )
        level_at = [self.capped(t) for t in level_at]
        for level, at in enumerate(level_at, start=1):
            self.event(
                referral,
                at,
                None,
                "escalated_chief" if level == 1 else "escalated_central",
                level=level,
            )
            if level == 1:
                self.alert(chief_unit, "referral_overdue", case, other, at)
            else:
                for central in self.rw.central:
                    self.alert(central, "referral_overdue", None, receiver, at)
            if case is not None:
                pk = str(_as_uuid(referral))
                self.timeline(
                    case, at, None, "referral_overdue", referral=pk, level=level, agency=receiver
                )
        position = len(self.rows["referrals_referral"]) - 1
        last = list(self.rows["referrals_referral"][position])
        last[_REFERRAL["escalation_level"]] = len(level_at)
        last[_REFERRAL["escalated_at"]] = self.dt(level_at[-1])
        self.rows["referrals_referral"][position] = tuple(last)

    def to_services(self, row: CaseRow, place: Place, key: Any, count: int) -> int:
        rng = self.rng
        case = self.uid(row.case_id)
        used: set[int] = set()
        consents: dict[str, tuple[int, list[str]]] = {}
        made = 0
        start = row.created_at + timedelta(hours=rng.randrange(1, 72))
        for n in range(count):
            need, kind, purpose, _ = NEEDS[bisect.bisect(_NEED_CUM, rng.random() * _NEED_CUM[-1])]
            choices = [
                a for a in place.services.get(kind, []) if a not in used and a in self.rw.providers
            ]
            if not choices:
                continue
            agency = choices[min(len(choices) - 1, int(rng.expovariate(1.2)))]
            used.add(agency)
            at = self.capped(
                start + timedelta(days=n * rng.randrange(0, 6), minutes=rng.randrange(0, 600))
            )
            if row.closed_at is not None and at > row.closed_at:
                at = row.closed_at - timedelta(minutes=rng.randrange(1, 600))
            officer = rng.choice(place.officers) if place.officers else row.officer_id
            provider = rng.choice(self.rw.providers[agency])
            self.service_referral(
                row=row,
                case=case,
                key=key,
                agency=agency,
                kind=kind,
                need=need,
                purpose=purpose,
                at=at,
                officer=officer,
                provider=provider,
                consents=consents,
            )
            made += 1
        return made

    def service_referral(  # noqa: PLR0912, PLR0915 - one linear recipe
        self,
        *,
        row: CaseRow,
        case: Any,
        key: Any,
        agency: int,
        kind: str,
        need: str,
        purpose: str,
        at: datetime,
        officer: int,
        provider: int,
        consents: dict[str, tuple[int, list[str]]],
    ) -> None:
        rng, now = self.rng, self.rw.now
        urgency = rng.choices(("routine", "urgent", "emergency"), weights=(70, 25, 5))[0]
        deadline = at + timedelta(hours={"routine": 24, "urgent": 8, "emergency": 2}[urgency])
        age = now - at
        roll = rng.random()
        if row.state == "closed" or age > timedelta(days=30):
            state = (
                "completed"
                if roll < 0.62
                else "closed"
                if roll < 0.80
                else "declined"
                if roll < 0.92
                else "withdrawn"
            )
        elif deadline < now - timedelta(days=1):
            state = (
                "accepted"
                if roll < 0.55
                else "completed"
                if roll < 0.75
                else "declined"
                if roll < 0.85
                else "closed"
                if roll < 0.90
                else "sent"
            )
        else:
            state = "sent" if roll < 0.6 else "accepted"
        # Her consent for this kind of agency (one live answer per purpose), or a legal basis.
        if rng.random() < 0.03:
            basis, consent_ref, scope = "life_threat", None, ["identity", "contact"]
            reason = "Risque vital : menaces de mort répétées cette semaine."
        else:
            if purpose not in consents:
                groups = [
                    "identity",
                    "contact",
                    *rng.sample(("narrative", "incidents", "dependants"), rng.randint(0, 2)),
                ]
                ordinal = self.consents
                self.consents += 1
                self.rows["cases_consent"].append(
                    (
                        ordinal,
                        case,
                        purpose,
                        self.flag(True),
                        self.js(groups),
                        officer,
                        self.dt(row.created_at),
                        None,
                        None,
                    )
                )
                consents[purpose] = (ordinal, groups)
            consent_ref, allowed = consents[purpose]
            basis, reason = "consent", ""
            scope = allowed[: rng.randint(1, len(allowed))]
        referral_id = self.new_uuid()
        pk = str(referral_id)
        grant_id = self.new_uuid()
        answered: datetime | None = None
        ended: datetime | None = None
        admitted: datetime | None = None
        departed: datetime | None = None
        if state not in {"sent", "withdrawn"}:
            answered = self.capped(at + timedelta(minutes=rng.randrange(5, 20 * 60)))
        if state in {"completed", "closed"}:
            assert answered is not None
            ended = self.capped(answered + timedelta(days=rng.randrange(1, 60)))
            if row.closed_at is not None:
                ended = min(ended, row.closed_at)
                ended = max(ended, answered)
        elif state == "declined":
            ended = answered
        elif state == "withdrawn":
            ended = self.capped(at + timedelta(hours=rng.randrange(1, 20)))
        if kind == "shelter" and answered is not None and state in {"completed", "closed"}:
            admitted = answered + timedelta(hours=rng.randrange(1, 12))
            departed = ended
            if departed is not None and departed < admitted:
                admitted = departed
        self.rows["cases_grant"].append(
            (
                self.uid(grant_id),
                case,
                agency,
                None,
                basis,
                consent_ref,
                self.js(scope),
                reason,
                officer,
                self.dt(at),
                None,
                self.dt(ended),
            )
        )
        close_reason = rng.choice(CHOSEN_CLOSE) if state == "closed" else ""
        self.rows["referrals_referral"].append(
            (
                self.uid(referral_id),
                "to_service",
                state,
                row.unit_id,
                agency,
                self.uid(row.key_id),
                None,
                case,
                self.uid(grant_id),
                agency,
                self.seal("", key, "Referral.override_reason"),
                need,
                urgency,
                self.seal(rng.choice(MESSAGES), key, "Referral.message"),
                self.dt(deadline),
                0,
                None,
                self.seal(
                    rng.choice(DECLINE) if state == "declined" else "",
                    key,
                    "Referral.decline_reason",
                ),
                self.seal(
                    rng.choice(PROVIDED) if state in {"completed", "closed"} else "",
                    key,
                    "Referral.provided",
                ),
                close_reason,
                self.dt(admitted),
                self.dt(departed),
                officer,
                self.dt(at),
                self.dt(answered),
                provider if answered is not None else None,
                self.dt(ended),
                self.dt(ended or answered or at),
            )
        )
        ref = self.uid(referral_id)
        meta = {"referral": pk, "agency": agency}
        if basis == "consent":
            self.timeline(case, at, officer, "shared", agency=agency, purpose=purpose, scope=scope)
        else:
            self.timeline(
                case,
                at,
                officer,
                "shared_without_consent",
                agency=agency,
                basis=basis,
                scope=scope,
                without_consent=True,
            )
            self.alert(row.unit_id, "shared_without_consent", case, agency, at)
        self.event(ref, at, officer, "sent", "", "sent", basis=basis, scope=scope)
        self.timeline(case, at, officer, "referral_sent", **meta, basis=basis, scope=scope)
        if state == "sent":
            if deadline <= now:
                self.overdue(ref, "to_service", row.unit_id, agency, case, deadline)
            return
        if state == "withdrawn":
            assert ended is not None
            self.event(ref, ended, officer, "withdrawn", "sent", "withdrawn")
            self.timeline(case, ended, officer, "referral_withdrawn", **meta)
            self.timeline(case, ended, officer, "sharing_ended", agency=agency, referral=True)
            return
        assert answered is not None
        if state == "declined":
            self.event(ref, answered, provider, "declined", "sent", "declined")
            self.timeline(case, answered, provider, "referral_declined", **meta)
            self.timeline(case, answered, provider, "sharing_ended", agency=agency, referral=True)
            self.alert(row.unit_id, "referral_declined", case, agency, answered)
            return
        self.event(ref, answered, provider, "accepted", "sent", "accepted")
        self.timeline(case, answered, provider, "referral_accepted", **meta)
        if admitted is not None:
            self.event(ref, admitted, provider, "admitted", occupied=1)
            self.timeline(case, admitted, provider, "referral_admitted", **meta)
        if state == "accepted":
            if kind == "shelter" and rng.random() < 0.6:
                when = answered + timedelta(hours=rng.randrange(1, 12))
                self.admissions.append(
                    (
                        len(self.rows["referrals_referral"]) - 1,
                        agency,
                        self.capped(when),
                        case,
                        ref,
                        provider,
                    )
                )
            return
        assert ended is not None
        if departed is not None:
            self.event(ref, departed, provider, "departed")
            self.timeline(case, departed, provider, "referral_departed", **meta)
        if state == "completed":
            self.event(ref, ended, provider, "completed", "accepted", "completed")
            self.timeline(case, ended, provider, "referral_completed", **meta)
        else:
            self.event(
                ref,
                ended,
                provider,
                "closed",
                "accepted",
                "closed",
                reason=close_reason,
                by="receiver",
            )
            self.timeline(case, ended, provider, "referral_closed", **meta, reason=close_reason)
        self.timeline(case, ended, provider, "sharing_ended", agency=agency, referral=True)


_STATE: dict[str, ReferralWorld] = {}


def build_batch(seed: int, start: int, cases: list[CaseRow]) -> Batch:
    """Rows of the referrals of ``cases`` (in a worker: no database access)."""
    if "world" not in _STATE:
        raise RuntimeError("load_world() first")
    builder = _Builder(_STATE["world"], seed, start)
    made = 0
    for row in cases:
        made += builder.case(row)
    return Batch(
        rows=builder.rows,
        admissions=builder.admissions,
        last_index=cases[-1].index if cases else start,
        referrals=made,
    )


# --- reading the cases, writing the rows --------------------------------------------------


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(when, datetime)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def read_cases(after: int, upto: int) -> list[CaseRow]:
    """Generated cases number ``after`` + 1 .. ``upto`` (in the order they were written:
    the plaintext baseline table's ids), with her key and sealed name and phone."""
    from django.db import connection

    join = "replace(b.case_id, '-', '')" if connection.vendor == "sqlite" else "b.case_id::uuid"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.id, c.id, c.unit_id, c.state, c.created_at, c.channel, c.closed_at, "  # noqa: S608  # nosec B608
            "c.created_by_id, s.data_key_id, k.wrapped_key, s.residence_commune_id, "
            "s.preferred_language, s.full_name, s.phone "
            f"FROM {generate.BASELINE_TABLE} b JOIN cases_casefile c ON c.id = {join} "
            "JOIN cases_survivor s ON s.id = c.survivor_id "
            "JOIN core_datakey k ON k.id = s.data_key_id "
            "WHERE b.id > %s AND b.id <= %s ORDER BY b.id",
            [after, upto],
        )
        rows = cursor.fetchall()
    return [
        CaseRow(
            index=r[0],
            case_id=_as_uuid(r[1]),
            unit_id=r[2],
            state=r[3],
            created_at=_as_datetime(r[4]),  # type: ignore[arg-type]
            channel=r[5],
            closed_at=_as_datetime(r[6]),
            officer_id=r[7],
            key_id=_as_uuid(r[8]),
            wrapped_key=bytes(r[9]),
            commune_id=r[10],
            language=r[11] or "",
            name=bytes(r[12]) if r[12] is not None else None,
            phone=bytes(r[13]) if r[13] is not None else None,
        )
        for r in rows
    ]


def _progress() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (id integer PRIMARY KEY, done integer)"
        )
        cursor.execute(f"SELECT done FROM {PROGRESS_TABLE} WHERE id = 1")  # noqa: S608  # nosec B608
        found = cursor.fetchone()
    return int(found[0]) if found else 0


def _cases_written() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {generate.BASELINE_TABLE}")  # noqa: S608  # nosec B608
        return int(cursor.fetchone()[0])


class _Writer:
    def __init__(self, world: ReferralWorld) -> None:
        from django.db import connection

        from himaya.cases.models import Consent

        self.world = world
        self.connection = connection
        self.base = generate._Writer(world.base)
        self.consent_table = Consent._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {self.consent_table}")  # noqa: S608  # nosec B608
            self.next_consent = int(cursor.fetchone()[0]) + 1
            cursor.execute(
                "SELECT to_agency_id, count(*) FROM referrals_referral WHERE kind = 'to_service' "
                "AND state = 'accepted' AND admitted_at IS NOT NULL AND departed_at IS NULL "
                "GROUP BY to_agency_id"
            )
            self.occupied: Counter[int] = Counter(dict(cursor.fetchall()))

    def admit(self, batch: Batch) -> None:
        """She arrived at the shelter only while it had a free bed (as ``shelter_admit``)."""
        rows = batch.rows["referrals_referral"]
        sqlite = self.world.base.vendor == "sqlite"
        for index, shelter, when, case, ref, provider in batch.admissions:
            if self.occupied[shelter] >= self.world.beds.get(shelter, 0):
                continue
            self.occupied[shelter] += 1
            at = when.astimezone(UTC).replace(tzinfo=None).isoformat(" ") if sqlite else when
            row = list(rows[index])
            row[_REFERRAL["admitted_at"]] = at
            rows[index] = tuple(row)
            meta = json.dumps({"occupied": self.occupied[shelter]})
            batch.rows["referrals_referralevent"].append(
                (ref, at, provider, "admitted", "", "", meta)
            )
            pk = str(_as_uuid(ref))
            batch.rows["cases_timelineentry"].append(
                (
                    case,
                    at,
                    provider,
                    "referral_admitted",
                    "",
                    "",
                    json.dumps({"referral": pk, "agency": shelter}),
                )
            )

    def number(self, batch: Batch) -> None:
        """Consent ids for the batch (the grants point at them by ordinal)."""
        base = self.next_consent
        consents = batch.rows["cases_consent"]
        batch.rows["cases_consent"] = [(base + r[_CONSENT_ID], *r[1:]) for r in consents]
        batch.rows["cases_grant"] = [
            (
                *r[:_GRANT_CONSENT],
                None if r[_GRANT_CONSENT] is None else base + r[_GRANT_CONSENT],
                *r[_GRANT_CONSENT + 1 :],
            )
            for r in batch.rows["cases_grant"]
        ]
        self.next_consent += len(consents)

    def write(self, batch: Batch) -> None:
        from django.db import transaction

        self.admit(batch)
        self.number(batch)
        with transaction.atomic():
            for table in TABLE_ORDER:
                rows = batch.rows[table]
                if not rows:
                    continue
                columns = TABLE_COLUMNS[table]
                if table in self.world.extras:
                    names, values = self.world.extras[table]
                    columns = (*columns, *names)
                    rows = [(*r, *values) for r in rows]
                self.base._insert(table, columns, rows)
            with self.connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {PROGRESS_TABLE}")  # noqa: S608  # nosec B608
                cursor.execute(
                    f"INSERT INTO {PROGRESS_TABLE} (id, done) VALUES (1, %s)",  # noqa: S608  # nosec B608
                    [batch.last_index],
                )

    def finish(self) -> None:
        """Occupancy from the admissions; PostgreSQL's id sequences past the given ids."""
        from django.utils import timezone

        now = timezone.now()
        with self.connection.cursor() as cursor:
            cursor.execute("DELETE FROM referrals_shelteroccupancy")
            cursor.executemany(
                "INSERT INTO referrals_shelteroccupancy (agency_id, occupied, updated_at) "
                "VALUES (%s, %s, %s)",
                [(agency, count, now) for agency, count in sorted(self.occupied.items()) if count],
            )
            if self.world.base.vendor == "postgresql":
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{self.consent_table}', 'id'), "  # noqa: S608  # nosec B608
                    f"(SELECT coalesce(max(id), 1) FROM {self.consent_table}))"
                )


def referral_count() -> int:
    from himaya.referrals.models import Referral

    return Referral.objects.count()


@dataclass(frozen=True, slots=True)
class Report:
    cases: int
    referrals: int
    seconds: float
    rows: int


def generate_referrals(  # noqa: PLR0915 - one linear recipe
    *,
    seed: int = 2026,
    workers: int | None = None,
    say: Callable[[str], None] = print,
    world: ReferralWorld | None = None,
) -> Report:
    """Referrals for every generated case that has none yet (``generate.generate`` first).
    Returns what was added and how long it took."""
    from django.db import connections

    started = time.perf_counter()
    world = world or load_world(say=say)
    _STATE["world"] = world
    generate._STATE["world"] = world.base
    done = _progress()
    total = _cases_written()
    if done >= total:
        return Report(cases=0, referrals=0, seconds=0.0, rows=0)
    writer = _Writer(world)
    workers = max(1, (os.cpu_count() or 2) - 1) if workers is None else workers
    ranges = [(a, min(a + BATCH, total)) for a in range(done, total, BATCH)]

    def batches() -> Iterator[Batch]:
        if workers == 0:
            for a, b in ranges:
                yield build_batch(seed, a, read_cases(a, b))
            return
        pending: list[Future[Batch]] = []
        queue = iter(ranges)
        # Cases are read in the main process; forked workers build rows without the database.
        first = [(a, b, read_cases(a, b)) for a, b in itertools.islice(queue, workers * 2)]
        connections.close_all()
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            for a, _b, rows in first:
                pending.append(pool.submit(build_batch, seed, a, rows))
            while pending:
                batch = pending.pop(0).result()
                yield batch
                nxt = next(queue, None)
                if nxt is not None:
                    pending.append(pool.submit(build_batch, seed, nxt[0], read_cases(*nxt)))

    rows_written = 0
    referrals = 0
    dropped: list[str] = []
    first_batch = True
    last_report = time.perf_counter()
    try:
        for batch in batches():
            if first_batch:
                generate._fast_session()
                if total - done >= generate.BIG_LOAD:
                    dropped = generate._drop_secondary_indexes(BIG_TABLES)
                first_batch = False
            writer.write(batch)
            rows_written += sum(len(r) for r in batch.rows.values())
            referrals += batch.referrals
            if time.perf_counter() - last_report > 15:
                last_report = time.perf_counter()
                rate = referrals / (last_report - started)
                say(f"  referrals for {batch.last_index:,} cases ({rate:,.0f} referrals/s)")
        writer.finish()
    finally:
        if dropped:
            say(f"  building {len(dropped)} indexes")
            generate._rebuild_indexes(dropped)
        if not first_batch:
            generate._restore_session()
    generate.analyze()
    return Report(
        cases=total - done,
        referrals=referrals,
        seconds=time.perf_counter() - started,
        rows=rows_written,
    )


# --- proof that the rows open like the services' -------------------------------------------


def check(sample: int = 20, say: Callable[[str], None] = print) -> int:  # noqa: PLR0915
    """Read a few generated referrals of every kind back through the selectors, the
    policies and the sealed fields, as each side would; raises ``AssertionError`` when one
    does not open. Returns how many referrals were opened."""
    from himaya.accounts.models import Membership
    from himaya.cases.selectors import CaseDetails
    from himaya.core.actor import Actor
    from himaya.core.crypto import clear_data_key_cache, is_erased
    from himaya.core.errors import NotFound
    from himaya.referrals import selectors
    from himaya.referrals.models import Referral
    from himaya.referrals.policies import Side

    def actor_of(agency: int, role: str) -> Actor:
        m = (
            Membership.objects.filter(
                agency_id=agency, role=role, user__username__startswith="bench."
            )
            .select_related("user")
            .order_by("id")
            .first()
        )
        assert m is not None, f"no {role} in agency {agency}"
        return Actor(
            user_id=m.user_id,
            username=m.user.username,
            role=role,
            agency_id=agency,
            membership_id=m.pk,
        )

    opened = 0
    rng = random.Random(7)
    groups = {
        "to_unit accepted": Referral.objects.filter(kind="to_unit", state="accepted"),
        "to_unit waiting": Referral.objects.filter(kind="to_unit", state="sent"),
        "to_service active": Referral.objects.filter(
            kind="to_service", state__in=["sent", "accepted"]
        ),
        "to_service finished": Referral.objects.filter(
            kind="to_service", state__in=["completed", "closed", "declined", "withdrawn"]
        ),
    }
    for label, queryset in groups.items():
        ids = list(queryset.values_list("id", flat=True)[: sample * 5])
        for pk in rng.sample(ids, min(sample, len(ids))):
            clear_data_key_cache()
            referral = Referral.objects.get(pk=pk)
            sender_role = "focal_point" if referral.kind == "to_unit" else "unit_officer"
            receiver_role = "unit_officer" if referral.kind == "to_unit" else "service_provider"
            sender = actor_of(referral.from_agency_id, sender_role)
            receiver = actor_of(referral.to_agency_id, receiver_role)
            for actor, side in ((sender, Side.SENDER), (receiver, Side.RECEIVER)):
                view = selectors.referral_view(actor=actor, referral_id=pk)
                assert view.side is side, (label, side)
                for name in ("message", "decline_reason", "provided", "override_reason"):
                    value = getattr(view.referral, name)
                    assert isinstance(value, str), (label, name)
                    assert not is_erased(value), (label, name)
                if (
                    referral.kind == "to_unit"
                    and referral.state in {"sent", "accepted"}
                    and side is Side.RECEIVER
                ):
                    fc = view.first_contact
                    assert fc is not None, label
                    assert not is_erased(fc.full_name), label
                    assert not is_erased(fc.needs), label
                    if referral.state == "accepted":
                        # Her first contact and her case are sealed under the same key.
                        assert referral.case is not None
                        assert fc.data_key_id == referral.case.survivor.data_key_id, label
                        assert str(fc.full_name) == str(referral.case.survivor.full_name), label
                if referral.kind == "to_service" and side is Side.RECEIVER:
                    live = referral.state in {"sent", "accepted"}
                    assert (view.case is not None) is live, (label, referral.state)
                    if view.case is not None:
                        assert isinstance(view.case, CaseDetails)
                    assert view.received is not None, label
                    assert view.received.live is live, label
            # An agency on neither side does not learn that it exists.
            outsider = (
                Membership.objects.filter(role="unit_officer", user__username__startswith="bench.u")
                .exclude(agency_id__in=[referral.from_agency_id, referral.to_agency_id])
                .values_list("agency_id", flat=True)
                .first()
            )
            assert outsider is not None
            try:
                selectors.referral_view(actor=actor_of(outsider, "unit_officer"), referral_id=pk)
            except NotFound:
                pass
            else:
                raise AssertionError(f"{label}: an outsider read a referral")
            opened += 1
        say(f"  opened {min(sample, len(ids))} referrals ({label}) through the selectors")
    return opened


def main() -> None:
    args = sys.argv[1:]
    database = common.database_name(args)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    common.setup(database, fresh=False)
    if "--repair" in args:
        print(f"rebuilt {generate.repair_indexes(tables=BIG_TABLES)} indexes")
        generate.analyze()
        return
    if "--check" in args:
        print(f"opened {check()} referrals through the selectors")
        return
    if generate.case_count() == 0:
        raise SystemExit("no cases yet: run bench/generate.py first")
    report = generate_referrals()
    print(
        f"generated {report.referrals:,} referrals ({report.rows:,} rows) for {report.cases:,} "
        f"cases in {report.seconds:.1f} s on {database}; the database now holds "
        f"{referral_count():,} referrals"
    )


if __name__ == "__main__":
    main()
