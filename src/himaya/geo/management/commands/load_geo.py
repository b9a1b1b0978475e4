"""``manage.py load_geo``: load regions, provinces and communes from ``geo/data/``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from himaya.geo.loader import load_geography


class Command(BaseCommand):
    help = "Load Morocco's regions, provinces and communes (HCP 2024) from the data files."

    def handle(self, *args: Any, **options: Any) -> None:
        verbose = options["verbosity"] > 1
        result = load_geography(stdout=self.stdout if verbose else None)
        if options["verbosity"] > 0:
            self.stdout.write(result.summary())
