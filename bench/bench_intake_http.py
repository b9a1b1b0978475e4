"""The full intake through the API, against a bare endpoint on the same server and database
(issue 4 target: the intake sustains at least half the bare endpoint's throughput).

    BENCH_SCALE=small .venv/bin/python bench/bench_intake_http.py --database sqlite

Reuses the scratch database that ``bench/bench_cases.py`` left at this scale (or generates
one), starts a real uvicorn server on 127.0.0.1 (a free port, one worker, as ``make run``)
with ``bench.bench_settings`` — Himaya's settings plus the two yardsticks of
``bench.bench_urls`` — and drives it with concurrent clients (threads, ``httpx``, keep-alive), each
for a fixed time:

* ``POST /api/bench/bare-insert``: parse the JSON body, insert one plain row, commit;
* ``POST /api/bench/v1/intake-validate``: the intake without its writes (the same token
  authentication, schema and validation; nothing written): the floor, what any intake
  endpoint of this stack pays before it writes anything;
* ``POST /api/v1/cases/intake``: the whole intake (token authentication with the
  ``cases:write`` scope, validation, her data key, sealed fields, blind indexes, incident,
  perpetrator and his key, consents, timeline, prior-contact and repeat-perpetrator
  detection, audit events), each client acting for an officer of a different unit.

All three get the same body (a realistic intake with a new woman each time). Prints one line per
figure and writes ``bench/results/intake_http.json``.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess  # nosec B404 - our own server, started and stopped here
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

CLIENTS = 8
WARM_UP_S = 3.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class Phase:
    ok: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    #: CPU seconds the server process, and the database server's processes (PostgreSQL;
    #: SQLite runs inside the server), spent during the counted window.
    server_cpu_s: float = 0.0
    database_cpu_s: float = 0.0

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def cpu_ms(self, seconds: float) -> float:
        """CPU milliseconds per successful request. Requests cut by the window's edges (at
        most two per client) cost CPU but are not counted: a slight overestimate, the same
        for every endpoint."""
        return seconds * 1000 / self.ok if self.ok else 0.0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_ticks(pids: Iterable[int]) -> dict[int, int]:
    """User plus system CPU clock ticks of each process still running, from /proc (Linux;
    nothing elsewhere)."""
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1]
        except OSError:
            continue
        values = fields.split()
        ticks[pid] = int(values[11]) + int(values[12])  # utime, stime (fields 14 and 15)
    return ticks


def database_pids(vendor: str) -> list[int]:
    """The PostgreSQL server's processes on this machine now (postmaster, backends,
    writers); none for SQLite, which runs in the server process."""
    if vendor != "postgresql":
        return []
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if command.startswith(b"postgres"):
            pids.append(int(entry.name))
    return pids


class Payloads:
    """Intake bodies: a new woman each time, living where the client's unit serves."""

    def __init__(self, world: Any, seed: int) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.today = datetime.now(UTC).date()

    def body(self, unit: Any) -> dict[str, Any]:
        from bench.generate import CIN_LETTERS, FAMILY_NAMES, GIVEN_NAMES, NARRATIVE_AR, a_man

        with self.lock:
            rng = self.rng
            given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
            arabic = rng.random() < 0.5
            commune = rng.choice(unit.communes)
            born = date(1975, 1, 1) + timedelta(days=rng.randrange(30 * 365))
            prefix = rng.choice(self.world.phone_prefixes)
            phone = f"0{prefix}{rng.randrange(10**6):06d}"
            cin = f"{rng.choice(CIN_LETTERS)}{rng.randrange(1, 10**6)}"
            his_name, his_phone, his_cin, his_age = a_man(rng, self.world.phone_prefixes)
            narrative = " ".join(rng.sample(NARRATIVE_AR, 5))
        return {
            "channel": "walk_in",
            "survivor": {
                "full_name": f"{given[1]} {family[1]}" if arabic else f"{given[0]} {family[0]}",
                "phone": phone,
                "cin": cin,
                "date_of_birth": born.isoformat(),
                "address": "Rue 12, n° 4",
                "residence_commune_id": commune,
                "preferred_language": "ary",
                "safe_contact": {"channel": "phone", "safe_times": "9h-12h"},
            },
            "incidents": [
                {
                    "occurred_on": (self.today - timedelta(days=2)).isoformat(),
                    "commune_id": commune,
                    "forms": ["physical", "psychological"],
                    "context": ["intimate_partner"],
                }
            ],
            "perpetrators": [
                {
                    "relationship": "spouse",
                    "full_name": his_name,
                    "phone": his_phone,
                    "cin": his_cin,
                    "age_range": his_age,
                }
            ],
            "consents": [
                {"purpose": "statistics", "granted": True},
                {
                    "purpose": "share_prosecutor",
                    "granted": True,
                    "scope": ["identity", "incidents", "narrative"],
                },
            ],
            "narrative": narrative,
            "interview": {
                "private_room": "yes",
                "interviewer_gender": "woman",
                "interviewer_gender_chosen": True,
            },
        }


@dataclass(frozen=True, slots=True)
class Meter:
    """The processes whose CPU a phase measures: the server, and the database's (listed
    at each reading: the pool opens backends as the load grows)."""

    server_pid: int
    vendor: str

    def read(self) -> tuple[dict[int, int], dict[int, int]]:
        return cpu_ticks([self.server_pid]), cpu_ticks(database_pids(self.vendor))

    @staticmethod
    def seconds(before: dict[int, int], after: dict[int, int]) -> float:
        """CPU seconds spent between two readings (a process started since counts whole;
        one that ended since is lost, as a backend of the pool rarely does)."""
        ticks = sum(value - before.get(pid, 0) for pid, value in after.items())
        return ticks / CLOCK_TICKS


def drive(
    base: str,
    path: str,
    headers_for: list[dict[str, str]],
    bodies: list[Any],
    seconds: float,
    *,
    idempotent: bool,
    meter: Meter,
) -> Phase:
    """``CLIENTS`` threads posting for ``seconds`` (after a warm-up that is not counted);
    ``meter`` is read at the counted window's start and end."""
    import httpx

    phase = Phase()
    lock = threading.Lock()
    start_at = time.perf_counter() + WARM_UP_S
    stop_at = start_at + seconds

    def measure() -> None:
        time.sleep(max(0.0, start_at - time.perf_counter()))
        server_0, database_0 = meter.read()
        time.sleep(max(0.0, stop_at - time.perf_counter()))
        server_1, database_1 = meter.read()
        phase.server_cpu_s = Meter.seconds(server_0, server_1)
        phase.database_cpu_s = Meter.seconds(database_0, database_1)

    def client(n: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while True:
                now = time.perf_counter()
                if now >= stop_at:
                    return
                headers = dict(headers_for[n])
                if idempotent:
                    headers["Idempotency-Key"] = uuid.uuid4().hex
                body = bodies[n]()
                started = time.perf_counter()
                response = http.post(path, json=body, headers=headers)
                ended = time.perf_counter()
                if started < start_at or ended > stop_at:
                    continue
                with lock:
                    if response.status_code in (200, 201):
                        phase.ok += 1
                        phase.latencies.append(ended - started)
                    else:
                        phase.errors[response.status_code] = (
                            phase.errors.get(response.status_code, 0) + 1
                        )

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(headers_for))]
    threads.append(threading.Thread(target=measure))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = seconds
    return phase


def intake_statements(headers: dict[str, str], body: dict[str, Any]) -> int:
    """SQL statements of one intake, in process (Django's test client, same settings)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = Client().post(
            "/api/v1/cases/intake",
            body,
            content_type="application/json",
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        )
    assert response.status_code == 201, response.status_code
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return sum(1 for q in captured.captured_queries if not q["sql"].startswith(control))


def memory_kib(pid: int, field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in KiB, from /proc (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_server(database: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **common.environment(database),
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
        "DATABASE_POOL": "true",  # as in production (common.setup turns it off here)
        "PYTHONPATH": str(common.ROOT),
    }
    env = {k: v for k, v in env.items() if v != ""}
    command = [
        str(common.ROOT / ".venv" / "bin" / "uvicorn"),
        "himaya.asgi:application",
        "--app-dir",
        str(common.ROOT / "src"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=env, cwd=common.ROOT)  # nosec B603
    import httpx

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the benchmark server exited while starting")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise SystemExit("the benchmark server did not answer within 90 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def main() -> None:  # noqa: PLR0915 - one linear script
    database = common.database_name()
    total = common.scale_cases()
    seconds = 30.0 if total >= 1_000_000 else 10.0
    common.setup(database, fresh=False)
    from django.db import connection

    from bench import generate
    from bench.bench_urls import BARE_TABLE
    from himaya.accounts import tokens
    from himaya.accounts.models import Membership
    from himaya.core.actor import Actor

    vendor = connection.vendor
    world = generate.load_world()
    if generate.case_count() < total:
        generate.generate(total, world=world)
    cases = generate.case_count()
    pk = "integer PRIMARY KEY AUTOINCREMENT" if vendor == "sqlite" else "bigserial PRIMARY KEY"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
        cursor.execute(
            f"CREATE TABLE {BARE_TABLE} (id {pk}, created_at timestamp with time zone, "
            "channel varchar(16), size integer)"
        )
    # One officer of each of the busiest units: each client acts for another unit.
    units = sorted(world.units, key=lambda u: -u.weight)[:CLIENTS]
    headers: list[dict[str, str]] = []
    for unit in units:
        membership = Membership.objects.select_related("user").get(
            user_id=unit.officer_ids[0], agency_id=unit.id
        )
        actor = Actor(
            user_id=membership.user_id,
            username=membership.user.username,
            role=membership.role,
            agency_id=unit.id,
            membership_id=membership.pk,
        )
        _, token = tokens.token_create(
            actor=actor, name="bench intake", scopes=["cases:write"], expires_in_days=1
        )
        headers.append({"Authorization": f"Bearer {token}"})
    payloads = Payloads(world, seed=len(headers) + cases)
    bodies = [lambda u=u: payloads.body(u) for u in units]
    statements = intake_statements(headers[0], bodies[0]())
    common.prewarm()
    connection.close()

    port = free_port()
    server = start_server(database, port)
    base = f"http://127.0.0.1:{port}"
    try:
        idle_kib = memory_kib(server.pid, "VmRSS")
        meter = Meter(server_pid=server.pid, vendor=vendor)
        bare = drive(
            base,
            "/api/bench/bare-insert",
            [{}] * len(units),
            bodies,
            seconds,
            idempotent=False,
            meter=meter,
        )
        floor = drive(
            base,
            "/api/bench/v1/intake-validate",
            headers,
            bodies,
            seconds,
            idempotent=True,
            meter=meter,
        )
        intake = drive(
            base, "/api/v1/cases/intake", headers, bodies, seconds, idempotent=True, meter=meter
        )
        peak_kib = memory_kib(server.pid, "VmHWM")
    finally:
        stop_server(server)
    load = os.getloadavg()[0]
    scale = f"{total:,} cases, {len(units)} concurrent clients, {seconds:.0f} s per endpoint"

    def ms(latencies: list[float], pct: float) -> float:
        return common.percentile(latencies, pct) * 1000

    def latency_row(name: str, pct: int, note: str) -> dict[str, Any]:
        """The intake's ``pct``-th percentile latency against the bare endpoint's."""
        return common.row(
            name=name,
            metric=f"p{pct} latency of one intake under that load",
            value=round(ms(intake.latencies, pct), 1),
            unit="ms",
            scale=scale,
            database=vendor,
            compared_to=(
                f"p{pct} latency of the bare endpoint under the same load: "
                f"{ms(bare.latencies, pct):.1f} ms{note}"
            ),
            ratio=round(ms(intake.latencies, pct) / ms(bare.latencies, pct), 2),
        )

    def cpu_row(part: str, metric: str) -> dict[str, Any]:
        """CPU milliseconds per intake of ``part`` (``server`` or ``database``), against
        the bare endpoint's per request (and the floor's, in words)."""

        def per_request(phase: Phase) -> float:
            return phase.cpu_ms(getattr(phase, f"{part}_cpu_s"))

        return common.row(
            name=f"cases.intake_http.{part}_cpu",
            metric=metric,
            value=round(per_request(intake), 2),
            unit="ms",
            scale=scale,
            database=vendor,
            compared_to=(
                f"per bare request: {per_request(bare):.2f} ms; per floor request: "
                f"{per_request(floor):.2f} ms (same run)"
            ),
            ratio=round(per_request(intake) / per_request(bare), 2) if per_request(bare) else 0.0,
        )

    p50_note = (
        f" (p50 here {ms(intake.latencies, 50):.1f} ms, bare {ms(bare.latencies, 50):.1f} ms)"
    )
    rows = [
        common.row(
            name="cases.intake_http.throughput",
            metric="successful POST /api/v1/cases/intake per second (uvicorn, 1 worker)",
            value=round(intake.throughput, 1),
            unit="req/s",
            scale=scale,
            database=vendor,
            compared_to=(
                f"bare endpoint inserting one plain row, same server and database: "
                f"{bare.throughput:.1f} req/s (same run)"
            ),
            ratio=round(intake.throughput / bare.throughput, 3),
        ),
        common.row(
            name="cases.intake_http.floor",
            metric=(
                "POST of the same intake to an endpoint that authenticates, parses and "
                "validates it as the intake does, and writes nothing (req/s)"
            ),
            value=round(floor.throughput, 1),
            unit="req/s",
            scale=scale,
            database=vendor,
            compared_to=f"bare endpoint: {bare.throughput:.1f} req/s (same run)",
            ratio=round(floor.throughput / bare.throughput, 3),
        ),
        cpu_row("server", "CPU of the server process per successful intake, under that load"),
        latency_row("cases.intake_http.latency", 95, p50_note),
        latency_row("cases.intake_http.latency_p99", 99, ""),
        common.row(
            name="web.peak_rss",
            metric="peak resident memory (VmHWM) of the uvicorn worker after both loads",
            value=round(peak_kib / 1024, 1),
            unit="MiB",
            scale=scale,
            database=vendor,
            compared_to=f"its resident memory once started, before any load: {idle_kib / 1024:.1f}"
            " MiB",
            ratio=round(peak_kib / idle_kib, 2) if idle_kib else 0.0,
        ),
        common.row(
            name="cases.intake.statements",
            metric="SQL statements of one intake (transaction control aside), audit included",
            value=statements,
            unit="queries",
            scale=scale,
            database=vendor,
            compared_to="the bare endpoint runs 1 INSERT",
            ratio=statements,
        ),
    ]
    if vendor == "postgresql":
        rows.insert(
            3, cpu_row("database", "CPU of the PostgreSQL server's processes per successful intake")
        )
    common.print_rows(rows)
    print(
        f"{cases:,} cases in the database; intake: {intake.ok} ok, errors {intake.errors}; "
        f"validate only: {floor.ok} ok, errors {floor.errors}; "
        f"bare: {bare.ok} ok, errors "
        f"{bare.errors}; load average {load:.1f}; machine: {common.machine()}"
    )
    common.write_results("intake_http", rows)
    if intake.errors or bare.errors or floor.errors:
        print("WARNING: some requests failed; see the error counts above")
    if intake.throughput < 0.5 * bare.throughput:
        print(
            f"TARGET MISSED: intake sustains x{intake.throughput / bare.throughput:.2f} of the "
            "bare endpoint's throughput (target x0.5)"
        )


if __name__ == "__main__":
    main()
