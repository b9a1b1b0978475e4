"""A real Himaya server for the browser journeys: its own database, its own keys, uvicorn.

Starting the server and making its scratch database is shared with the other tests that
need a real server (``tests/asgi_server.py``): a separate process on a free loopback port,
as production runs it, reached over real sockets and stopped at the end. The journeys'
database is their own (never the suite's test database, whose rows other tests count): a
file under the temporary folder on SQLite, or a scratch database next to the suite's on
PostgreSQL (when ``DATABASE_URL`` is set), dropped afterwards. What is particular to the
journeys is here: building their world (``prepare.py``) in a process of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.asgi_server import (
    REPO_DIR,
    Database,
    Server,
    ServerError,
    server_env,
    start_server,
)
from tests.asgi_server import scratch_database as _scratch_database

__all__ = [
    "Database",
    "Server",
    "ServerError",
    "prepare_world",
    "scratch_database",
    "server_env",
    "start_server",
]

#: Building the world (migrate + load_demo) takes ~10 s of CPU; a loaded CI box needs more.
PREPARE_TIMEOUT = 600.0


def scratch_database(tmp: Path, worker: str) -> Database:
    """An empty database of the kind the suite runs on, for one xdist worker's journeys."""
    return _scratch_database(tmp, f"e2e_{worker}")


def prepare_world(env: dict[str, str], tmp: Path) -> dict[str, Any]:
    """Run ``tests.e2e.prepare`` in its own process; the world it describes."""
    target = tmp / "world.json"
    log = tmp / "prepare.log"
    with log.open("wb") as sink:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "tests.e2e.prepare", str(target)],
                cwd=REPO_DIR,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                timeout=PREPARE_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ServerError(f"preparing the e2e world timed out:\n{_tail(log)}") from exc
    if done.returncode != 0:
        raise ServerError(f"preparing the e2e world failed ({done.returncode}):\n{_tail(log)}")
    world: dict[str, Any] = json.loads(target.read_text("utf-8"))
    return world


def _tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
