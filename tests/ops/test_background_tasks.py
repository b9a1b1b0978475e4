"""Background tasks run through the real database backend and a real ``db_worker``.

The suite's settings use Django's ImmediateBackend so that services' tasks run inline; here
the setting is switched to ``django_tasks_db.DatabaseBackend`` -- the production backend -- so
the task goes through the database queue and is picked up by the worker command.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus, task_backends
from django.tasks.backends.immediate import ImmediateBackend
from django.test import override_settings
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from himaya.core.tasks_ops import ping_task

DATABASE_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "reports"],
    }
}


@pytest.fixture
def _worker_signals_restored() -> Iterator[None]:
    """``db_worker`` installs its own SIGINT/SIGTERM handlers; give pytest back its own."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


# The worker commits each claim and result in its own transaction and closes "obsolete"
# connections between tasks, as in production: that needs a real, committing database.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_worker_signals_restored")
def test_the_worker_runs_a_queued_task_and_stores_its_result_leaving_other_queues_alone() -> None:
    with override_settings(TASKS=DATABASE_TASKS):
        assert isinstance(task_backends["default"], DatabaseBackend)
        queued = ping_task.enqueue(echo="ops-check")
        elsewhere = ping_task.using(queue_name="reports").enqueue(echo="not-now")
        assert queued.status == TaskResultStatus.READY
        assert DBTaskResult.objects.filter(status="READY").count() == 2

        # --batch: drain the queue, then exit, so the test is bounded by the work itself.
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=StringIO())

        # Read back through the backend, as a page polling for the result would.
        finished = ping_task.get_result(queued.id)
        assert finished.status == TaskResultStatus.SUCCESSFUL
        assert finished.return_value["echo"] == "ops-check"
        assert finished.return_value["ran_at"]
        assert DBTaskResult.objects.get(id=queued.id).finished_at is not None
        # The worker serves the "default" queue only (as `make run` starts it).
        assert ping_task.get_result(elsewhere.id).status == TaskResultStatus.READY


def test_the_test_suite_runs_tasks_inline() -> None:
    """Services enqueue tasks; under the suite they must run at once, not wait for a worker."""
    assert isinstance(task_backends["default"], ImmediateBackend)
