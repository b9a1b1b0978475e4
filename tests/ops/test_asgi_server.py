"""A real uvicorn process serves HTTP and WebSocket from ``himaya.asgi:application``.

This is how production runs (see docs/deploy.md), so it is tested the same way: a separate
process on a free loopback port, reached over real sockets, then stopped. The server reads the
very database this test writes to, so a signed-in session opens the WebSocket.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from himaya.accounts.roles import Role
from tests.accounts.helpers import login_staff, make_staff

REPO_DIR = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _database_env(tmp_path: Path) -> dict[str, str]:
    """Point the server at the data this test committed."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = quote(db["USER"] or "", safe="")
        password = quote(db["PASSWORD"] or "", safe="")
        credentials = f"{user}:{password}@" if password else f"{user}@"
        host = db["HOST"] or "127.0.0.1"
        port = db["PORT"] or "5432"
        return {"DATABASE_URL": f"postgres://{credentials}{host}:{port}/{db['NAME']}"}
    # SQLite: the suite's database usually lives in this process's memory. Copy it, schema
    # and committed rows, to a file the server can open.
    copy = tmp_path / "server.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(copy)
    try:
        connection.connection.backup(target)
    finally:
        target.close()
    return {"SQLITE_PATH": str(copy)}


def _start(tmp_path: Path) -> Server:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "SQLITE_PATH", "TEST_DATABASE_NAME", "REDIS_URL", "HIMAYA_ENV"}
    }
    env.update(
        HIMAYA_ENV="test",
        SECRET_KEY=settings.SECRET_KEY,  # sessions are signed: same key as this process
        HIMAYA_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
        **_database_env(tmp_path),
    )
    log = tmp_path / "uvicorn.log"
    port = _free_port()
    with log.open("wb") as sink:
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


def _wait_until_serving(server: Server) -> bool:
    """True once the server answers; False if its port was taken; fails on anything else."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            if "address already in use" in server.output().lower():
                return False
            pytest.fail(f"uvicorn exited with {server.process.returncode}:\n{server.output()}")
        try:
            httpx.get(f"{server.http}/healthz", timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        return True
    pytest.fail(f"uvicorn did not answer within {START_TIMEOUT:.0f} s:\n{server.output()}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    # Committed before the server starts: SQLite gets a copy, PostgreSQL shares the rows.
    client = Client()
    login_staff(client, make_staff(Role.UNIT_OFFICER, username="ops-uvicorn"))
    (tmp_path / "session").write_text(client.cookies[settings.SESSION_COOKIE_NAME].value)

    running = _start(tmp_path)
    try:
        for _attempt in range(3):
            if _wait_until_serving(running):
                break
            # Another process took the probed port between probe and bind: try another one.
            running = _start(tmp_path)
        else:
            pytest.fail(f"uvicorn found no free port:\n{running.output()}")
        yield running
    finally:
        running.process.terminate()
        try:
            running.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait(timeout=10)


# One server for the three checks: each start costs a Django boot and a database flush.
def test_a_uvicorn_process_serves_http_and_signed_in_websockets_and_refuses_anonymous_ones(
    server: Server, tmp_path: Path
) -> None:
    response = httpx.get(f"{server.http}/healthz", timeout=5.0)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"
    assert "server" not in response.headers

    url = f"ws://127.0.0.1:{server.port}/ws/ping/"
    origin = Origin(f"http://127.0.0.1:{server.port}")
    session_key = (tmp_path / "session").read_text()
    with connect(
        url,
        origin=origin,
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"},
        open_timeout=10,
        close_timeout=5,
    ) as websocket:
        websocket.send(json.dumps({"type": "ping"}))
        assert json.loads(websocket.recv(timeout=5)) == {"type": "pong"}

    with pytest.raises(InvalidStatus) as refused, connect(url, origin=origin, open_timeout=10):
        pass
    assert refused.value.response.status_code == 403
