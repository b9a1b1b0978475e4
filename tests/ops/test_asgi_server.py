"""A real uvicorn process serves HTTP and WebSocket from ``himaya.asgi:application``.

This is how production runs (see docs/deploy.md), so it is tested the same way: a separate
process on a free loopback port, reached over real sockets, then stopped (started by the
tests' one helper, ``tests/asgi_server.py``). The server reads the very database this
test writes to, so a signed-in session opens the WebSocket.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
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
from tests.asgi_server import Database, Server, ServerError, server_env, start_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    # Committed before the server starts: SQLite gets a copy, PostgreSQL shares the rows.
    client = Client()
    login_staff(client, make_staff(Role.UNIT_OFFICER, username="ops-uvicorn"))
    (tmp_path / "session").write_text(client.cookies[settings.SESSION_COOKIE_NAME].value)

    env = server_env(
        Database(env=_database_env(tmp_path)),
        tmp_path / "var",
        SECRET_KEY=settings.SECRET_KEY,  # sessions are signed: same key as this process
    )
    try:
        running = start_server(env, tmp_path / "uvicorn.log")
    except ServerError as exc:
        pytest.fail(str(exc))
    try:
        yield running
    finally:
        running.stop()


# One server for the three checks: each start costs a Django boot and a database flush.
def test_a_uvicorn_process_serves_http_and_signed_in_websockets_and_refuses_anonymous_ones(
    server: Server, tmp_path: Path
) -> None:
    response = httpx.get(f"{server.url}/healthz", timeout=5.0)
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
