"""Settings of the benchmarks' server only (``bench/bench_intake_http.py``): Himaya's own
settings with a URLconf that adds one bare endpoint, the baseline of the intake benchmark.

Never used by Himaya itself: the bare endpoint exists in ``bench.bench_urls`` and nowhere
in the production URLs.
"""

from __future__ import annotations

from himaya.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"

# Django's persistent connections leak under ASGI: each request runs in a thread of its own
# and that thread's connection stays open CONN_MAX_AGE seconds (60 with DATABASE_URL). At
# the intake benchmark's rate they exhaust PostgreSQL's 100 connections within seconds and
# requests fail with 500. Until Himaya's settings change (reported with the results), the
# bench server closes its connection at the end of each request, as Django advises for
# ASGI. Both endpoints pay the same connection cost.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
