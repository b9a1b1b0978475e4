"""The justice benchmark (bench/bench_justice.py, issue 5: the prosecutor's queue) keeps
working: its generator writes complaints, hearings and measures that open through the
selectors like the services' own, and both figures are measured, at a tiny size on SQLite
in a scratch folder of the test's own (its real scale runs by ``make bench``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.test_bench_referrals import _run

pytestmark = pytest.mark.slow


def test_the_justice_benchmark_runs_and_its_rows_open_like_the_services(
    tmp_path: Path,
) -> None:
    out = _run("bench_justice.py", tmp_path, "--no-results")
    added = next(line for line in out.splitlines() if line.startswith("justice rows added"))
    complaints = int(added.split(":", 1)[1].split()[0].replace(",", ""))
    assert complaints > 0
    assert "justice.queue.page " in out
    assert "justice.queue.page.statements " in out
    assert "statements, " not in out  # the statement count did not grow with the data
