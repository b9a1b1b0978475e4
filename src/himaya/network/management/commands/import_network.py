"""``manage.py import_network FILE.csv [--dry-run] [--deactivate-missing]``

Checks every line of the file and prints a line-by-line report. Nothing changes unless the
whole file is clean (all or nothing). Format: docs/guides/network.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from himaya.core.actor import SYSTEM
from himaya.core.errors import HimayaError
from himaya.network.importers import MAX_REPORTED_ERRORS, import_network

#: A national directory is a few thousand lines; anything this large is not one.
MAX_FILE_BYTES = 20 * 1024 * 1024


class Command(BaseCommand):
    help = (
        "Import the service network from a CSV file (all or nothing; see docs/guides/network.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV file in UTF-8")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, change nothing"
        )
        parser.add_argument(
            "--deactivate-missing",
            action="store_true",
            help="deactivate agencies of the kinds in the file whose code is not in it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CommandError(f"{path} is larger than {MAX_FILE_BYTES // 1_048_576} MB.")
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        try:
            report = import_network(
                raw,
                actor=SYSTEM,
                dry_run=options["dry_run"],
                deactivate_missing=options["deactivate_missing"],
            )
        except HimayaError as exc:
            raise CommandError(f"Nothing was changed: {exc.message}") from exc
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {warning}"))
        if report.errors:
            for error in report.errors:
                self.stderr.write(str(error))
            more = " (stopped listing)" if len(report.errors) >= MAX_REPORTED_ERRORS else ""
            raise CommandError(
                f"{len(report.errors)} error(s){more} in {report.rows} row(s): nothing was changed."
            )
        if report.dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{report.rows} row(s) are valid: {report.created} would be created, "
                    f"{report.updated} updated or unchanged. Nothing was changed (dry run)."
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {report.rows} row(s): {report.created} created, {report.updated} "
                f"updated, {report.unchanged} unchanged, {report.deactivated} deactivated."
            )
        )
