"""Periodic jobs: one registry, one runner.

Apps register the jobs that keep time-based promises (an overdue referral escalates, a
measure near expiry is flagged, a notice waits for her safe hours, an abandoned draft is
shredded) in their ``AppConfig.ready()``::

    from himaya.core import schedule
    schedule.register("referrals.escalate_overdue", every=timedelta(minutes=5), run=escalate)

``manage.py run_schedule`` runs every job at its interval (``make run`` starts it beside the
web server and the task worker); ``manage.py run_schedule --once`` runs each job once and
exits (for cron or a systemd timer, and for tests). A job must be idempotent and bounded:
it may run twice after a restart, and it works in batches rather than loading a whole table.
A failing job is logged by name and exception type only (never its message, which could carry
data) and does not stop the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import close_old_connections

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[], object]


_JOBS: dict[str, Job] = {}


def register(name: str, *, every: timedelta, run: Callable[[], object]) -> Job:
    """Add (or replace, on a reloaded app) the job called ``name``."""
    if every <= timedelta(0):
        raise ValueError("a periodic job needs a positive interval")
    job = Job(name=name, every=every, run=run)
    _JOBS[name] = job
    return job


def jobs() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda job: job.name)


def run_job(job: Job) -> bool:
    """Run one job; True when it finished without an exception."""
    close_old_connections()
    started = time.monotonic()
    try:
        job.run()
    except Exception as exc:  # one failing job must not stop the others
        logger.error("job %s failed: %s", job.name, type(exc).__name__)
        return False
    finally:
        close_old_connections()
    logger.info("job %s ran in %.2f s", job.name, time.monotonic() - started)
    return True


def run_forever(*, poll_seconds: float = 5.0, stop: Callable[[], bool] = lambda: False) -> None:
    """Run every job at its interval until ``stop()`` says so; each job first runs at start."""
    next_run: dict[str, float] = {}
    while not stop():
        now = time.monotonic()
        for job in jobs():
            if next_run.get(job.name, 0.0) <= now:
                run_job(job)
                next_run[job.name] = time.monotonic() + job.every.total_seconds()
        time.sleep(poll_seconds)
