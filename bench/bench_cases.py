"""The case file at scale (issue 4 targets, with 1,000,000 cases on SQLite and PostgreSQL):

* look-up by phone or CIN: p95 <= 5 ms in process;
* duplicate candidates by name: p95 <= 50 ms;
* a unit's queue page: p95 <= 50 ms server time, and no more than 1.5x its time at
  10,000 cases.

    BENCH_SCALE=small .venv/bin/python bench/bench_cases.py --database sqlite
    BENCH_SCALE=full  .venv/bin/python bench/bench_cases.py --database postgresql

Builds a fresh scratch database (``bench/common.py``) and grows it with the generator
(``bench/generate.py``) in two stages: 1 % of the scale first (10,000 cases at full scale,
1,000 at small), where the queue pages are timed, then the whole scale, where everything is
timed again. Each timing is compared with a baseline measured in the same run:

* look-ups and duplicate detection against the same question asked of plaintext indexed
  columns in a scratch table (what they would cost without encryption, blind indexes,
  policy and audit);
* the queue pages against themselves at the first stage.

Every call goes through the real selectors (policy, blind indexes, audit event written and
committed) or the real pages (middleware, session, template) with Django's test client.
Prints one line per figure and writes ``bench/results/cases.json``; the scratch database is
left for ``bench/bench_intake_http.py`` (``python bench/generate.py --drop`` removes it).
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

SEED = 4_2026
QUEUE_VIEWS = ("new", "mine", "overdue", "awaiting_approval")
#: SQL statements per call, measured at the full scale of the run.
STATEMENTS: dict[str, int] = {}


@dataclass(frozen=True, slots=True)
class Sample:
    """One of her records, as the officer at the desk would type it."""

    unit_id: int
    survivor_id: str
    phone: str
    cin: str
    name: str
    born: date | None
    commune_id: int | None


@dataclass(frozen=True, slots=True)
class Staff:
    actor: Any
    user_id: int


class Bench:
    def __init__(self, database: str, total: int) -> None:
        from bench import generate

        self.generate = generate
        self.database = database
        self.total = total
        self.rng = random.Random(SEED)
        self.world = generate.load_world()
        self.staff = self._staff()
        self.weights = [u.weight for u in self.world.units]
        #: Mean rows on the queue pages last timed, by view.
        self.rows_shown: dict[str, float] = {}

    # --- people -------------------------------------------------------------------------

    def _staff(self) -> dict[int, list[Staff]]:
        from himaya.accounts.models import Membership
        from himaya.core.actor import Actor

        staff: dict[int, list[Staff]] = {}
        rows = Membership.objects.filter(user__username__startswith="bench.u").values_list(
            "id", "user_id", "user__username", "agency_id", "role"
        )
        for membership_id, user_id, username, agency_id, role in rows:
            actor = Actor(
                user_id=user_id,
                username=username,
                role=role,
                agency_id=agency_id,
                membership_id=membership_id,
            )
            staff.setdefault(agency_id, []).append(Staff(actor=actor, user_id=user_id))
        for members in staff.values():
            members.sort(key=lambda s: (s.actor.role != "unit_chief", s.user_id))
        return staff

    def unit(self) -> int:
        """A unit, busier ones more often (they search and open their queue more)."""
        return self.rng.choices(self.world.units, weights=self.weights)[0].id

    def officer(self, unit_id: int) -> Any:
        return self.rng.choice(self.staff[unit_id][1:]).actor

    def searcher(self, sample: Sample) -> Any:
        """An officer of her own unit half of the time, of another unit otherwise."""
        unit = sample.unit_id if self.rng.random() < 0.5 else self.unit()
        return self.officer(unit)

    # --- her records, sampled -----------------------------------------------------------

    def samples(self, count: int) -> list[Sample]:
        """Random records, read back through the models (which proves they open)."""
        from django.db import connection

        from himaya.cases.models import Survivor

        table = self.generate.BASELINE_TABLE
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT max(id) FROM {table}")  # noqa: S608  # nosec B608
            (top,) = cursor.fetchone()
            ids = self.rng.sample(range(1, top + 1), min(count, top))
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"SELECT survivor_id, unit_id FROM {table} WHERE id IN ({marks})",  # noqa: S608  # nosec B608
                ids,
            )
            units = dict(cursor.fetchall())
        pks = [uuid.UUID(pk) for pk in units]
        survivors = Survivor.objects.filter(pk__in=pks).select_related("data_key")
        out = []
        for survivor in survivors:
            born = str(survivor.date_of_birth or "")
            out.append(
                Sample(
                    unit_id=units[str(survivor.pk)],
                    survivor_id=str(survivor.pk),
                    phone=str(survivor.phone or ""),
                    cin=str(survivor.cin or ""),
                    name=str(survivor.full_name or ""),
                    born=date.fromisoformat(born) if born else None,
                    commune_id=survivor.residence_commune_id,
                )
            )
        self.rng.shuffle(out)
        return out

    # --- timing -------------------------------------------------------------------------

    @staticmethod
    def timed(
        calls: list[Callable[[], object]], *, cold_keys: bool = False, warm_all: bool = False
    ) -> common.Timing:
        """Seconds per call after a warm-up: the first 20 calls (connections, caches,
        imports), or every call once (``warm_all``: a page as its staff reload it, so the
        order in which pages are timed does not decide which one pays the disk)."""
        from himaya.core.crypto import clear_data_key_cache

        for call in calls if warm_all else calls[: min(20, len(calls))]:
            call()
        before = clear_data_key_cache if cold_keys else None
        return common.time_calls(calls, lambda call: call(), before=before)

    def baseline(self, sql: str, params: list[list[Any]]) -> common.Timing:
        from django.db import connection

        def run(args: list[Any]) -> object:
            with connection.cursor() as cursor:
                cursor.execute(sql, args)
                return cursor.fetchall()

        return self.timed([lambda a=a: run(a) for a in params])  # type: ignore[misc]

    # --- the figures --------------------------------------------------------------------

    def lookups(self, samples: list[Sample]) -> dict[str, tuple[common.Timing, common.Timing]]:
        from himaya.cases import selectors

        table = self.generate.BASELINE_TABLE
        with_phone = [s for s in samples if s.phone]
        with_cin = [s for s in samples if s.cin]
        # Her own file must be found, or the timing means nothing.
        for sample in with_phone[:50]:
            actor = self.officer(sample.unit_id)
            found = selectors.find_by_phone(actor=actor, phone=sample.phone)
            assert any(str(m.case.survivor_id) == sample.survivor_id for m in found.own), (
                "find_by_phone missed a generated survivor"
            )
        phone = self.timed(
            [
                lambda s=s: selectors.find_by_phone(actor=self.searcher(s), phone=s.phone)  # type: ignore[misc]
                for s in with_phone
            ]
        )
        phone_base = self.baseline(
            f"SELECT survivor_id, unit_id FROM {table} WHERE phone = %s",  # noqa: S608  # nosec B608
            [[s.phone] for s in with_phone],
        )
        cin = self.timed(
            [
                lambda s=s: selectors.find_by_cin(actor=self.searcher(s), cin=s.cin)  # type: ignore[misc]
                for s in with_cin
            ]
        )
        cin_base = self.baseline(
            f"SELECT survivor_id, unit_id FROM {table} WHERE cin = %s",  # noqa: S608  # nosec B608
            [[s.cin] for s in with_cin],
        )
        named = [s for s in samples if s.name]
        for sample in named[:50]:
            found = selectors.duplicate_candidates(
                actor=self.officer(sample.unit_id),
                full_name=sample.name,
                date_of_birth=sample.born,
                commune_id=sample.commune_id,
            )
            assert any(str(m.case.survivor_id) == sample.survivor_id for m in found.own), (
                "duplicate_candidates missed a generated survivor"
            )
        duplicates = self.timed(
            [
                lambda s=s: selectors.duplicate_candidates(  # type: ignore[misc]
                    actor=self.searcher(s),
                    full_name=s.name,
                    date_of_birth=s.born,
                    commune_id=s.commune_id,
                )
                for s in named
            ]
        )
        keys = self._name_keys(named)
        duplicates_base = self.baseline(
            f"SELECT survivor_id, unit_id FROM {table} "  # noqa: S608  # nosec B608
            "WHERE (name_key = %s AND date_of_birth = %s) OR (unit_id = %s AND name_key = %s)",
            [
                [
                    keys[s.survivor_id],
                    s.born.isoformat() if s.born else None,
                    s.unit_id,
                    keys[s.survivor_id],
                ]
                for s in named
            ],
        )
        by_name = self.timed(
            [
                lambda s=s: selectors.find_by_name(  # type: ignore[misc]
                    actor=self.officer(s.unit_id), name=s.name
                )
                for s in named
            ]
        )
        by_name_base = self.baseline(
            f"SELECT survivor_id FROM {table} WHERE unit_id = %s AND name_key = %s",  # noqa: S608  # nosec B608
            [[s.unit_id, keys[s.survivor_id]] for s in named],
        )
        # The same selectors, their audit event written but rolled back instead of committed:
        # what the request costs in process, apart from making the audit event durable.
        phone_work = self.timed(
            [
                lambda s=s: uncommitted(  # type: ignore[misc]
                    lambda: selectors.find_by_phone(actor=self.searcher(s), phone=s.phone)
                )
                for s in with_phone
            ]
        )
        cin_work = self.timed(
            [
                lambda s=s: uncommitted(  # type: ignore[misc]
                    lambda: selectors.find_by_cin(actor=self.searcher(s), cin=s.cin)
                )
                for s in with_cin
            ]
        )
        return {
            "phone.uncommitted": (phone_work, phone_base),
            "cin.uncommitted": (cin_work, cin_base),
            "phone": (phone, phone_base),
            "cin": (cin, cin_base),
            "duplicates": (duplicates, duplicates_base),
            "name": (by_name, by_name_base),
        }

    @staticmethod
    def _name_keys(samples: list[Sample]) -> dict[str, str]:
        from himaya.core.names import full_name_key

        return {s.survivor_id: full_name_key(s.name) for s in samples}

    # --- queues -------------------------------------------------------------------------

    def queue_units(self, count: int) -> list[int]:
        return [self.unit() for _ in range(count)]

    def queue_selector(self, units: list[int], view: str) -> common.Timing:
        """The selector and what a list shows of each case (her name opened with her key,
        as the API's queue does), with the data-key cache emptied before each page."""
        from himaya.cases import selectors

        shown: list[int] = []

        def page(unit: int) -> object:
            actor = self.officer(unit)
            result = selectors.unit_queue(actor=actor, view=view, limit=50)
            shown.append(len(result.items))
            return [str(case.survivor.full_name) for case in result.items]

        try:
            return self.timed([lambda u=u: page(u) for u in units], cold_keys=True, warm_all=True)  # type: ignore[misc]
        finally:
            # How full the pages were: a page of 50 rows costs more than one of 5, whatever
            # the size of the database.
            self.rows_shown[view] = sum(shown) / max(1, len(shown))

    def clients(self, units: list[int]) -> dict[int, tuple[Any, str]]:
        """A signed-in browser (password + TOTP through the real pages) and an API token
        for one officer of each unit."""
        from django.test import Client

        from himaya.accounts import services, tokens
        from himaya.accounts.models import User
        from himaya.accounts.totp import acceptable_code
        from himaya.core.actor import SYSTEM

        password = "bench-" + uuid.uuid4().hex
        out: dict[int, tuple[Any, str]] = {}
        for unit in sorted(set(units)):
            staff = self.staff[unit][1]
            user = User.objects.get(pk=staff.user_id)
            user.set_password(password)
            user.save(update_fields=["password"])
            device = services.totp_provision(actor=SYSTEM, user=user)
            client = Client()
            response = client.post(
                "/accounts/login/", {"username": user.username, "password": password}
            )
            assert response.status_code == 302, response.status_code
            response = client.post("/accounts/login/code/", {"code": acceptable_code(device)})
            assert response.status_code == 302, response.status_code
            _, token = tokens.token_create(
                actor=staff.actor, name="bench", scopes=["cases:read"], expires_in_days=1
            )
            out[unit] = (client, token)
        return out

    def queue_page(
        self, units: list[int], view: str, clients: dict[int, tuple[Any, str]]
    ) -> common.Timing:
        """Server time of the staff page ``/cases/?tab=<view>`` (middleware, session, staff
        gate, selector, template), with Django's test client: no network, no browser."""

        def get(unit: int) -> object:
            response = clients[unit][0].get("/cases/", {"tab": view})
            assert response.status_code == 200, response.status_code
            return response

        return self.timed([lambda u=u: get(u) for u in units], cold_keys=True, warm_all=True)  # type: ignore[misc]

    def queue_rows(self, units: list[int]) -> dict[tuple[int, str], int]:
        """How many rows each unit's first page of each view holds (at this stage)."""
        from himaya.cases import selectors

        return {
            (unit, view): len(
                selectors.unit_queue(actor=self.officer(unit), view=view, limit=50).items
            )
            for unit in sorted(set(units))
            for view in QUEUE_VIEWS
        }

    def queue_page_same_rows(
        self,
        units: list[int],
        view: str,
        clients: dict[int, tuple[Any, str]],
        rows: dict[tuple[int, str], int],
    ) -> common.Timing:
        """``queue_page`` with each unit's page cut to the rows it held at the first stage
        (``rows``): the same work per page at both scales, so that the ratio measures what
        the number of cases costs and not that a busier database fills the page."""
        from himaya.cases import views

        full = views.QUEUE_PER_PAGE

        def get(unit: int) -> object:
            views.QUEUE_PER_PAGE = max(1, rows[(unit, view)])
            try:
                response = clients[unit][0].get("/cases/", {"tab": view})
            finally:
                views.QUEUE_PER_PAGE = full
            assert response.status_code == 200, response.status_code
            return response

        return self.timed([lambda u=u: get(u) for u in units], cold_keys=True, warm_all=True)  # type: ignore[misc]

    def queue_api(
        self, units: list[int], view: str, clients: dict[int, tuple[Any, str]]
    ) -> common.Timing:
        """Server time of ``GET /api/v1/cases/queue`` with a token (names included)."""
        from django.test import Client

        api = Client()

        def get(unit: int) -> object:
            response = api.get(
                "/api/v1/cases/queue",
                {"view": view, "limit": "50"},
                headers={"authorization": f"Bearer {clients[unit][1]}"},
            )
            assert response.status_code == 200, response.status_code
            return response

        return self.timed([lambda u=u: get(u) for u in units], cold_keys=True, warm_all=True)  # type: ignore[misc]

    def statements(
        self, samples: list[Sample], unit: int, clients: dict[int, tuple[Any, str]]
    ) -> dict[str, int]:
        """SQL statements per call (transaction control aside): a figure the machine's load
        cannot blur, and the one that must not grow with the number of cases."""
        from himaya.cases import selectors

        sample = next(s for s in samples if s.phone and s.cin and s.name)
        actor = self.officer(sample.unit_id)
        client, token = clients[unit]
        calls: dict[str, Callable[[], object]] = {
            "find_by_phone": lambda: selectors.find_by_phone(actor=actor, phone=sample.phone),
            "find_by_cin": lambda: selectors.find_by_cin(actor=actor, cin=sample.cin),
            "duplicate_candidates": lambda: selectors.duplicate_candidates(
                actor=actor,
                full_name=sample.name,
                date_of_birth=sample.born,
                commune_id=sample.commune_id,
            ),
            "queue.page.new": lambda: client.get("/cases/", {"tab": "new"}),
            "queue.api.new": lambda: client.get(
                "/api/v1/cases/queue",
                {"view": "new"},
                headers={"authorization": f"Bearer {token}"},
            ),
        }
        # The fewer of two calls: a signed-in session's "last seen" stamp is written at most
        # every 15 seconds (accounts.middleware), a statement of the clock, not of the page.
        return {name: min(count_statements(call) for _ in range(2)) for name, call in calls.items()}

    def queues(
        self, units: list[int], clients: dict[int, tuple[Any, str]]
    ) -> dict[str, common.Timing]:
        timings: dict[str, common.Timing] = {}
        for view in QUEUE_VIEWS:
            timings[f"page.{view}"] = self.queue_page(units, view, clients)
            timings[f"api.{view}"] = self.queue_api(units, view, clients)
            timings[f"selector.{view}"] = self.queue_selector(units, view)
        return timings


def count_statements(call: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return sum(1 for q in captured.captured_queries if not q["sql"].startswith(control))


def uncommitted(call: Callable[[], object]) -> None:
    """Run ``call`` in a transaction that is rolled back: everything but the commit."""
    from django.db import transaction

    with transaction.atomic():
        call()
        transaction.set_rollback(True)


def fsync_latency(folder: Path, count: int = 200) -> common.Timing:
    """One 4 KiB write + fsync on the disk of the scratch database: the floor of any
    durable commit (SQLite synchronous=FULL, PostgreSQL synchronous_commit=on)."""
    path = folder / "fsync-probe"
    samples = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(count):
            os.write(fd, b"\0" * 4096)
            started = time.perf_counter()
            os.fsync(fd)
            samples.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()
    return common.Timing(tuple(samples))


def explain(sql_and_params: list[tuple[str, list[Any]]]) -> None:
    """Print the plans of the queries that matter (``--explain``)."""
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    with connection.cursor() as cursor:
        for sql, params in sql_and_params:
            cursor.execute(prefix + sql, params)
            print("---", sql[:160].replace("\n", " "))
            for line in cursor.fetchall():
                print("   ", " ".join(str(part) for part in line))


def capture(call: Callable[[], object]) -> list[tuple[str, list[Any]]]:
    """The SQL a call runs (reads only), with its parameters, for ``explain``."""
    from django.db import connection

    seen: list[tuple[str, list[Any]]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith("SELECT") and not many:
            seen.append((sql, list(params or [])))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        call()
    return seen


def measure_big(
    bench: Bench, units: list[int], total: int, clients: dict[int, tuple[Any, str]] | None = None
) -> tuple[
    dict[str, common.Timing],
    dict[str, tuple[common.Timing, common.Timing]],
    list[Sample],
    dict[int, tuple[Any, str]],
]:
    print(f"database read once in {common.prewarm():.1f} s (warm OS cache)")
    samples = bench.samples(600 if total >= 1_000_000 else 300)
    looked = bench.lookups(samples)
    clients = clients or bench.clients(units)
    big_queues = bench.queues(units, clients)
    print(f"everything timed at {total:,} cases; load average {os.getloadavg()[0]:.1f}")
    counts = bench.statements(samples, units[0], clients)
    print("SQL statements per call:", counts)
    STATEMENTS.update(counts)
    return big_queues, looked, samples, clients


def main() -> None:  # noqa: PLR0912, PLR0915 - one linear script
    database = common.database_name()
    total = common.scale_cases()
    first = max(1_000, total // 100)
    started = time.perf_counter()
    reuse = "--reuse" in sys.argv
    # The signed-in clients are used again after the other stage (which takes longer than
    # the 15-minute idle limit on a loaded machine): sessions of the bench live longer.
    os.environ.setdefault("SESSION_IDLE_SECONDS", str(24 * 3600))
    os.environ.setdefault("SESSION_ABSOLUTE_SECONDS", str(24 * 3600))
    common.setup(database, fresh=not reuse)
    from django.db import connection

    from bench import generate

    vendor = connection.vendor
    bench = Bench(database, total)
    setup_s = time.perf_counter() - started
    queue_count = 150 if total >= 1_000_000 else 60
    units = bench.queue_units(queue_count)
    if reuse and generate.case_count() >= total:
        # A database generated earlier (bench/generate.py): time it, then build the first
        # stage in a side database with the same keys (generation is deterministic, so it
        # holds the same first cases, units and staff) and time the queues there.
        generation_s = 0.0
        generated_rows = 0
        big_queues, looked, samples, big_clients = measure_big(bench, units, total)
        big_rows = dict(bench.rows_shown)
        common.use_side_database(database)
        side = Bench(database, total)
        generate.generate(first, world=side.world)
        common.prewarm()
        small_queues = side.queues(units, side.clients(units))
        small_rows = dict(side.rows_shown)
        per_unit_rows = side.queue_rows(units)
        print(f"queues timed at {first:,} cases; load average {os.getloadavg()[0]:.1f}")
        common.drop_side_database(database)
        same_rows = {
            view: bench.queue_page_same_rows(units, view, big_clients, per_unit_rows)
            for view in QUEUE_VIEWS
        }
    else:
        report1 = generate.generate(first, world=bench.world)
        common.prewarm()
        clients = bench.clients(units)
        small_queues = bench.queues(units, clients)
        small_rows = dict(bench.rows_shown)
        per_unit_rows = bench.queue_rows(units)
        print(f"queues timed at {first:,} cases; load average {os.getloadavg()[0]:.1f}")
        report2 = generate.generate(total, world=bench.world)
        generation_s = report1.seconds + report2.seconds
        generated_rows = report1.rows + report2.rows
        print(
            f"setup {setup_s:.1f} s; generated {total:,} cases ({generated_rows:,} rows) in "
            f"{generation_s:.1f} s ({total / generation_s:,.0f} cases/s) on {vendor}; "
            f"machine: {common.machine()}; load average {os.getloadavg()[0]:.1f}"
        )
        big_queues, looked, samples, _ = measure_big(bench, units, total, clients)
        big_rows = dict(bench.rows_shown)
        same_rows = {
            view: bench.queue_page_same_rows(units, view, clients, per_unit_rows)
            for view in QUEUE_VIEWS
        }

    scale = f"{total:,} cases, {len(bench.world.units)} police units"
    small_scale = f"{first:,} cases"
    rows: list[dict[str, Any]] = []
    labels = {
        "phone": (
            "cases.find_by_phone",
            "p95 time per look-up (selector: policy, blind index, audit)",
            "same look-up on a plaintext indexed phone column (scratch table, same run)",
        ),
        "cin": (
            "cases.find_by_cin",
            "p95 time per look-up (selector: policy, blind index, audit)",
            "same look-up on a plaintext indexed CIN column (scratch table, same run)",
        ),
        "duplicates": (
            "cases.duplicate_candidates",
            "p95 time, name + date of birth + commune (selector, audited)",
            "name key + date of birth / unit + name key on plaintext indexed columns (same run)",
        ),
        "name": (
            "cases.find_by_name",
            "p95 time, name only, own unit (selector, audited)",
            "unit + name key on plaintext indexed columns (same run)",
        ),
        "phone.uncommitted": (
            "cases.find_by_phone.uncommitted",
            "p95 time, same selector, audit event rolled back instead of committed (no fsync)",
            "same look-up on a plaintext indexed phone column (scratch table, same run)",
        ),
        "cin.uncommitted": (
            "cases.find_by_cin.uncommitted",
            "p95 time, same selector, audit event rolled back instead of committed (no fsync)",
            "same look-up on a plaintext indexed CIN column (scratch table, same run)",
        ),
    }
    for key, (timing, base) in looked.items():
        name, metric, compared = labels[key]
        rows.append(
            common.row(
                name=name,
                metric=metric,
                value=round(timing.p95 * 1000, 2),
                unit="ms",
                scale=scale,
                database=vendor,
                compared_to=(
                    f"{compared}: p95 {base.p95 * 1000:.3f} ms "
                    f"(p50 here {timing.p50 * 1000:.2f} ms, baseline {base.p50 * 1000:.3f} ms)"
                ),
                ratio=round(timing.p95 / base.p95, 1),
            )
        )
    for key, timing in big_queues.items():
        kind, view = key.split(".")
        what = {
            "page": "staff page /cases/?tab=%s, server time (test client)",
            "api": "API GET /api/v1/cases/queue?view=%s, server time (test client)",
            "selector": "selector unit_queue(view=%s) + names opened, cold key cache",
        }[kind] % view
        before = small_queues[key]
        rows.append(
            common.row(
                name=f"cases.queue.{kind}.{view}",
                metric=f"p95 time of the first page (up to 50 rows): {what}",
                value=round(timing.p95 * 1000, 2),
                unit="ms",
                scale=scale,
                database=vendor,
                compared_to=(
                    f"the same at {small_scale}, same run: p95 {before.p95 * 1000:.2f} ms "
                    f"(p50 here {timing.p50 * 1000:.2f} ms, there {before.p50 * 1000:.2f} ms; "
                    f"{big_rows.get(view, 0):.0f} rows per page here, "
                    f"{small_rows.get(view, 0):.0f} there)"
                ),
                ratio=round(timing.p95 / before.p95, 2),
            )
        )
    for view, timing in same_rows.items():
        before = small_queues[f"page.{view}"]
        rows.append(
            common.row(
                name=f"cases.queue.page.{view}.same_rows",
                metric=(
                    f"p95 time of the staff page /cases/?tab={view}, each unit's page cut to "
                    "the rows it held at the first stage (same work per page at both scales)"
                ),
                value=round(timing.p95 * 1000, 2),
                unit="ms",
                scale=scale,
                database=vendor,
                compared_to=(
                    f"the same page at {small_scale}, same run: p95 {before.p95 * 1000:.2f} ms "
                    f"(p50 here {timing.p50 * 1000:.2f} ms, there {before.p50 * 1000:.2f} ms; "
                    f"{small_rows.get(view, 0):.0f} rows per page at both)"
                ),
                ratio=round(timing.p95 / before.p95, 2),
            )
        )
    for key, count in STATEMENTS.items():
        rows.append(
            common.row(
                name=f"cases.{key}.statements",
                metric="SQL statements per call (transaction control aside), audit included",
                value=count,
                unit="queries",
                scale=scale,
                database=vendor,
                compared_to="the plaintext baseline answers in 1 query",
                ratio=count,
            )
        )
    fsync = fsync_latency(common.scratch_dir(database))
    rows.append(
        common.row(
            name="disk.fsync",
            metric="p95 time of one 4 KiB write + fsync on the scratch database's disk",
            value=round(fsync.p95 * 1000, 2),
            unit="ms",
            scale=scale,
            database=vendor,
            compared_to=f"p50 {fsync.p50 * 1000:.2f} ms (every audited read commits once)",
            ratio=round(fsync.p95 / fsync.p50, 2),
        )
    )
    if generation_s:
        rows.append(
            common.row(
                name="generate.cases",
                metric="bulk generation time (sealed, indexed, 2 stages)",
                value=round(generation_s, 1),
                unit="s",
                scale=scale,
                database=vendor,
                compared_to="cases per second",
                ratio=round(total / generation_s, 1),
            )
        )
    common.print_rows(rows)
    common.write_results("cases", rows)
    if "--explain" in sys.argv:
        sample = next(s for s in samples if s.phone)
        from himaya.cases import selectors

        actor = bench.officer(sample.unit_id)
        explain(capture(lambda: selectors.find_by_phone(actor=actor, phone=sample.phone)))
        explain(
            capture(
                lambda: selectors.duplicate_candidates(
                    actor=actor,
                    full_name=sample.name,
                    date_of_birth=sample.born,
                    commune_id=sample.commune_id,
                )
            )
        )
        for view in QUEUE_VIEWS:
            explain(capture(lambda v=view: selectors.unit_queue(actor=actor, view=v)))  # type: ignore[misc]
    failures = []
    for key in ("phone", "cin"):
        if looked[key][0].p95 > 0.005:
            failures.append(f"look-up by {key} p95 {looked[key][0].p95 * 1000:.1f} ms > 5 ms")
    if looked["duplicates"][0].p95 > 0.05:
        failures.append(f"duplicates p95 {looked['duplicates'][0].p95 * 1000:.1f} ms > 50 ms")
    for key, timing in big_queues.items():
        if key.startswith("page.") and timing.p95 > 0.05:
            failures.append(f"{key} p95 {timing.p95 * 1000:.1f} ms > 50 ms")
    for view, timing in same_rows.items():
        before = small_queues[f"page.{view}"]
        if timing.p95 > 1.5 * before.p95:
            failures.append(
                f"page.{view} (same rows per page) grew x{timing.p95 / before.p95:.2f} > 1.5"
            )
    for failure in failures:
        print("TARGET MISSED:", failure)


if __name__ == "__main__":
    main()
