"""Names, phones, CINs, an address, her account, a note, a task, a child's name and a draft,
typed through the real intake: none of them reaches the database in plaintext -- not the
SQLite file, not its write-ahead log, not a ``pg_dump`` -- nor the logs.

Each database test also writes a control value to an unsealed column and requires finding
it, so a broken search cannot pass silently.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.cases.canary_intake import CONTROL, SECRETS, write_canaries
from tests.sealedapp.canaries import found_in

REPO = Path(__file__).resolve().parents[2]


def assert_no_canary(blob: bytes, where: str) -> None:
    leaked = [secret for secret in SECRETS if found_in(blob, secret)]
    # Say how many, never which: the test output is a log too.
    assert not leaked, f"{len(leaked)} canary value(s) found in {where}"


def test_no_intake_canary_reaches_the_sqlite_file_or_its_wal(tmp_path: Path) -> None:
    database = tmp_path / "cases-canary.sqlite3"
    wal = Path(f"{database}-wal")
    env = {
        **os.environ,
        "HIMAYA_ENV": "test",
        "SQLITE_PATH": str(database),
        "HIMAYA_KEYS_DIR": str(tmp_path / "keys"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    env.pop("DATABASE_URL", None)
    env.pop("HIMAYA_MASTER_KEY", None)
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.cases.canary_intake"],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdin is not None
        line = writer.stdout.readline()
        assert line, writer.stderr.read() if writer.stderr else "writer failed"
        written = json.loads(line)
        assert len(written["cases"]) == 2

        assert wal.exists()
        assert wal.stat().st_size > 0
        live = database.read_bytes() + wal.read_bytes()
        assert found_in(live, CONTROL), "the control value must be found (search is broken)"
        assert_no_canary(database.read_bytes(), "the SQLite database file")
        assert_no_canary(wal.read_bytes(), "the SQLite WAL file")

        writer.stdin.write("done\n")
        writer.stdin.flush()
        assert writer.wait(timeout=60) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    final = database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert found_in(final, CONTROL)
    assert_no_canary(final, "the SQLite database after checkpoint")


@pytest.mark.django_db(transaction=True)
def test_no_intake_canary_reaches_a_pg_dump() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: set DATABASE_URL to a PostgreSQL server to run it")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    write_canaries()
    params = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": str(params.get("PASSWORD") or "")}
    dump = subprocess.run(
        [
            pg_dump,
            "--format=plain",
            "--no-owner",
            f"--host={params.get('HOST') or 'localhost'}",
            f"--port={params.get('PORT') or 5432}",
            f"--username={params.get('USER') or 'postgres'}",
            str(params["NAME"]),
        ],
        env=env,
        capture_output=True,
        check=True,
    ).stdout
    assert found_in(dump, CONTROL), "the control value must be found (search is broken)"
    assert_no_canary(dump, "the pg_dump")


@pytest.mark.django_db
def test_no_intake_canary_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        write_canaries()
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    ).encode()
    assert_no_canary(logged, "the logs")
