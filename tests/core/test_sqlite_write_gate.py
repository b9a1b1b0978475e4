"""SQLite writers of one process queue in the process (``himaya.core.backends.sqlite3``):
a writer waiting for the write lock begins as soon as another thread's transaction ends,
instead of sleeping in SQLite's busy handler; a lock held elsewhere is still waited for,
and still ends in "database is locked" after the connection's timeout.

Each test opens its own connections on a database file of its own, configured as
``settings.DATABASES`` configures the server's (the suite's own database is in memory, where
locking differs), whichever database the suite runs on."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from himaya.core.backends.sqlite3.base import DatabaseWrapper

ENGINE = "himaya.core.backends.sqlite3"
#: How long the first writer holds the lock. SQLite's busy handler sleeps 1, 2, 5, 10, 15,
#: 20, 25, 25, 25, 50, 50, then 100 ms at a time: a writer that started waiting just after
#: the holder began would wake only at 328 ms, some 80 ms after the lock was free.
HOLD_SECONDS = 0.25


def _connection(path: Path, *, timeout: float = 20) -> DatabaseWrapper:
    databases = ConnectionHandler().configure_settings(
        {
            "default": {
                "ENGINE": ENGINE,
                "NAME": str(path),
                "OPTIONS": {
                    "timeout": timeout,
                    "transaction_mode": "IMMEDIATE",
                    "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;",
                },
            }
        }
    )
    return DatabaseWrapper(databases["default"], alias="gate")


@contextmanager
def _transaction(conn: DatabaseWrapper) -> Iterator[None]:
    """What ``transaction.atomic`` does on this connection (it has no alias in settings)."""
    conn.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    else:
        conn.commit()
    finally:
        conn.set_autocommit(True)


@pytest.fixture
def database(tmp_path: Path, django_db_blocker: Any) -> Iterator[Path]:
    """A database file of the test's own (not the suite's database: no ``django_db``)."""
    path = tmp_path / "gate.sqlite3"
    with django_db_blocker.unblock():
        conn = _connection(path)
        with conn.cursor() as cursor:
            cursor.execute("CREATE TABLE row (id integer PRIMARY KEY, who text)")
        conn.close()
        yield path


def test_a_waiting_writer_begins_as_soon_as_the_holder_commits(database: Path) -> None:
    holding = threading.Event()
    released_at: list[float] = []
    began_at: list[float] = []
    errors: list[BaseException] = []

    def holder() -> None:
        conn = _connection(database)
        try:
            with _transaction(conn):
                with conn.cursor() as cursor:
                    cursor.execute("INSERT INTO row (who) VALUES ('holder')")
                holding.set()
                time.sleep(HOLD_SECONDS)
            released_at.append(time.monotonic())
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            conn.close()

    def waiter() -> None:
        conn = _connection(database)
        try:
            holding.wait()
            with _transaction(conn):
                began_at.append(time.monotonic())
                with conn.cursor() as cursor:
                    cursor.execute("INSERT INTO row (who) VALUES ('waiter')")
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    # Woken by the holder's commit, not by a busy handler's next poll (about 80 ms later).
    assert began_at[0] - released_at[0] < 0.04
    check = sqlite3.connect(database)
    assert [r[0] for r in check.execute("SELECT who FROM row ORDER BY id")] == ["holder", "waiter"]
    check.close()


def _hold_from_elsewhere(path: Path) -> sqlite3.Connection:
    """The write lock taken by a connection outside Django (as another process would)."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_lock_held_outside_the_process_is_still_waited_for(database: Path) -> None:
    other = _hold_from_elsewhere(database)
    threading.Timer(0.1, other.rollback).start()
    conn = _connection(database)
    try:
        started = time.monotonic()
        with _transaction(conn):
            waited = time.monotonic() - started
            with conn.cursor() as cursor:
                cursor.execute("INSERT INTO row (who) VALUES ('after')")
    finally:
        conn.close()
        other.close()
    assert 0.09 < waited < 1


def test_a_lock_never_released_still_ends_in_database_is_locked(database: Path) -> None:
    other = _hold_from_elsewhere(database)
    conn = _connection(database, timeout=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError, match="database is locked"), _transaction(conn):
            pass  # pragma: no cover - the transaction never begins
    finally:
        conn.close()
        other.rollback()
        other.close()
    assert 0.3 <= time.monotonic() - started < 2


def test_statements_in_the_transaction_keep_the_busy_timeout(database: Path) -> None:
    conn = _connection(database, timeout=7)
    try:
        with _transaction(conn), conn.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            row: Any = cursor.fetchone()
    finally:
        conn.close()
    assert row[0] == 7000
