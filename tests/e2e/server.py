"""A real Himaya server for the browser journeys: its own database, its own keys, uvicorn.

Generalises the helper of ``tests/ops/test_asgi_server.py``: a separate process on a free
loopback port, as production runs it, reached over real sockets and stopped at the end. The
journeys' database is their own (never the suite's test database, whose rows other tests
count): a file under the temporary folder on SQLite, or a scratch database next to the
suite's on PostgreSQL (when ``DATABASE_URL`` is set), dropped afterwards.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

REPO_DIR = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
#: Building the world (migrate + load_demo) takes ~10 s of CPU; a loaded CI box needs more.
PREPARE_TIMEOUT = 600.0
#: The variables of the developer's shell that would point the server elsewhere.
_INHERITED = {
    "DATABASE_URL",
    "SQLITE_PATH",
    "TEST_DATABASE_NAME",
    "REDIS_URL",
    "HIMAYA_ENV",
    "HIMAYA_VAR_DIR",
    "HIMAYA_KEYS_DIR",
    "HIMAYA_MEDIA_DIR",
    "DJANGO_SETTINGS_MODULE",
}


class ServerError(RuntimeError):
    """The e2e server or its database could not be made ready."""


@dataclass
class Database:
    """Where the server's data lives: its environment variables, and how to drop it."""

    env: dict[str, str]
    postgres_admin_url: str = ""
    postgres_name: str = ""

    def drop(self) -> None:
        if self.postgres_name:
            _postgres_execute(
                self.postgres_admin_url, f'DROP DATABASE IF EXISTS "{self.postgres_name}"'
            )


def _postgres_execute(admin_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(statement)  # names built here from [a-z0-9_] only


def scratch_database(tmp: Path, worker: str) -> Database:
    """An empty database of the kind the suite runs on."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return Database(env={"SQLITE_PATH": str(tmp / "e2e.sqlite3")})
    parts = urlsplit(url)
    base = os.environ.get("TEST_DATABASE_NAME") or f"test_{parts.path.lstrip('/') or 'himaya'}"
    name = re.sub(r"[^a-z0-9_]", "_", f"{base}_e2e_{worker}_{secrets.token_hex(3)}".lower())[:63]
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    _postgres_execute(admin_url, f'CREATE DATABASE "{name}"')
    return Database(
        env={"DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}"))},
        postgres_admin_url=admin_url,
        postgres_name=name,
    )


def server_env(database: Database, var_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _INHERITED}
    env.update(
        HIMAYA_ENV="test",
        HIMAYA_VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join([str(REPO_DIR / "src"), str(REPO_DIR)]),
        **database.env,
        **extra,
    )
    return env


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _launch(env: dict[str, str], log: Path) -> Server:
    port = _free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "himaya.asgi:application",
                "--app-dir",
                "src",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-server-header",
                "--lifespan",
                "off",
            ],
            cwd=REPO_DIR,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return Server(port=port, process=process, log=log)


def _serving(server: Server) -> bool:
    """True once the server answers; False if its port was taken meanwhile."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            if "address already in use" in server.output().lower():
                return False
            raise ServerError(
                f"uvicorn exited with {server.process.returncode}:\n{server.output()}"
            )
        try:
            httpx.get(f"{server.url}/healthz", timeout=2.0)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        return True
    server.stop()
    raise ServerError(f"uvicorn did not answer within {START_TIMEOUT:.0f} s:\n{server.output()}")


def start_server(env: dict[str, str], log: Path) -> Server:
    for _attempt in range(3):
        server = _launch(env, log)
        if _serving(server):
            return server
        # Another process took the probed port between the probe and the bind.
    raise ServerError(f"uvicorn found no free port:\n{log.read_text(errors='replace')}")
