"""Settings of the benchmarks' server only (``bench/bench_intake_http.py``): Himaya's own
settings with a URLconf that adds one bare endpoint, the baseline of the intake benchmark.

Never used by Himaya itself: the bare endpoint exists in ``bench.bench_urls`` and nowhere
in the production URLs.
"""

from __future__ import annotations

from himaya.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"

# Connections as in production (himaya/settings.py, "Database"): closed after each request,
# PostgreSQL's from psycopg's pool. Nothing is overridden here.
