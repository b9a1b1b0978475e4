"""Concurrent writers append to one linear chain: no fork, no gap, no duplicate sequence."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from himaya.core.actor import Actor
from himaya.core.audit import record, verify_chain
from himaya.core.models import AuditEvent

THREADS = 8
EVENTS_PER_THREAD = 25


def _assert_one_linear_chain(expected: int) -> None:
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, expected + 1))
    prev_hashes = AuditEvent.objects.values_list("prev_hash", flat=True)
    assert len(set(prev_hashes)) == expected, "two events share a predecessor: the chain forked"
    report = verify_chain(public_keys={})
    assert report.ok, report.problem
    assert report.events == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_from_threads_form_one_linear_chain_on_postgresql() -> None:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        actor = Actor(user_id=number, username=f"writer{number}", role="unit_officer")
        try:
            start.wait()
            for i in range(EVENTS_PER_THREAD):
                # Like a service: some work, then the audit event, in one transaction.
                with transaction.atomic():
                    record(actor=actor, action="case.read", target_type="case", target_id=i)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    _assert_one_linear_chain(THREADS * EVENTS_PER_THREAD)
    # Every writer's events made it, interleaved.
    for number in range(THREADS):
        assert AuditEvent.objects.filter(actor_user_id=number).count() == EVENTS_PER_THREAD


# SQLite: the test database is in memory, where connections share a cache and locking differs
# from the real file database. So the SQLite check runs the production configuration (a WAL
# file, transaction_mode=IMMEDIATE) in separate processes, each with several threads.
SQLITE_SCRIPT = """
import sys, threading
import django
django.setup()
from django.db import connection
from himaya.core.actor import Actor
from himaya.core.audit import record, verify_chain
from himaya.core.models import AuditChainHead, AuditCheckpoint, AuditEvent

mode = sys.argv[1]
if mode == "setup":
    with connection.schema_editor() as editor:
        for model in (AuditChainHead, AuditEvent, AuditCheckpoint):
            editor.create_model(model)
elif mode == "append":
    process, threads, per_thread = (int(arg) for arg in sys.argv[2:5])
    errors = []
    barrier = threading.Barrier(threads)

    def writer(number):
        actor = Actor(user_id=process * 100 + number, username="w%d-%d" % (process, number))
        try:
            barrier.wait()
            for i in range(per_thread):
                record(actor=actor, action="case.read", target_type="case", target_id=i)
        except BaseException as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        sys.exit("errors: %s" % errors)
elif mode == "verify":
    report = verify_chain(public_keys={})
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    forks = len(sequences) - len(set(AuditEvent.objects.values_list("prev_hash", flat=True)))
    print(report.events, report.problem, sequences == list(range(1, len(sequences) + 1)), forks)
"""


def _start_sqlite(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """Runs SQLITE_SCRIPT against a fresh SQLite file configured exactly like production."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "TEST_DATABASE_NAME", "HIMAYA_AUDIT_SIGNING_KEY"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "himaya.settings",
            "HIMAYA_ENV": "test",
            "SQLITE_PATH": str(tmp_path / "audit.sqlite3"),
            "HIMAYA_VAR_DIR": str(tmp_path / "var"),
            # src/ for himaya, the repository root for test-only apps the test settings add.
            "PYTHONPATH": os.pathsep.join(
                [str(Path(settings.BASE_DIR).parent), str(settings.REPO_DIR)]
            ),
        }
    )
    return subprocess.Popen(
        [sys.executable, "-c", SQLITE_SCRIPT, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=settings.REPO_DIR,
    )


def _run_sqlite(tmp_path: Path, *args: str) -> str:
    process = _start_sqlite(tmp_path, *args)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


def test_concurrent_appends_from_processes_and_threads_form_one_chain_on_sqlite(
    tmp_path: Path,
) -> None:
    processes, threads, per_thread = 3, 4, 20
    _run_sqlite(tmp_path, "setup")

    writers = [
        _start_sqlite(tmp_path, "append", str(number), str(threads), str(per_thread))
        for number in range(processes)
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err

    total = processes * threads * per_thread
    # events verified, first problem, sequences 1..N without gap, forks
    assert _run_sqlite(tmp_path, "verify").split() == [str(total), "None", "True", "0"]
