"""``manage.py verify_audit``: prove the audit chain intact, or name the first broken event.

Exit status 0 when every event and every checkpoint verifies, 1 at the first problem (its
sequence number and what is wrong are printed), 2 for a usage or configuration error.
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from himaya.core.audit import CheckpointClaim, verify_chain
from himaya.core.signing import trusted_public_keys


def _read_checkpoint_log(path: Path) -> Iterator[CheckpointClaim]:
    """Lines printed by ``audit_checkpoint``, oldest first, read one at a time."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield CheckpointClaim.from_json_line(line, source=f"{path.name}:{number}")


class Command(BaseCommand):
    help = "Verify the audit hash chain and its signed checkpoints."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--public-key",
            action="append",
            type=Path,
            dest="public_keys",
            help="Trust only this Ed25519 public key (PEM); repeat for retired keys. "
            "Default: the configured signing key and the .pub files in KEYS_DIR.",
        )
        parser.add_argument(
            "--checkpoint-log",
            type=Path,
            help="Also verify checkpoints exported by `audit_checkpoint` (one JSON per line).",
        )
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity: int = options["verbosity"]
        try:
            keys = trusted_public_keys(public_key_files=options["public_keys"])
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=2) from exc
        log_path: Path | None = options["checkpoint_log"]
        if log_path is not None and not log_path.is_file():
            raise CommandError(f"{log_path} does not exist.", returncode=2)
        extra = _read_checkpoint_log(log_path) if log_path is not None else ()

        def progress(done: int, total: int) -> None:
            if verbosity >= 1:
                self.stderr.write(f"verified {done:,} / {total:,} events", ending="\n")

        report = verify_chain(
            batch_size=max(1, options["batch_size"]),
            progress=progress,
            public_keys=keys,
            extra_checkpoints=extra,
        )
        if report.problem is not None:
            raise CommandError(
                f"Audit chain BROKEN at event #{report.problem.sequence}: "
                f"{report.problem.kind}: {report.problem.detail}",
                returncode=1,
            )
        self.stdout.write(
            f"Audit chain intact: {report.events:,} events, {report.checkpoints:,} signed "
            f"checkpoints verified; head #{report.head_sequence} {report.head_hash[:16]}…"
        )
        if report.unsigned_events and verbosity >= 1:
            self.stdout.write(
                f"{report.unsigned_events:,} events after the newest checkpoint are not yet "
                "signed (run `manage.py audit_checkpoint`)."
            )
        if not keys and report.checkpoints == 0 and verbosity >= 1:
            self.stderr.write("No audit signing key found: checkpoints cannot be verified.")
