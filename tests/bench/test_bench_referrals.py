"""The referrals benchmark (bench/bench_referrals.py, issue 5) keeps working: its generator
writes referrals that open through the selectors and policies like the services' own, and
every figure is measured, at a tiny size on SQLite in a scratch folder of the test's own
(the benchmark's real scale is run by ``make bench``, never by the test suite)."""

from __future__ import annotations

import os
import subprocess  # nosec B404 - runs our own benchmark script
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = (
    "focal.sent",
    "unit.incoming",
    "unit.done",
    "unit.sent",
    "shelter.incoming",
    "shelter.done",
    "hospital.incoming",
    "hospital.done",
)

pytestmark = pytest.mark.slow


def _run(script: str, tmp_path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "BENCH_DIR": str(tmp_path),
        "BENCH_CASES": "200",
        "BENCH_PAGE_SAMPLES": "3",
        "DJANGO_SETTINGS_MODULE": "himaya.settings",
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(  # nosec B603
        [sys.executable, f"bench/{script}", "--database", "sqlite", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def test_the_referrals_benchmark_runs_and_its_rows_open_like_the_services(
    tmp_path: Path,
) -> None:
    out = _run("bench_referrals.py", tmp_path, "--no-results")
    # After each stage the generated referrals were read back through the selectors, as
    # the sender, the receiver and an outsider (generate_referrals.check).
    opened = {
        line.split("(", 1)[1].split(")", 1)[0]: int(line.split()[1])
        for line in out.splitlines()
        if line.strip().startswith("opened ") and "through the selectors" in line
    }
    assert opened.get("to_service finished", 0) > 0
    assert opened.get("to_unit accepted", 0) > 0
    assert sum(opened.values()) >= 10
    for page in PAGES:
        assert f"referrals.queue.page.{page} " in out
        assert f"referrals.queue.page.{page}.same_rows " in out
        assert f"referrals.queue.page.{page}.statements " in out
    assert "referrals.escalation.run " in out
    # Each due referral escalated exactly once: none of them again on a second run.
    assert "(of them: 0)" in out
    assert "TARGET MISSED: escalation: not every" not in out
