"""The one way the tests start a real Himaya server: uvicorn in a process of its own.

Production runs ``uvicorn himaya.asgi:application`` (docs/deploy.md), so the tests that need
a server over real sockets start exactly that: a separate process on a free loopback port
(never any other interface), waited for until ``/healthz`` answers, stopped at the end.
Used by the browser journeys (``tests/e2e``), the ASGI server check (``tests/ops``) and the
crash drill (``tests/drills``), which also kills it with SIGKILL and starts it again on the
same port.

Where the server's data lives is the caller's choice (``server_env``): a scratch database
of the kind the suite runs on (``scratch_database``), or the suite's own.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess  # nosec B404 - our own server, fixed arguments
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

REPO_DIR = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0
#: The variables of the developer's shell that would point the server elsewhere.
INHERITED = frozenset(
    {
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
)


class ServerError(RuntimeError):
    """The server or its database could not be made ready."""


# --- where its data lives -----------------------------------------------------------------


@dataclass
class Database:
    """Where the server's data lives: its environment variables, and how to drop it."""

    env: dict[str, str]
    postgres_admin_url: str = ""
    postgres_name: str = ""

    def drop(self) -> None:
        if self.postgres_name:
            postgres_execute(
                self.postgres_admin_url,
                f'DROP DATABASE IF EXISTS "{self.postgres_name}" WITH (FORCE)',
            )


def postgres_execute(admin_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(statement)  # names built here from [a-z0-9_] only


def scratch_database(tmp: Path, label: str) -> Database:
    """An empty database of the kind the suite runs on: a file under ``tmp`` on SQLite, or,
    when ``DATABASE_URL`` is set, a new PostgreSQL database named after the suite's test
    database (never the suite's own, whose rows other tests count)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return Database(env={"SQLITE_PATH": str(tmp / f"{label}.sqlite3")})
    parts = urlsplit(url)
    base = os.environ.get("TEST_DATABASE_NAME") or f"test_{parts.path.lstrip('/') or 'himaya'}"
    name = re.sub(r"[^a-z0-9_]", "_", f"{base}_{label}_{secrets.token_hex(3)}".lower())[:63]
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    postgres_execute(admin_url, f'CREATE DATABASE "{name}"')
    return Database(
        env={"DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}"))},
        postgres_admin_url=admin_url,
        postgres_name=name,
    )


def server_env(database: Database, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a server (or a helper process) on ``database``, with its own
    var folder (and so its own keys), nothing inherited that would point it elsewhere."""
    env = {key: value for key, value in os.environ.items() if key not in INHERITED}
    env.update(
        HIMAYA_ENV="test",
        HIMAYA_VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join([str(REPO_DIR / "src"), str(REPO_DIR)]),
        **database.env,
        **extra,
    )
    return env


# --- the process --------------------------------------------------------------------------


def free_port() -> int:
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
        """SIGTERM (uvicorn finishes the requests in flight), SIGKILL after 10 s."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the process dies wherever it is, mid-transaction included."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def launch(env: dict[str, str], log: Path, *, port: int | None = None) -> Server:
    """Start uvicorn on 127.0.0.1 (``port``, or a free one); do not wait for it."""
    port = port or free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(  # nosec B603 - fixed arguments
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


def wait_until_serving(server: Server, *, timeout: float = START_TIMEOUT) -> bool:
    """True once the server answers; False if its port was taken meanwhile; ``ServerError``
    if it exits otherwise or does not answer in time (it is stopped then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            if "address already in use" in server.output().lower():
                return False
            raise ServerError(
                f"uvicorn exited with {server.process.returncode}:\n{server.output()[-6000:]}"
            )
        try:
            httpx.get(f"{server.url}/healthz", timeout=2.0)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        return True
    server.stop()
    raise ServerError(f"uvicorn did not answer within {timeout:.0f} s:\n{server.output()[-6000:]}")


def start_server(
    env: dict[str, str], log: Path, *, port: int | None = None, timeout: float = START_TIMEOUT
) -> Server:
    """A serving uvicorn process. With ``port`` (a restart after a crash) the same port is
    retried while the kernel still holds it; without, another free port is tried when one
    was taken between the probe and the bind."""
    for _attempt in range(3 if port is None else 50):
        server = launch(env, log, port=port)
        if wait_until_serving(server, timeout=timeout):
            return server
        if port is not None:
            time.sleep(0.2)
    raise ServerError(f"uvicorn found no free port:\n{log.read_text(errors='replace')[-6000:]}")
