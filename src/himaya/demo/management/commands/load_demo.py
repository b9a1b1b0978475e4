"""``manage.py load_demo``: geography, the synthetic network, one account per role and a few
synthetic case files in the demo unit.

Idempotent and quick to repeat. Refuses to run in production.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from himaya.demo.accounts import (
    demo_password,
    ensure_demo_accounts,
    refuse_in_production,
    write_table,
)
from himaya.demo.cases import build_cases
from himaya.demo.justice import build_justice
from himaya.demo.referrals import build_referrals


class Command(BaseCommand):
    help = "Load synthetic demo data and demo accounts (never in production)."

    def handle(self, *args: Any, **options: Any) -> None:
        refuse_in_production()
        verbose = int(options.get("verbosity", 1)) >= 1
        out = self.stdout if verbose else None
        self._build_network(out)
        password = demo_password()
        rows = ensure_demo_accounts(password=password)
        build_cases(out)
        build_referrals(out)
        build_justice(out)
        if verbose:
            self.stdout.write("")
            write_table(rows, password=password, out=self.stdout)

    def _build_network(self, out: Any) -> None:
        # Both come from other parts of the project; the demo accounts work without them
        # (on minimal agencies of their own), so their absence is reported, not fatal.
        try:
            from himaya.demo.network import build_network
            from himaya.geo.loader import load_geography
        except ImportError:
            self.stderr.write("demo network: not available, using minimal demo agencies")
            return
        load_geography(stdout=out)
        try:
            build_network(out)
        except ValueError as exc:
            self.stderr.write(f"demo network: skipped ({exc}); using minimal demo agencies")
