"""``manage.py restore PATH``: replace the database with a backup, then re-apply the shred
ledger so that every subject erased since the backup was taken stays erased.

Stop the web and task processes first.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from himaya.core.backups import BackupError, restore_database
from himaya.core.management.commands._key_commands import command_actor, plain_errors


class Command(BaseCommand):
    help = "Restore the database from a backup and re-apply the shred ledger."
    # The restored database is checked after the restore, not before.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interactive"]:
            answer = input(
                "This replaces the whole database with the backup. Type 'restore' to continue: "
            )
            if answer.strip() != "restore":
                raise CommandError("Cancelled.")
        try:
            with plain_errors():
                report = restore_database(actor=command_actor(), path=options["path"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Restored from {options['path']}.")
            + f" Shred ledger re-applied: {report.reapplied} data key(s) shredded again, "
            f"{report.recorded} newly recorded."
        )
        if report.problems:
            raise CommandError(
                "The shred ledger has been tampered with: " + "; ".join(report.problems) + "."
            )
