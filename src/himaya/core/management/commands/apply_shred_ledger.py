"""``manage.py apply_shred_ledger``: re-shred every subject the ledger lists (after a restore)
and record in the ledger every shred the database knows and the ledger misses.

Exit status 1 when the ledger shows signs of tampering (the genuine lines are still applied).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from himaya.core.management.commands._key_commands import command_actor, plain_errors
from himaya.core.shredding import apply_shred_ledger, ledger_path


class Command(BaseCommand):
    help = "Make the database honour every shred recorded in the shred ledger."
    # Its own database check (himaya.E012) is what this command fixes.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        with plain_errors():
            report = apply_shred_ledger(actor=command_actor())
        self.stdout.write(
            f"Shred ledger {ledger_path()}: {report.reapplied} data key(s) shredded again, "
            f"{report.recorded} shred(s) newly recorded in the ledger."
        )
        if report.problems:
            raise CommandError(
                "The shred ledger has been tampered with: "
                + "; ".join(report.problems)
                + ". Every genuine line was applied; compare the ledger with its backup."
            )
