"""What every SQLite connection of a server is opened with (``settings.DATABASES``): WAL,
``synchronous=FULL`` (an acknowledged write survives a power cut) and foreign keys."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from himaya import settings as himaya_settings

SQLITE = "himaya.core.backends.sqlite3"


def _configured() -> dict[str, Any]:
    """The SQLite configuration the settings module builds when DATABASE_URL is unset
    (the suite itself may be running on PostgreSQL)."""
    database: dict[str, Any] | None = None
    if himaya_settings.DATABASES["default"]["ENGINE"] == SQLITE:
        database = dict(himaya_settings.DATABASES["default"])
    if database is None:
        pytest.skip("this run's settings point at PostgreSQL; the SQLite run checks this")
    return database


def test_a_server_connection_is_durable_and_checks_foreign_keys(tmp_path: Path) -> None:
    """The configured ``init_command``, run as Django runs it on each new connection."""
    init_command = str(_configured()["OPTIONS"]["init_command"])
    connection = sqlite3.connect(tmp_path / "probe.sqlite3")
    try:
        for statement in filter(None, (part.strip() for part in init_command.split(";"))):
            connection.execute(statement)
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        connection.close()
