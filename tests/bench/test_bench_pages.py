"""The list-pages benchmark (bench/bench_pages.py, issue 7: every list page at 1 % and at
full scale) keeps working: its audit events chain and verify like core.audit's own, every
page it times answers, and the statement counts do not grow with the data; at a tiny size
on SQLite in a scratch folder of the test's own (its real scale runs by ``make bench``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.bench_pages import PAGES

from tests.bench.test_bench_referrals import _run

pytestmark = pytest.mark.slow


def test_the_pages_benchmark_runs_and_its_audit_trail_verifies(tmp_path: Path) -> None:
    out = _run("bench_pages.py", tmp_path, "--no-results")
    verified = [line for line in out.splitlines() if line.startswith("audit chain verified")]
    assert len(verified) == 2, out[-2000:]  # both stages
    for name in PAGES:
        assert f"pages.{name} " in out
        assert f"pages.{name}.statements " in out
    assert "statements, " not in out  # no page's statement count grew with the data
