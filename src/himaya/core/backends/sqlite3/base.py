"""Django's SQLite backend, with the writers of one process queueing for the write lock in
the process instead of polling for it.

Every transaction begins with ``BEGIN IMMEDIATE`` (``transaction_mode``, settings): it takes
the database's write lock up front, which is what serializes writers (and the audit chain's
appends). A writer that finds the lock taken is left by SQLite to its busy handler, which
sleeps and tries again, longer each time: 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms…
Under the ASGI server each request runs in a thread of its own, so with a few intakes at
once most writers were asleep in that handler while the lock stood free: the server's
throughput was set by those sleeps, not by the work (bench/bench_intake_http.py; the
profile of the server showed a third of its threads' time in ``usleep`` under
``sqlite3InvokeBusyHandler``).

Here a writer that finds the lock taken waits on a condition that a thread of this process
signals as soon as its transaction ends (commit, rollback, or the connection closed), and
tries again at once. Nothing else changes: SQLite's lock still decides who writes (the gate
is only a wake-up call; no transaction ever holds it), a writer of another process — the
task worker, a second server — is still found by trying again every ``POLL_SECONDS``, and
after the connection's ``timeout`` (settings: ``OPTIONS["timeout"]``) the writer fails with
"database is locked" as before. Statements outside a transaction (autocommit) keep SQLite's
busy handler.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

#: How often a waiting writer tries again when nothing in this process has woken it (the
#: lock may be held by another process).
POLL_SECONDS = 0.005
#: sqlite3's own default when OPTIONS has no ``timeout``.
DEFAULT_TIMEOUT_SECONDS = 5.0


class WriteGate:
    """Write transactions of this process on one database file: ``ended`` counts those that
    finished, and waiters are woken when it moves."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.ended = 0

    def transaction_ended(self) -> None:
        with self._condition:
            self.ended += 1
            self._condition.notify_all()

    def wait(self, *, seen: int, timeout: float) -> None:
        """Until a transaction ends after ``seen`` was read (at once if one already has),
        or ``timeout`` seconds."""
        with self._condition:
            if self.ended == seen:
                self._condition.wait(timeout)


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def write_gate(name: str) -> WriteGate:
    """The gate of the database file ``name`` (one per file, shared by every connection of
    the process)."""
    with _gates_lock:
        gate = _gates.get(name)
        if gate is None:
            gate = _gates[name] = WriteGate()
        return gate


def _is_busy(exc: OperationalError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, sqlite3.OperationalError) and cause.sqlite_errorcode in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate: WriteGate | None = None

    def _timeout_seconds(self) -> float:
        return float(self.settings_dict["OPTIONS"].get("timeout", DEFAULT_TIMEOUT_SECONDS))

    def _start_transaction_under_autocommit(self) -> None:
        mode = str(self.settings_dict["OPTIONS"].get("transaction_mode") or "").upper()
        if mode != "IMMEDIATE" or self.is_in_memory_db():
            # DEFERRED takes no lock at BEGIN; an in-memory database is one connection's.
            self.cursor().execute(f"BEGIN {mode}".strip())
            return
        gate = write_gate(str(self.settings_dict["NAME"]))
        deadline = time.monotonic() + self._timeout_seconds()
        raw = self.connection
        # Fail at once instead of sleeping in SQLite's busy handler while the lock is taken;
        # restored below for the transaction's own statements.
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                seen = gate.ended
                try:
                    self.cursor().execute("BEGIN IMMEDIATE")
                except OperationalError as exc:
                    remaining = deadline - time.monotonic()
                    if not _is_busy(exc) or remaining <= 0:
                        raise
                    gate.wait(seen=seen, timeout=min(POLL_SECONDS, remaining))
                else:
                    self._gate = gate
                    return
        finally:
            raw.execute(f"PRAGMA busy_timeout = {int(self._timeout_seconds() * 1000)}")

    def _transaction_ended(self) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.transaction_ended()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._transaction_ended()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._transaction_ended()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._transaction_ended()
