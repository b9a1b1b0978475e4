"""The periodic-job registry and its runner: jobs register by name, run in order, a failing
job is logged by name and exception type only and never stops the others, and
``manage.py run_schedule --once`` runs each selected job once and says how it went."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from himaya.core import schedule

pytestmark = pytest.mark.django_db  # the runner closes stale database connections

SECRET = "CANARY-Fatima-0612345678"


@pytest.fixture(autouse=True)
def _own_registry() -> Iterator[None]:
    """Each test works on its own registry; the apps' jobs come back afterwards."""
    saved = dict(schedule._JOBS)
    schedule._JOBS.clear()
    yield
    schedule._JOBS.clear()
    schedule._JOBS.update(saved)


def test_jobs_are_listed_by_name_and_a_reregistered_name_replaces_the_old_job() -> None:
    calls: list[str] = []
    schedule.register("b.second", every=timedelta(minutes=1), run=lambda: calls.append("b"))
    schedule.register("a.first", every=timedelta(minutes=1), run=lambda: calls.append("old"))
    schedule.register("a.first", every=timedelta(hours=1), run=lambda: calls.append("a"))
    assert [job.name for job in schedule.jobs()] == ["a.first", "b.second"]
    assert schedule.jobs()[0].every == timedelta(hours=1)
    for job in schedule.jobs():
        assert schedule.run_job(job)
    assert calls == ["a", "b"]


@pytest.mark.parametrize("every", [timedelta(0), timedelta(seconds=-5)])
def test_a_job_needs_a_positive_interval(every: timedelta) -> None:
    with pytest.raises(ValueError, match="positive interval"):
        schedule.register("x.never", every=every, run=lambda: None)
    assert schedule.jobs() == []


def test_a_failing_job_is_logged_by_name_and_type_only(caplog: pytest.LogCaptureFixture) -> None:
    def leaks() -> None:
        raise RuntimeError(SECRET)

    job = schedule.register("x.fails", every=timedelta(minutes=1), run=leaks)
    with caplog.at_level(logging.INFO, logger="himaya.core.schedule"):
        assert schedule.run_job(job) is False
    assert "x.fails" in caplog.text
    assert "RuntimeError" in caplog.text
    assert SECRET not in caplog.text


def test_run_schedule_once_runs_every_job_and_a_failure_does_not_stop_the_others() -> None:
    ran: list[str] = []
    schedule.register("a.fails", every=timedelta(minutes=1), run=lambda: 1 / 0)
    schedule.register("b.works", every=timedelta(minutes=1), run=lambda: ran.append("b"))
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("run_schedule", "--once", stdout=out)
    assert exited.value.code == 1
    assert ran == ["b"]
    assert "1 job(s) ran, 1 failed" in out.getvalue()


def test_run_schedule_once_with_job_runs_only_that_job() -> None:
    ran: list[str] = []
    schedule.register("a.one", every=timedelta(minutes=1), run=lambda: ran.append("a"))
    schedule.register("b.two", every=timedelta(minutes=1), run=lambda: ran.append("b"))
    out = StringIO()
    call_command("run_schedule", "--once", "--job", "b.two", stdout=out)
    assert ran == ["b"]
    assert "1 job(s) ran, 0 failed" in out.getvalue()


def test_run_forever_runs_each_job_at_start_then_at_its_interval() -> None:
    ran: list[str] = []
    schedule.register("a.often", every=timedelta(microseconds=1), run=lambda: ran.append("a"))
    schedule.register("b.rarely", every=timedelta(days=1), run=lambda: ran.append("b"))
    rounds = iter(range(3))
    schedule.run_forever(poll_seconds=0, stop=lambda: next(rounds, None) is None)
    assert ran.count("a") == 3
    assert ran.count("b") == 1


def test_the_case_file_registers_its_sweeps() -> None:
    from himaya.cases.apps import _register_sweeps

    _register_sweeps()
    names = {job.name for job in schedule.jobs()}
    assert {"cases.intake_drafts_expire", "cases.evidence_sweep_orphans"} <= names
