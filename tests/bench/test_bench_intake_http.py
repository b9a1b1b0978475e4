"""The intake bench's CPU accounting (``bench/bench_intake_http.py``): what the session 8
figures (CPU per request of the server and of PostgreSQL) rest on."""

from __future__ import annotations

import os
import sys
import time

import pytest
from bench.bench_intake_http import CLOCK_TICKS, Meter, Phase, cpu_ticks, database_pids

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_cpu_ticks_grow_with_the_work_a_process_does() -> None:
    before = cpu_ticks([os.getpid()])[os.getpid()]
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    after = cpu_ticks([os.getpid()])[os.getpid()]
    assert after - before >= 0.2 * CLOCK_TICKS


def test_a_process_gone_is_left_out_and_one_started_since_counts_whole() -> None:
    assert cpu_ticks([2**22 + 1]) == {}  # above any pid Linux hands out
    seconds = Meter.seconds({10: 5, 11: 40}, {10: 15, 12: 7})
    assert seconds == pytest.approx((10 + 7) / CLOCK_TICKS)


def test_sqlite_has_no_database_processes_and_cpu_is_shared_per_request() -> None:
    assert database_pids("sqlite") == []
    phase = Phase(ok=200)
    assert phase.cpu_ms(1.0) == pytest.approx(5.0)
    assert Phase().cpu_ms(1.0) == 0.0
