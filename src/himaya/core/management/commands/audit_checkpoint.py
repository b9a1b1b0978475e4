"""``manage.py audit_checkpoint``: sign the audit chain's head now.

Run it every few minutes from cron or a systemd timer (docs/architecture/audit.md). It prints
the checkpoint as one JSON line on stdout; appending that line to a log kept off the database
host (syslog, a remote file) gives ``verify_audit --checkpoint-log`` a copy an attacker with
the database alone cannot delete.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from himaya.core.audit import ChainBrokenError, CheckpointClaim, create_checkpoint


class Command(BaseCommand):
    help = "Sign the current head of the audit chain (Ed25519, key outside the database)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoint = create_checkpoint()
        except ChainBrokenError as exc:
            raise CommandError(
                f"Refusing to sign: the audit chain is broken at {exc.problem}. "
                "Run `manage.py verify_audit`."
            ) from exc
        if checkpoint is None:
            if options["verbosity"] >= 2:
                self.stderr.write("Nothing appended since the last checkpoint.")
            return
        self.stdout.write(CheckpointClaim.from_row(checkpoint).to_json_line())
