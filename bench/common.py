"""Plumbing shared by the benchmarks: a scratch database, timing helpers, result files.

A benchmark picks its database and scale from the environment (or its command line):

* ``BENCH_DATABASE`` — ``sqlite`` (a file under ``BENCH_DIR``, default ``/tmp/himaya-bench``)
  or ``postgresql`` (a database ``himaya_bench``, or ``BENCH_PG_NAME``, on ``BENCH_PG_URL``,
  default ``postgres://postgres@127.0.0.1:5432``, created and dropped by the benchmark);
* ``BENCH_SCALE`` — ``small`` (10,000 cases) or ``full`` (1,000,000 cases);
  ``BENCH_CASES`` overrides the number.

The scratch database lives in its own folder with its own keys (``HIMAYA_VAR_DIR``,
``HIMAYA_KEYS_DIR``): nothing touches ``var/`` or the developer's database. Later
benchmarks reuse a scratch database already generated at the right scale
(``setup(fresh=False)``), and ``python bench/generate.py --drop`` removes it.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess  # nosec B404 - fixed commands describing the machine
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCALES = {"small": 10_000, "full": 1_000_000}
DATABASES = ("sqlite", "postgresql")
#: The scratch PostgreSQL database (and ``<name>_stage``); ``BENCH_PG_NAME`` lets two people
#: benchmark on one server without touching each other's data.
PG_NAME = os.environ.get("BENCH_PG_NAME", "") or "himaya_bench"
if not PG_NAME.replace("_", "").isalnum() or not PG_NAME[0].isalpha():
    raise SystemExit(f"BENCH_PG_NAME must be letters, digits and underscores, not {PG_NAME!r}")


def scratch_dir(database: str) -> Path:
    return Path(os.environ.get("BENCH_DIR", "/tmp/himaya-bench")) / database  # noqa: S108  # nosec B108


def scale_name() -> str:
    name = os.environ.get("BENCH_SCALE", "small")
    if name not in SCALES:
        raise SystemExit(f"BENCH_SCALE must be one of {', '.join(SCALES)}, not {name!r}")
    return name


def scale_cases() -> int:
    override = os.environ.get("BENCH_CASES", "")
    return int(override) if override else SCALES[scale_name()]


def database_name(argv: Sequence[str] | None = None) -> str:
    """``--database X`` on the command line, else ``BENCH_DATABASE``, else sqlite."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--database" in args:
        index = args.index("--database")
        if index + 1 < len(args):
            name = args[index + 1]
        else:
            raise SystemExit("--database needs a value: sqlite or postgresql")
    else:
        name = os.environ.get("BENCH_DATABASE", "sqlite")
    if name not in DATABASES:
        raise SystemExit(f"--database must be one of {', '.join(DATABASES)}, not {name!r}")
    return name


def _pg_base() -> str:
    return os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{_pg_base()}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _pg_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(f"{_pg_base()}/postgres", autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            is not None
        )


def environment(database: str) -> dict[str, str]:
    """The variables that point Django at the scratch database and its keys (also passed to
    the server subprocess of the HTTP benchmark)."""
    base = scratch_dir(database)
    env = {
        "HIMAYA_ENV": "development",
        "DEBUG": "false",
        "HIMAYA_VAR_DIR": str(base),
        "HIMAYA_KEYS_DIR": str(base / "keys"),
        "HIMAYA_MEDIA_DIR": str(base / "media"),
        "LOG_LEVEL": "WARNING",
    }
    if database == "sqlite":
        env["SQLITE_PATH"] = str(base / "bench.sqlite3")
        env["DATABASE_URL"] = ""
    else:
        env["DATABASE_URL"] = f"{_pg_base()}/{PG_NAME}"
    return env


def drop(database: str) -> None:
    """Remove the scratch database and its folder (keys included)."""
    if database == "postgresql":
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_NAME}_stage WITH (FORCE)")
    shutil.rmtree(scratch_dir(database), ignore_errors=True)


def setup(database: str, *, fresh: bool) -> None:
    """Point Django at the scratch database (a new one when ``fresh``), migrate it, and
    load the keys. Call before importing anything from ``himaya``."""
    if fresh:
        drop(database)
    base = scratch_dir(database)
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    if database == "postgresql" and (fresh or not _pg_exists(PG_NAME)):
        # Created when missing too: a first ``generate.py --cases N`` on a new machine.
        _pg_admin(f"CREATE DATABASE {PG_NAME}")
    for key, value in environment(database).items():
        if value:
            os.environ[key] = value
        else:
            os.environ.pop(key, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "himaya.settings"
    # No connection pool in the benchmark's own process: it switches its connection to a
    # side database and back (use_side_database), which a pool opened on the first one
    # would silently ignore. Servers it starts get the production setting.
    os.environ["DATABASE_POOL"] = "false"
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    import django
    from django.core.management import call_command

    django.setup()
    call_command("init_keys", verbosity=0)
    call_command("migrate", verbosity=0, interactive=False)


_MAIN_NAME: dict[str, str] = {}


def use_side_database(database: str) -> None:
    """Point this process at a fresh second scratch database (``stage``), with the same
    keys: a benchmark that reuses a big database measures its small-scale baseline there,
    in the same run. Django's connection is reopened on the new database and migrated."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection

    from himaya.core.crypto import clear_data_key_cache

    connection.close()
    _MAIN_NAME.setdefault("name", str(connection.settings_dict["NAME"]))
    if database == "sqlite":
        path = scratch_dir(database) / "stage.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        connection.settings_dict["NAME"] = str(path)
    else:
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_NAME}_stage WITH (FORCE)")
        _pg_admin(f"CREATE DATABASE {PG_NAME}_stage")
        connection.settings_dict["NAME"] = f"{PG_NAME}_stage"
    # Generated ids repeat from one database to the other; cached rows must not.
    clear_data_key_cache()
    ContentType.objects.clear_cache()
    call_command("migrate", verbosity=0, interactive=False)


def drop_side_database(database: str) -> None:
    """Drop the side database and point Django back at the main one."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from himaya.core.crypto import clear_data_key_cache

    connection.close()
    connection.settings_dict["NAME"] = _MAIN_NAME.pop("name")
    clear_data_key_cache()
    ContentType.objects.clear_cache()
    if database == "postgresql":
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_NAME}_stage WITH (FORCE)")
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch_dir(database) / 'stage.sqlite3'}{suffix}").unlink(missing_ok=True)


def prewarm() -> float:
    """Read the whole scratch database once (into the OS page cache), so that timings show
    the steady state of a server whose data fits in memory rather than the first touch of
    a cold disk (this VM reclaims idle page cache). Returns the seconds it took."""
    from django.db import connection

    started = time.perf_counter()
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        for path in (Path(name), Path(f"{name}-wal")):
            if path.exists():
                with path.open("rb") as handle:
                    while handle.read(1 << 24):
                        pass
    else:
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            cursor.execute(
                "SELECT sum(pg_prewarm(c.oid::regclass, 'read')) FROM pg_class c "
                "WHERE c.relkind IN ('r', 'i', 't') "
                "AND c.relnamespace = 'public'::regnamespace"
            )
    return time.perf_counter() - started


# --- timing -------------------------------------------------------------------------------


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of ``samples``."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Timing:
    samples: tuple[float, ...]

    @property
    def p50(self) -> float:
        return percentile(self.samples, 50)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples)


def time_calls[T](
    calls: Iterable[T], run: Callable[[T], object], *, before: Callable[[], None] | None = None
) -> Timing:
    """Seconds taken by ``run(arg)`` for each argument (``before`` runs untimed first)."""
    samples: list[float] = []
    for arg in calls:
        if before is not None:
            before()
        started = time.perf_counter()
        run(arg)
        samples.append(time.perf_counter() - started)
    return Timing(tuple(samples))


# --- results ------------------------------------------------------------------------------


def machine() -> str:
    """One line describing the machine, for the results and the README."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        free = subprocess.run(  # nosec B603 B607
            ["free", "-h"], capture_output=True, text=True, check=False
        ).stdout.splitlines()
        memory = free[1].split()[1] if len(free) > 1 else ""
    except OSError:
        pass
    return f"{os.cpu_count()} CPU ({cpu}), {memory} RAM, Python {platform.python_version()}"


def row(
    *,
    name: str,
    metric: str,
    value: float,
    unit: str,
    scale: str,
    database: str,
    compared_to: str,
    ratio: float,
) -> dict[str, Any]:
    return {
        "name": name,
        "metric": metric,
        "value": value,
        "unit": unit,
        "scale": scale,
        "database": database,
        "compared_to": compared_to,
        "ratio": ratio,
    }


def print_rows(rows: Iterable[dict[str, Any]]) -> None:
    for r in rows:
        print(f"{r['name']:<44} {r['value']:>10} {r['unit']:<5} (x{r['ratio']} of baseline)")


def _row_key(row: dict[str, Any]) -> tuple[str, str, str]:
    """(figure, database, number of cases): "1,000,000" of "1,000,000 cases, 328,085 …"."""
    cases = str(row.get("scale", "")).split(" cases", 1)[0]
    return str(row.get("name", "")), str(row.get("database", "")), cases


def write_results(name: str, rows: list[dict[str, Any]]) -> Path:
    """Write ``bench/results/<name>.json``, keeping the rows of other databases and scales:
    one file records SQLite and PostgreSQL, small and full. A row replaces the earlier row
    of the same figure, database and number of cases, whatever else its scale says (the
    number of complaints or audit events differs from one run to the next)."""
    target = ROOT / "bench" / "results" / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    done = {_row_key(r) for r in rows}
    kept: list[dict[str, Any]] = []
    if target.exists():
        kept = [
            r for r in json.loads(target.read_text(encoding="utf-8")) if _row_key(r) not in done
        ]
    target.write_text(
        json.dumps(kept + rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(f"written {target.relative_to(ROOT)}")
    return target
