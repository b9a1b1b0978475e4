"""The crash and restore drills (issue 7, item 5): ``make drills`` runs them at full length,
``make test`` (and so CI, on SQLite and on PostgreSQL) quickly. See docs/architecture/drills.md.

Each drill works in a scratch database of its own (``tests/asgi_server.py``), never the
suite's test database, and drives it from other processes: the real uvicorn server, the
real management commands, and ``tests/drills/world.py`` for preparing and checking.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.asgi_server import REPO_DIR, Database, scratch_database, server_env

#: ``make drills`` sets DRILL_LENGTH=full: more crash cycles and clients, more cases.
FULL = os.environ.get("DRILL_LENGTH", "quick") == "full"
STEP_TIMEOUT = 300.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "drill: a crash or restore drill (tests/drills)")


@dataclass
class Drill:
    """A scratch database, the environment of every process that uses it, a folder."""

    database: Database
    env: dict[str, str]
    tmp: Path

    def step(self, step: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        """Run ``tests.drills.world STEP`` against this database; its JSON answer."""
        out = self.tmp / f"{step}.json"
        done = subprocess.run(
            [sys.executable, "-m", "tests.drills.world", step, str(out), *args],
            cwd=REPO_DIR,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"drill step {step} failed ({done.returncode}):\n{done.stderr[-6000:]}")
        answer: dict[str, Any] = json.loads(out.read_text("utf-8"))
        return answer

    def manage(self, *args: str) -> str:
        """``manage.py ARGS`` against this database (backup, restore, verify_audit)."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout + done.stderr


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[Drill]:
    database = scratch_database(tmp_path, "drill")
    try:
        # DATABASE_POOL: PostgreSQL connections as in production (psycopg's pool).
        env = server_env(database, tmp_path / "var", DATABASE_POOL="true")
        yield Drill(database=database, env=env, tmp=tmp_path)
    finally:
        database.drop()
