"""Referrals at scale (issue 5 targets, with 1,000,000 cases and 3,000,000 referrals on
SQLite and PostgreSQL):

* each agency's queue page: p95 <= 50 ms server time;
* the overdue-escalation task processes 100,000 due items in under a minute.

    BENCH_SCALE=small .venv/bin/python bench/bench_referrals.py --database sqlite
    BENCH_SCALE=full  .venv/bin/python bench/bench_referrals.py --database postgresql
    BENCH_CASES=<n>   .venv/bin/python bench/bench_referrals.py --database sqlite --reuse

Builds a fresh scratch database (``bench/common.py``), grows it with the case generator
(``bench/generate.py``) and the referral generator (``bench/generate_referrals.py``) in two
stages: 1 % of the scale first (at least 1,000 cases, at most a tenth of the scale), where
the queue pages are timed, then the whole scale, where they are timed again, and the
escalation job is run on due referrals. Each timing is compared with a baseline measured in
the same run:

* every queue page against itself at the first stage (and, because a page at the first
  stage is often short, the same page cut to the rows it held then: ``.same_rows``);
* the escalation job against a bare ``UPDATE`` of the same rows.

``--reuse`` measures a scratch database generated earlier (cases with ``generate.py``;
referrals are added here when missing) and builds its first stage, in the same run, in a
second scratch database with the same keys. ``--explain`` prints the plans of each queue's
queries. ``--no-results`` leaves ``bench/results/referrals.json`` alone (the CI smoke test).
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

SEED = 5_2026
#: The pages timed: (name, role, tab). Every queue of every agency that has referral pages:
#: a district station's focal point (what it sent), a unit's staff (what it received from
#: stations, waiting and finished; what it sent to services), and the staff of two kinds of
#: service (a shelter, a hospital unit: what they received, waiting and finished).
#: Prosecutors have no referral pages (``policies.has_referral_pages``): they receive cases
#: by forwarding, into the justice queue (``/justice/``), timed by ``bench_justice.py``.
PAGES = (
    ("focal.sent", "focal_point", "sent"),
    ("unit.incoming", "unit_officer", "incoming"),
    ("unit.done", "unit_officer", "done"),
    ("unit.sent", "unit_officer", "sent"),
    ("shelter.incoming", "service_provider", "incoming"),
    ("shelter.done", "service_provider", "done"),
    ("hospital.incoming", "service_provider", "incoming"),
    ("hospital.done", "service_provider", "done"),
)
PAGE_TARGET_S = 0.050
#: The issue's escalation target: this many due items in under ESCALATION_TARGET_S.
ESCALATION_ITEMS = 100_000
ESCALATION_TARGET_S = 60.0
IDS_TABLE = "bench_escalation_ids"


@dataclass(frozen=True, slots=True)
class Desk:
    """One person at one agency's desk: her signed-in browser and her actor."""

    agency_id: int
    actor: Any
    client: Any


class Bench:
    def __init__(self, database: str) -> None:
        from bench import generate_referrals

        self.database = database
        self.rng = random.Random(SEED)
        self.world = generate_referrals.load_world()
        self.weights = [u.weight for u in self.world.base.units]
        self.desks: dict[tuple[int, str], Desk] = {}
        self.password = "bench-" + uuid.uuid4().hex
        #: Mean rows on the pages last timed, by page.
        self.rows_shown: dict[str, float] = {}

    # --- who looks at which page ----------------------------------------------------------

    def agencies(self, count: int) -> dict[str, list[int]]:
        """For each page, ``count`` agencies: units drawn by their weight (busier units more
        often), and for the other pages a station that refers to that unit or a service of
        that kind near it (so stations and services are drawn by their units' weight)."""
        units = [
            u.id for u in self.rng.choices(self.world.base.units, weights=self.weights, k=count)
        ]
        out: dict[str, list[int]] = {}
        for name, _role, _tab in PAGES:
            chosen = []
            for unit in units:
                place = self.world.places[unit]
                if name.startswith("unit."):
                    chosen.append(unit)
                elif name.startswith("focal."):
                    chosen.append(self.rng.choice(place.stations))
                else:
                    kind = "shelter" if name.startswith("shelter.") else "hospital_unit"
                    near = [a for a in place.services[kind][:3] if a in self.world.providers]
                    chosen.append(self.rng.choice(near))
            out[name] = chosen
        return out

    def desk(self, agency_id: int, role: str) -> Desk:
        """A signed-in browser (password + TOTP through the real pages) of the first
        member with ``role`` at the agency."""
        from himaya.accounts.models import Membership

        found = self.desks.get((agency_id, role))
        if found is not None:
            return found
        membership = (
            Membership.objects.filter(
                agency_id=agency_id, role=role, user__username__startswith="bench."
            )
            .select_related("user")
            .order_by("user__username")
            .first()
        )
        assert membership is not None, f"no {role} at agency {agency_id}"
        desk = self.sign_in(membership)
        self.desks[(agency_id, role)] = desk
        return desk

    def sign_in(self, membership: Any) -> Desk:
        """A signed-in browser of this membership's person (password + TOTP through the
        real pages), acting as it."""
        from django.test import Client

        from himaya.accounts import services
        from himaya.accounts.totp import acceptable_code
        from himaya.core.actor import SYSTEM, Actor

        user = membership.user
        user.set_password(self.password)
        user.save(update_fields=["password"])
        device = services.totp_provision(actor=SYSTEM, user=user)
        client = Client()
        response = client.post(
            "/accounts/login/", {"username": user.username, "password": self.password}
        )
        assert response.status_code == 302, response.status_code
        response = client.post("/accounts/login/code/", {"code": acceptable_code(device)})
        assert response.status_code == 302, response.status_code
        actor = Actor(
            user_id=user.pk,
            username=user.username,
            role=membership.role,
            agency_id=membership.agency_id,
            membership_id=membership.pk,
        )
        return Desk(agency_id=membership.agency_id, actor=actor, client=client)

    # --- timing -------------------------------------------------------------------------

    @staticmethod
    def timed(calls: list[Callable[[], object]]) -> common.Timing:
        """Seconds per call, each page loaded once untimed first (a page as its staff reload
        it: the order in which pages are timed does not decide which one pays the disk),
        with the data-key cache emptied before each."""
        from himaya.core.crypto import clear_data_key_cache

        for call in calls:
            call()
        return common.time_calls(calls, lambda call: call(), before=clear_data_key_cache)

    def rows(self, desk: Desk, tab: str, limit: int = 50) -> int:
        """How many rows the page shows (the selector the view calls)."""
        from himaya.referrals import selectors

        if tab == "sent":
            return len(selectors.outgoing(actor=desk.actor, limit=limit).items)
        return len(
            selectors.incoming(actor=desk.actor, active=tab == "incoming", limit=limit).items
        )

    def page(
        self,
        name: str,
        agencies: list[int],
        *,
        per_page: dict[int, int] | None = None,
    ) -> common.Timing:
        """Server time of ``/referrals/?tab=<tab>`` (middleware, session, staff gate,
        selector, template) with Django's test client; ``per_page`` cuts each agency's page
        to a number of rows (the view's page size, set per agency)."""
        from himaya.referrals import views

        _name, role, tab = next(p for p in PAGES if p[0] == name)
        desks = [self.desk(a, role) for a in agencies]
        full = views.PER_PAGE

        def get(desk: Desk) -> object:
            if per_page is not None:
                views.PER_PAGE = max(1, per_page[desk.agency_id])
            try:
                response = desk.client.get("/referrals/", {"tab": tab})
            finally:
                views.PER_PAGE = full
            assert response.status_code == 200, response.status_code
            return response

        timing = self.timed([lambda d=d: get(d) for d in desks])  # type: ignore[misc]
        if per_page is None:
            shown = [self.rows(d, tab) for d in desks]
            self.rows_shown[name] = sum(shown) / max(1, len(shown))
        return timing

    def pages(self, chosen: dict[str, list[int]]) -> dict[str, common.Timing]:
        return {name: self.page(name, chosen[name]) for name, _role, _tab in PAGES}

    def rows_per_agency(self, chosen: dict[str, list[int]]) -> dict[str, dict[int, int]]:
        out: dict[str, dict[int, int]] = {}
        for name, role, tab in PAGES:
            out[name] = {a: self.rows(self.desk(a, role), tab) for a in sorted(set(chosen[name]))}
        return out

    def statements(self, chosen: dict[str, list[int]]) -> dict[str, int]:
        """SQL statements of each page (transaction control aside), for its busiest agency
        of the sample: the figure that must not grow with the number of referrals."""
        out = {}
        for name, role, tab in PAGES:
            desk = self.desk(max(set(chosen[name]), key=chosen[name].count), role)
            # The fewer of two loads: a signed-in session's "last seen" stamp is written at
            # most every 15 seconds (accounts.middleware), one statement that belongs to the
            # clock, not to the page.
            out[name] = min(
                count_statements(
                    lambda d=desk, t=tab: d.client.get("/referrals/", {"tab": t})  # type: ignore[misc]
                )
                for _ in range(2)
            )
        return out

    def explain(self, chosen: dict[str, list[int]]) -> None:
        from bench.bench_cases import capture, explain

        for name, role, tab in PAGES:
            desk = self.desk(chosen[name][0], role)
            print(f"=== {name}")
            explain(capture(lambda d=desk, t=tab: d.client.get("/referrals/", {"tab": t})))  # type: ignore[misc]


def count_statements(call: Callable[[], object]) -> int:
    from bench.bench_cases import count_statements as count

    return count(call)


# --- the escalation job -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Escalation:
    items: int
    seconds: float
    baseline_seconds: float
    statements: int
    escalated_once: int
    second_run: int


def _ids_table(ids: list[Any]) -> None:
    """The chosen referrals' ids in a scratch table (the baseline UPDATE joins it)."""
    from django.db import connection

    column = "char(32)" if connection.vendor == "sqlite" else "uuid"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {IDS_TABLE}")
        cursor.execute(f"CREATE TABLE {IDS_TABLE} (id {column} PRIMARY KEY)")
        cursor.executemany(f"INSERT INTO {IDS_TABLE} (id) VALUES (%s)", [(i,) for i in ids])  # noqa: S608  # nosec B608


def _max_id(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608  # nosec B608
        return int(cursor.fetchone()[0])


def escalation(items_wanted: int) -> Escalation:
    """Make ``items_wanted`` finished referrals to services overdue (waiting, deadline an
    hour ago, never escalated), time a bare UPDATE of the same rows, then one run of the
    real job (the function ``run_schedule`` calls), check that each was escalated exactly
    once (and that a second run escalates none of them), and put everything back."""
    from django.db import connection, transaction
    from django.utils import timezone

    from himaya.cases.models import Alert, TimelineEntry
    from himaya.core import schedule
    from himaya.referrals.escalation import escalate_overdue
    from himaya.referrals.models import Referral, ReferralEvent

    job = next(j for j in schedule.jobs() if j.name == "referrals.escalate_overdue")
    # The scheduler runs every five minutes: what was due before now has been escalated.
    job.run()
    ids = list(
        Referral.objects.filter(
            kind="to_service", state__in=["completed", "closed", "declined", "withdrawn"]
        )
        .order_by("id")
        .values_list("id", flat=True)[:items_wanted]
    )
    before = _originals(ids)
    table = connection.ops.quote_name(Referral._meta.db_table)
    db_ids = [i.hex if connection.vendor == "sqlite" else i for i in ids]
    _ids_table(db_ids)
    now = timezone.now()
    with connection.cursor() as cursor, transaction.atomic():
        cursor.execute(
            f"UPDATE {table} SET state = 'sent', escalation_level = 0, escalated_at = NULL, "  # noqa: S608  # nosec B608
            f"deadline_at = %s, updated_at = %s WHERE id IN (SELECT id FROM {IDS_TABLE})",
            [now - timedelta(hours=1), now],
        )
    # Baseline: one bare UPDATE of the same rows, committed (then undone).
    started = time.perf_counter()
    with connection.cursor() as cursor, transaction.atomic():
        cursor.execute(
            f"UPDATE {table} SET escalation_level = 1, escalated_at = %s, updated_at = %s "  # noqa: S608  # nosec B608
            f"WHERE id IN (SELECT id FROM {IDS_TABLE})",
            [now, now],
        )
    baseline = time.perf_counter() - started
    with connection.cursor() as cursor, transaction.atomic():
        cursor.execute(
            f"UPDATE {table} SET escalation_level = 0, escalated_at = NULL "  # noqa: S608  # nosec B608
            f"WHERE id IN (SELECT id FROM {IDS_TABLE})"
        )
    watermarks = {
        model: _max_id(model._meta.db_table) for model in (ReferralEvent, Alert, TimelineEntry)
    }
    counted = [0]

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")):
            counted[0] += 1
        return execute(sql, params, many, context)

    print(f"escalating {len(ids):,} due referrals; load average {os.getloadavg()[0]:.1f}")
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        job.run()
        seconds = time.perf_counter() - started
    escalated = ReferralEvent.objects.filter(
        id__gt=watermarks[ReferralEvent], referral_id__in=ids, kind="escalated_chief"
    )
    once = escalated.values("referral_id").distinct().count()
    events = escalated.count()
    levels = set(Referral.objects.filter(pk__in=ids).values_list("escalation_level", flat=True))
    second = escalate_overdue()
    again = (
        ReferralEvent.objects.filter(id__gt=watermarks[ReferralEvent], referral_id__in=ids).count()
        - events
    )
    assert events == once, f"{events - once} referrals escalated more than once"
    assert levels == {1}, f"escalation levels after one run: {sorted(levels)}"
    print(
        f"  every one escalated once: {once:,} of {len(ids):,}; the second run escalated "
        f"{second.to_chief + second.to_central} (of them: {again})"
    )
    # Put the rows back as they were, and remove what the job wrote (not its audit event).
    with transaction.atomic():
        for model, mark in watermarks.items():
            model.objects.filter(id__gt=mark).delete()
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET state = %s, escalation_level = %s, escalated_at = %s, "  # noqa: S608  # nosec B608
                "deadline_at = %s, updated_at = %s WHERE id = %s",
                [
                    (
                        state,
                        level,
                        escalated_at,
                        deadline,
                        updated,
                        pk.hex if connection.vendor == "sqlite" else pk,
                    )
                    for pk, state, level, escalated_at, deadline, updated in before
                ],
            )
            cursor.execute(f"DROP TABLE IF EXISTS {IDS_TABLE}")
    return Escalation(
        items=len(ids),
        seconds=seconds,
        baseline_seconds=baseline,
        statements=counted[0],
        escalated_once=once if events == once and levels == {1} else 0,
        second_run=again,
    )


def _originals(ids: list[Any]) -> list[tuple[Any, ...]]:
    from himaya.referrals.models import Referral

    out: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), 5000):
        out += list(
            Referral.objects.filter(pk__in=ids[start : start + 5000]).values_list(
                "id", "state", "escalation_level", "escalated_at", "deadline_at", "updated_at"
            )
        )
    return out


# --- the run ------------------------------------------------------------------------------


def grow(cases: int, bench: Bench) -> tuple[float, int]:
    """Cases up to ``cases``, then their referrals; returns (seconds, referrals added)."""
    from bench import generate, generate_referrals

    report = generate.generate(cases, world=bench.world.base)
    referrals = generate_referrals.generate_referrals(world=bench.world)
    # What was written opens like the services' rows, or the timings mean nothing.
    generate_referrals.check(sample=5)
    return report.seconds + referrals.seconds, referrals.referrals


def main() -> None:  # noqa: PLR0912, PLR0915 - one linear script
    database = common.database_name()
    total = common.scale_cases()
    first = min(max(1_000, total // 100), max(1, total // 10))
    reuse = "--reuse" in sys.argv
    os.environ.setdefault("SESSION_IDLE_SECONDS", str(24 * 3600))
    os.environ.setdefault("SESSION_ABSOLUTE_SECONDS", str(24 * 3600))
    started = time.perf_counter()
    common.setup(database, fresh=not reuse)
    from django.db import connection

    from bench import generate, generate_referrals

    vendor = connection.vendor
    bench = Bench(database)
    sample = int(os.environ.get("BENCH_PAGE_SAMPLES", "0")) or (150 if total >= 1_000_000 else 60)
    chosen = bench.agencies(sample)
    generation_s = 0.0
    if reuse and generate.case_count() >= total:
        seconds, _added = grow(total, bench)
        generation_s = seconds if _added else 0.0
        print(f"database read once in {common.prewarm():.1f} s (warm OS cache)")
        big = bench.pages(chosen)
        big_rows = dict(bench.rows_shown)
        big_statements = bench.statements(chosen)
        big_bench = bench
        common.use_side_database(database)
        side = Bench(database)
        grow(first, side)
        common.prewarm()
        small = side.pages(chosen)
        small_rows = dict(side.rows_shown)
        per_agency = side.rows_per_agency(chosen)
        small_statements = side.statements(chosen)
        print(f"pages timed at {first:,} cases; load average {os.getloadavg()[0]:.1f}")
        common.drop_side_database(database)
        bench = big_bench
    else:
        seconds, _added = grow(first, bench)
        generation_s += seconds
        common.prewarm()
        small = bench.pages(chosen)
        small_rows = dict(bench.rows_shown)
        per_agency = bench.rows_per_agency(chosen)
        small_statements = bench.statements(chosen)
        print(f"pages timed at {first:,} cases; load average {os.getloadavg()[0]:.1f}")
        seconds, _added = grow(total, bench)
        generation_s += seconds
        print(f"database read once in {common.prewarm():.1f} s (warm OS cache)")
        big = bench.pages(chosen)
        big_rows = dict(bench.rows_shown)
        big_statements = bench.statements(chosen)
    referrals = generate_referrals.referral_count()
    print(
        f"setup and generation {time.perf_counter() - started:.1f} s; {total:,} cases, "
        f"{referrals:,} referrals on {vendor}; machine: {common.machine()}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    same_rows = {
        name: bench.page(name, chosen[name], per_page=per_agency[name]) for name, _r, _t in PAGES
    }
    print(f"pages timed at {total:,} cases; load average {os.getloadavg()[0]:.1f}")
    if "--explain" in sys.argv:
        bench.explain(chosen)
    wanted = min(ESCALATION_ITEMS, max(1, referrals // 3))
    escalated = escalation(wanted)

    scale = f"{total:,} cases, {referrals:,} referrals"
    small_scale = f"{first:,} cases"
    rows: list[dict[str, Any]] = []
    for name, role, tab in PAGES:
        timing, before = big[name], small[name]
        rows.append(
            common.row(
                name=f"referrals.queue.page.{name}",
                metric=(
                    f"p95 server time of /referrals/?tab={tab} for a {role} (test client), "
                    "first page of up to 50"
                ),
                value=round(timing.p95 * 1000, 2),
                unit="ms",
                scale=scale,
                database=vendor,
                compared_to=(
                    f"the same at {small_scale}, same run: p95 {before.p95 * 1000:.2f} ms "
                    f"(p50 here {timing.p50 * 1000:.2f} ms, there {before.p50 * 1000:.2f} ms; "
                    f"{big_rows.get(name, 0):.0f} rows per page here, "
                    f"{small_rows.get(name, 0):.0f} there)"
                ),
                ratio=round(timing.p95 / before.p95, 2),
            )
        )
    for name, _role, tab in PAGES:
        timing, before = same_rows[name], small[name]
        rows.append(
            common.row(
                name=f"referrals.queue.page.{name}.same_rows",
                metric=(
                    f"p95 server time of /referrals/?tab={tab}, each agency's page cut to the "
                    "rows it held at the first stage (same work per page at both scales)"
                ),
                value=round(timing.p95 * 1000, 2),
                unit="ms",
                scale=scale,
                database=vendor,
                compared_to=(
                    f"the same page at {small_scale}, same run: p95 {before.p95 * 1000:.2f} ms "
                    f"(p50 here {timing.p50 * 1000:.2f} ms, there {before.p50 * 1000:.2f} ms; "
                    f"{small_rows.get(name, 0):.0f} rows per page at both)"
                ),
                ratio=round(timing.p95 / before.p95, 2),
            )
        )
    for name, _role, _tab in PAGES:
        count, before_count = big_statements[name], small_statements[name]
        rows.append(
            common.row(
                name=f"referrals.queue.page.{name}.statements",
                metric="SQL statements per page (transaction control aside), audit included",
                value=count,
                unit="queries",
                scale=scale,
                database=vendor,
                compared_to=f"the same page at {small_scale}, same run: {before_count} queries",
                ratio=round(count / max(1, before_count), 2),
            )
        )
    projected = escalated.seconds * ESCALATION_ITEMS / max(1, escalated.items)
    rows.append(
        common.row(
            name="referrals.escalation.run",
            metric=(
                f"one run of the scheduled job referrals.escalate_overdue over "
                f"{escalated.items:,} due referrals (every one escalated once: "
                f"{escalated.escalated_once:,}; a second run: {escalated.second_run})"
            ),
            value=round(escalated.seconds, 2),
            unit="s",
            scale=scale,
            database=vendor,
            compared_to=(
                f"a bare UPDATE of the same {escalated.items:,} rows, same run: "
                f"{escalated.baseline_seconds:.2f} s ({projected:.1f} s per 100,000 due items "
                f"at this rate)"
            ),
            ratio=round(escalated.seconds / max(escalated.baseline_seconds, 1e-6), 1),
        )
    )
    rows.append(
        common.row(
            name="referrals.escalation.statements",
            metric=f"SQL statements of that run ({escalated.items:,} due referrals)",
            value=escalated.statements,
            unit="queries",
            scale=scale,
            database=vendor,
            compared_to="the bare UPDATE: 1",
            ratio=escalated.statements,
        )
    )
    if generation_s:
        rows.append(
            common.row(
                name="generate.referrals",
                metric="bulk generation time of cases and referrals (sealed, 2 stages)",
                value=round(generation_s, 1),
                unit="s",
                scale=scale,
                database=vendor,
                compared_to="referrals per second",
                ratio=round(referrals / generation_s, 1),
            )
        )
    common.print_rows(rows)
    if "--no-results" not in sys.argv:
        common.write_results("referrals", rows)
    failures = []
    for name, timing in big.items():
        if timing.p95 > PAGE_TARGET_S:
            failures.append(f"page {name} p95 {timing.p95 * 1000:.1f} ms > 50 ms")
    for name, timing in same_rows.items():
        before = small[name]
        if timing.p95 > 1.5 * before.p95:
            failures.append(
                f"page {name} (same rows per page) grew x{timing.p95 / before.p95:.2f} > 1.5"
            )
    for name, count in big_statements.items():
        if count > small_statements[name]:
            failures.append(
                f"page {name}: {count} SQL statements, {small_statements[name]} at {small_scale}"
            )
    if projected > ESCALATION_TARGET_S:
        failures.append(
            f"escalation {projected:.1f} s per 100,000 due items > {ESCALATION_TARGET_S:.0f} s"
        )
    if escalated.escalated_once != escalated.items or escalated.second_run:
        failures.append("escalation: not every due referral was escalated exactly once")
    for failure in failures:
        print("TARGET MISSED:", failure)


if __name__ == "__main__":
    main()
