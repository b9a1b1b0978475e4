"""``manage.py backup [PATH]``: a consistent backup of the database (mode 0600).

SQLite: the online backup API (safe while the site runs). PostgreSQL: ``pg_dump`` in custom
format. The keys and the shred ledger are not in it: back up KEYS_DIR separately.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from himaya.core.backups import BackupError, backup_database
from himaya.core.management.commands._key_commands import command_actor, plain_errors


class Command(BaseCommand):
    help = "Back up the database to a file (keys and shred ledger are backed up separately)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "path",
            nargs="?",
            type=Path,
            help="Where to write it (default: VAR_DIR/backups/himaya-<time>.<ext>).",
        )
        parser.add_argument("--overwrite", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path | None = options["path"]
        if path is None:
            stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
            ext = (
                "sqlite3" if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") else "dump"
            )
            path = Path(settings.VAR_DIR) / "backups" / f"himaya-{stamp}.{ext}"
        try:
            with plain_errors():
                written = backup_database(
                    actor=command_actor(), path=path, overwrite=options["overwrite"]
                )
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Backed up to {written}.")
            + " It holds no keys: keep the key file (or HIMAYA_MASTER_KEY) and the shred "
            "ledger from KEYS_DIR backed up separately."
        )
