"""The prosecutor's queue at scale (issue 5: each agency's queue page p95 <= 50 ms, here for
the prosecution offices, whose queue is ``/justice/``).

    BENCH_SCALE=full .venv/bin/python bench/bench_justice.py --database postgresql
    BENCH_CASES=<n>  .venv/bin/python bench/bench_justice.py --database sqlite

Reuses the scratch database ``generate.py`` left at this scale (grown to it when smaller)
and adds, in bulk, what forwarding would have left in it (``generate_justice``):

* a prosecutor account for every prosecution office (``bench.p<office>.prosecutor``);
* a complaint for every ``forwarded`` case and for a third of the closed ones, to the office
  competent for her commune (``network.Jurisdiction``, as the forwarding service chooses),
  received a few days after the case opened, decision due 30 days later. Forwarded ones
  are mostly awaiting a decision (received, further investigation), else in proceedings,
  before an investigating judge, judged or dismissed; closed ones judged or dismissed;
* a hearing for every complaint in proceedings or judged, 40 to 200 days after the
  complaint (held when that is past, scheduled when it is to come), and a protection
  measure for a quarter of them (in force one to twelve months, ended once past). Their
  sealed columns (sentence, conditions) are sealed empty under her survivor key, as the
  services leave them.

Breaches are not generated (each is a sealed account of what happened); the queue's breach
list reads the last days along its own index.

Then it times ``/justice/`` (middleware, session, staff gate, the four lists, template) with
Django's test client for the prosecutors of up to ``OFFICES_TIMED`` offices (those with the
most complaints), and again in a second scratch database with the same keys, grown to 1 %
of the scale by the same recipe: the baseline of the same run. Writes
``bench/results/justice.json`` (``--no-results``: not, for the CI smoke test).
"""

from __future__ import annotations

import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

SEED = 103_13
OFFICES_TIMED = 40
MEASURE_SHARE = 0.25
BATCH = 5_000
COMPLAINT_STATES = (
    ("received", 0.45),
    ("investigation", 0.15),
    ("proceedings", 0.25),
    ("investigating_judge", 0.05),
    ("judged", 0.06),
    ("dismissed", 0.04),
)


@dataclass(frozen=True, slots=True)
class Added:
    complaints: int
    hearings: int
    measures: int
    seconds: float


def _competent_offices() -> dict[int, int]:
    """Commune -> the prosecution office competent for it (the lowest id when several)."""
    from himaya.justice.policies import PROSECUTION_KINDS
    from himaya.network.models import Jurisdiction

    found: dict[int, int] = {}
    rows = Jurisdiction.objects.filter(
        office__is_active=True, office__kind__in=sorted(PROSECUTION_KINDS)
    ).values_list("commune_id", "office_id")
    for commune, office in rows:
        found[commune] = min(office, found.get(commune, office))
    return found


def _prosecutors(offices: set[int]) -> dict[int, int]:
    """One prosecutor per office (her password unusable until a desk signs in)."""
    from django.contrib.auth.hashers import make_password

    from himaya.accounts.models import Membership, User
    from himaya.accounts.roles import Role

    names = {office: f"bench.p{office}.prosecutor" for office in sorted(offices)}
    existing = set(
        User.objects.filter(username__in=names.values()).values_list("username", flat=True)
    )
    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(username=n, password=unusable, display_name=n)
            for n in names.values()
            if n not in existing
        ],
        batch_size=500,
    )
    ids = dict(User.objects.filter(username__in=names.values()).values_list("username", "id"))
    Membership.objects.bulk_create(
        [Membership(user_id=ids[n], agency_id=o, role=Role.PROSECUTOR) for o, n in names.items()],
        ignore_conflicts=True,
        batch_size=500,
    )
    return {office: ids[name] for office, name in names.items()}


def _cases_without_complaint() -> list[tuple[Any, ...]]:
    """(case, state, opened, her commune, the unit's commune, her key id, wrapped key)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, c.state, c.created_at, s.residence_commune_id, u.commune_id, "
            "k.id, k.wrapped_key FROM cases_casefile c "
            "JOIN cases_survivor s ON s.id = c.survivor_id "
            "JOIN core_datakey k ON k.id = s.data_key_id "
            "JOIN network_agency u ON u.id = c.unit_id "
            "WHERE c.state IN ('forwarded', 'closed') "
            "AND NOT EXISTS (SELECT 1 FROM justice_complaint j WHERE j.case_id = c.id) "
            "ORDER BY c.created_at, c.id"
        )
        return list(cursor.fetchall())


def _as_datetime(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _key_of(key_id: Any, wrapped: Any) -> Any:
    import uuid

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from himaya.core.crypto import OpenDataKey, unwrap_data_key

    kid = key_id if isinstance(key_id, uuid.UUID) else uuid.UUID(str(key_id))
    return OpenDataKey(id=kid, aead=AESGCM(unwrap_data_key(bytes(wrapped), data_key_id=kid)))


def _db_value(value: Any) -> Any:
    """Times and days as the ORM would store them (SQLite: naive UTC text)."""
    from datetime import date

    from django.db import connection

    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _insert(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    from django.db import connection

    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            batch = [tuple(_db_value(v) for v in row) for row in rows[start : start + BATCH]]
            cursor.executemany(sql, batch)


def _complaint_state(rng: random.Random, case_state: str) -> str:
    if case_state == "closed":
        return "judged" if rng.random() < 0.6 else "dismissed"
    roll = rng.random()
    for state, share in COMPLAINT_STATES:
        if roll < share:
            return state
        roll -= share
    return COMPLAINT_STATES[-1][0]


def _complaint_ids() -> dict[str, int]:
    """Every complaint's id by its case (the case id as 32 hex digits)."""
    from himaya.justice.models import Complaint

    return {case.hex: pk for case, pk in Complaint.objects.values_list("case_id", "id")}


def generate_justice(seed: int = SEED) -> Added:
    """Complaints, hearings and measures for the cases that have none yet."""
    from django.db import transaction
    from django.utils import timezone

    from bench import generate
    from himaya.core.crypto import seal
    from himaya.justice.models import Hearing, ProtectionMeasure

    started = time.perf_counter()
    rng = random.Random(seed + generate.case_count())
    offices = _competent_offices()
    prosecutors = _prosecutors(set(offices.values()))
    now, today = timezone.now(), timezone.localdate()
    sentence: bytes = getattr(Hearing._meta.get_field("sentence"), "context_bytes")  # noqa: B009
    conditions: bytes = getattr(  # noqa: B009
        ProtectionMeasure._meta.get_field("conditions"), "context_bytes"
    )
    complaints: list[tuple[Any, ...]] = []
    heard: list[tuple[str, str, datetime, int, Any, Any]] = []
    for (
        case_id,
        case_state,
        opened,
        her_commune,
        unit_commune,
        key_id,
        wrapped,
    ) in _cases_without_complaint():
        case_hex = str(case_id).replace("-", "")
        # Which closed case had a complaint depends on the case alone, so that a second
        # run adds nothing to the cases the first one passed over.
        if case_state == "closed" and int(case_hex[:8], 16) % 3 != 0:
            continue
        office = offices.get(her_commune) or offices.get(unit_commune)
        if office is None:
            continue
        state = _complaint_state(rng, case_state)
        received = _as_datetime(opened) + timedelta(days=rng.randint(1, 10))
        due = received.date() + timedelta(days=30)
        complaints.append((case_id, office, "police", state, False, received, due, received))
        if state in {"proceedings", "judged"}:
            heard.append((case_hex, state, received, prosecutors[office], key_id, wrapped))
    hearings: list[tuple[Any, ...]] = []
    measures: list[tuple[Any, ...]] = []
    with transaction.atomic():
        _insert(
            "justice_complaint",
            (
                "case_id",
                "office_id",
                "source",
                "state",
                "needs_confirmation",
                "received_at",
                "decision_due_on",
                "updated_at",
            ),
            complaints,
        )
        ids = _complaint_ids()
        for case_hex, state, received, prosecutor, key_id, wrapped in heard:
            key = _key_of(key_id, wrapped)
            # Weeks to months after the complaint: held when that is past, scheduled when
            # it is to come (only the recent complaints have hearings ahead of them).
            at = received + timedelta(days=rng.uniform(40, 200))
            if state == "judged":  # judged: its hearing was held
                at = min(at, now - timedelta(hours=1))
            hearings.append(
                (
                    ids[case_hex],
                    at,
                    "Tribunal de première instance",
                    False,
                    "held" if at < now else "scheduled",
                    "",
                    seal(b"", key=key, context=sentence),
                    prosecutor,
                    received,
                )
            )
            if rng.random() < MEASURE_SHARE:
                starts = received.date() + timedelta(days=rng.randint(1, 20))
                ends = starts + timedelta(days=rng.randint(30, 365))
                measures.append(
                    (
                        ids[case_hex],
                        "no_contact",
                        "pc_88_3",
                        "prosecutor",
                        starts,
                        ends,
                        "[]",
                        seal(b"", key=key, context=conditions),
                        False,
                        "active" if ends >= today else "ended",
                        prosecutor,
                        received,
                    )
                )
        _insert(
            "justice_hearing",
            (
                "complaint_id",
                "scheduled_at",
                "place",
                "remote",
                "state",
                "outcome",
                "sentence",
                "created_by_id",
                "created_at",
            ),
            hearings,
        )
        _insert(
            "justice_protectionmeasure",
            (
                "complaint_id",
                "kind",
                "legal_basis",
                "authority",
                "starts_on",
                "ends_on",
                "protected",
                "conditions",
                "on_conviction",
                "state",
                "ordered_by_id",
                "created_at",
            ),
            measures,
        )
    generate.analyze()
    return Added(len(complaints), len(hearings), len(measures), time.perf_counter() - started)


def check() -> None:
    """What was written opens like the services' rows, or the timings mean nothing: the
    queue of the office with most complaints awaiting, through the selector, and a
    measure's sealed conditions."""
    from django.db.models import Count

    from himaya.accounts.models import Membership
    from himaya.core.actor import Actor
    from himaya.justice import selectors
    from himaya.justice.models import Complaint, ProtectionMeasure
    from himaya.justice.states import AWAITING_STATES

    waiting = (
        Complaint.objects.filter(state__in=sorted(AWAITING_STATES))
        .values("office_id")
        .annotate(n=Count("id"))
        .order_by("-n", "office_id")
        .first()
    )
    assert waiting is not None, "no complaint awaits a decision anywhere"
    office = int(waiting["office_id"])
    membership = Membership.objects.select_related("user").get(
        agency_id=office, user__username=f"bench.p{office}.prosecutor"
    )
    actor = Actor(
        user_id=membership.user_id,
        username=membership.user.username,
        role=membership.role,
        agency_id=office,
        membership_id=membership.pk,
    )
    queue = selectors.prosecutor_queue(actor=actor)
    assert queue.awaiting.items, "the office's queue does not show what awaits it"
    measure = ProtectionMeasure.objects.filter(complaint__office_id=office).first()
    if measure is not None:
        assert str(measure.conditions) == "", "a generated measure does not open"


def busiest_offices(count: int) -> list[int]:
    from django.db.models import Count

    from himaya.justice.models import Complaint

    rows = (
        Complaint.objects.values("office_id")
        .annotate(n=Count("id"))
        .order_by("-n", "office_id")[:count]
    )
    return [int(r["office_id"]) for r in rows]


def time_queue(offices: list[int]) -> tuple[common.Timing, int, float]:
    """p95 of ``/justice/`` for each office's prosecutor (each page loaded once untimed
    first, data-key cache emptied before each), the statements of the busiest office's page
    (the fewer of two loads: the session's "last seen" stamp belongs to the clock), and the
    mean number of complaints awaiting on a page."""
    from bench.bench_cases import count_statements
    from bench.bench_referrals import Bench
    from himaya.accounts.roles import Role
    from himaya.core.crypto import clear_data_key_cache
    from himaya.justice import selectors

    bench = Bench(common.database_name())
    desks = [bench.desk(office, Role.PROSECUTOR) for office in offices]

    def get(desk: Any) -> None:
        response = desk.client.get("/justice/")
        assert response.status_code == 200, response.status_code

    for desk in desks:
        get(desk)
    timing = common.time_calls(desks, get, before=clear_data_key_cache)
    statements = min(count_statements(lambda: get(desks[0])) for _ in range(2))
    shown = [len(selectors.prosecutor_queue(actor=d.actor).awaiting.items) for d in desks]
    return timing, statements, sum(shown) / max(1, len(shown))


def main() -> None:
    database = common.database_name()
    total = common.scale_cases()
    first = min(max(1_000, total // 100), max(1, total // 10))
    common.setup(database, fresh=False)
    from django.db import connection

    from bench import generate

    vendor = connection.vendor
    world = generate.load_world()
    if generate.case_count() < total:
        generate.generate(total, world=world)
    added = generate_justice()
    check()
    print(
        f"justice rows added: {added.complaints:,} complaints, {added.hearings:,} hearings, "
        f"{added.measures:,} measures in {added.seconds:.1f} s"
    )
    offices = busiest_offices(OFFICES_TIMED)
    print(f"database read once in {common.prewarm():.1f} s (warm OS cache)")
    big, big_statements, big_rows = time_queue(offices)
    complaints = _complaint_count()
    print(f"queue timed at {total:,} cases; load average {os.getloadavg()[0]:.1f}")
    common.use_side_database(database)
    generate.generate(first, world=generate.load_world())
    generate_justice()
    common.prewarm()
    small, small_statements, small_rows = time_queue(offices)
    small_complaints = _complaint_count()
    print(f"queue timed at {first:,} cases; load average {os.getloadavg()[0]:.1f}")
    common.drop_side_database(database)

    scale = f"{total:,} cases, {complaints:,} complaints"
    there = f"{first:,} cases, {small_complaints:,} complaints"
    rows = [
        common.row(
            name="justice.queue.page",
            metric=(
                "p95 server time of /justice/ for a prosecutor (test client): complaints "
                "awaiting a decision (first page of 50), hearings, measures near expiry, "
                "breaches"
            ),
            value=round(big.p95 * 1000, 2),
            unit="ms",
            scale=scale,
            database=vendor,
            compared_to=(
                f"the same offices at {there}, same run: p95 {small.p95 * 1000:.2f} ms "
                f"(p50 here {big.p50 * 1000:.2f} ms, there {small.p50 * 1000:.2f} ms; "
                f"{big_rows:.0f} complaints awaiting per page here, {small_rows:.0f} there)"
            ),
            ratio=round(big.p95 / small.p95, 2),
        ),
        common.row(
            name="justice.queue.page.statements",
            metric="SQL statements of the busiest office's page (transaction control aside)",
            value=big_statements,
            unit="queries",
            scale=scale,
            database=vendor,
            compared_to=f"the same page at {there}, same run: {small_statements} queries",
            ratio=round(big_statements / max(1, small_statements), 2),
        ),
    ]
    common.print_rows(rows)
    print(f"machine: {common.machine()}")
    if "--no-results" not in sys.argv:
        common.write_results("justice", rows)
    if big.p95 > 0.050:
        print(f"TARGET MISSED: the prosecutor's queue p95 {big.p95 * 1000:.1f} ms > 50 ms")
    if big_statements > small_statements:
        print(f"TARGET MISSED: {big_statements} statements, {small_statements} at {first:,}")


def _complaint_count() -> int:
    from himaya.justice.models import Complaint

    return Complaint.objects.count()


if __name__ == "__main__":
    main()
