"""``manage.py export_network [FILE.csv] [--include-shelter-addresses --reason "..."]``

Writes the network in the import format (docs/guides/network.md). Shelter addresses are left
empty unless asked for with a reason; that export is recorded in the audit trail, and the
file then holds protected data: keep it encrypted and delete it after use.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from himaya.core.actor import SYSTEM
from himaya.network.importers import export_rows, write_csv


class Command(BaseCommand):
    help = "Export the service network as CSV (the import format)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="output file (default: standard output)")
        parser.add_argument(
            "--include-shelter-addresses",
            action="store_true",
            help="write shelters' sealed addresses in clear (needs --reason; audited)",
        )
        parser.add_argument("--reason", default="", help="why the addresses are exported")

    def handle(self, *args: Any, **options: Any) -> None:
        include = options["include_shelter_addresses"]
        reason = options["reason"].strip()
        if include and len(reason) < 10:
            raise CommandError(
                "--include-shelter-addresses needs --reason (10 characters or more)."
            )
        rows = export_rows(actor=SYSTEM, include_shelter_addresses=include, reason=reason)
        if not options["path"]:
            count = write_csv(rows, sys.stdout)
            self.stderr.write(f"{count} agencies exported.")
            return
        path = Path(options["path"])
        try:
            # 0600 when the file may hold protected addresses.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if include else 0o644)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
                count = write_csv(rows, stream)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror}") from exc
        self.stdout.write(self.style.SUCCESS(f"{count} agencies exported to {path}."))
