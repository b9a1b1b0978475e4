"""Canary values written through sealed fields never appear in the database's bytes:
not in the SQLite file, not in its write-ahead log, not in a ``pg_dump`` -- in UTF-8 or UTF-16.

Each test also writes a control value to an unsealed column and requires finding it, so a
broken search cannot pass silently.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.sealedapp.canaries import CONTROL, SECRETS, found_in, write_canaries

REPO = Path(__file__).resolve().parents[2]


def assert_no_canary(blob: bytes, where: str) -> None:
    leaked = [secret for secret in SECRETS if found_in(blob, secret)]
    assert not leaked, f"{len(leaked)} canary value(s) found in {where}"


def test_no_canary_reaches_the_sqlite_file_or_its_wal(tmp_path: Path) -> None:
    database = tmp_path / "canary.sqlite3"
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
        [sys.executable, "-m", "tests.sealedapp.canary_writer"],
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

        # While the writer's connection is open, the new pages sit in the WAL.
        assert wal.exists()
        assert wal.stat().st_size > 0
        live = database.read_bytes() + wal.read_bytes()
        assert found_in(live, CONTROL), "the control value must be found (search is broken)"
        assert_no_canary(database.read_bytes(), "the SQLite database file")
        assert_no_canary(wal.read_bytes(), "the SQLite WAL file")
        # The shredded subject's wrapped key and blind-index digests are physically gone.
        wrapped_key_left = bytes.fromhex(written["erased_wrapped_key"]) in live
        assert not wrapped_key_left, "the shredded wrapped key is still in the database files"
        assert written["erased_digests"]
        digests_left = [d for d in written["erased_digests"] if bytes.fromhex(d) in live]
        assert not digests_left, "the shredded subject's blind-index digests are still there"

        writer.stdin.write("done\n")
        writer.stdin.flush()
        assert writer.wait(timeout=60) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    # After the last connection closed, everything was checkpointed into the file.
    final = database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert found_in(final, CONTROL)
    assert_no_canary(final, "the SQLite database after checkpoint")


@pytest.mark.django_db(transaction=True)
def test_no_canary_reaches_a_pg_dump_of_the_database() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: set DATABASE_URL to a PostgreSQL server to run it")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    written = write_canaries()
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
    # bytea is dumped as hex: the shredded subject's wrapped key must not be there either.
    wrapped_key_left = written["erased_wrapped_key"].encode() in dump
    assert not wrapped_key_left, "the shredded wrapped key is in the dump"
