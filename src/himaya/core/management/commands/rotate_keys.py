"""``manage.py rotate_keys``: new master key version, every data key re-wrapped under it.

With a key file, it adds a new version and makes it current; with ``HIMAYA_MASTER_KEY``, the
operator puts the new key first in the variable (old ones after it) and restarts. Either way
the command then re-wraps data keys in batches, one transaction each, printing progress.
Interrupted, it resumes where it stopped: a run that finds keys still under older versions
continues instead of adding yet another version. Older versions stay in the keyring until
``rotate_keys --retire``, because backups taken before the rotation still need them.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from himaya.core import audit
from himaya.core.crypto import data_keys_remaining, data_keys_rewrap, master_key_versions_in_use
from himaya.core.keystore import add_master_key_version, reload_keyring, retire_master_keys
from himaya.core.management.commands._key_commands import command_actor, plain_errors


class Command(BaseCommand):
    help = "Rotate the master key: re-wrap every data key under a new version (resumable)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--limit",
            type=int,
            default=None,
            help="Stop after re-wrapping this many data keys (run again to continue).",
        )
        parser.add_argument(
            "--retire",
            action="store_true",
            help="Remove older master key versions that no data key uses any more. Backups "
            "taken while they were current can then no longer be restored.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        actor = command_actor()
        with plain_errors():
            if options["retire"]:
                self._retire(actor)
                return
            keyring = reload_keyring()
            remaining = data_keys_remaining(keyring.current.kid)
            if remaining:
                self.stdout.write(
                    f"Resuming: {remaining} data key(s) are still wrapped by an older master "
                    f"key; re-wrapping them under {keyring.current.kid}."
                )
            elif keyring.from_environment:
                self.stdout.write(
                    f"Every data key is wrapped by the current master key {keyring.current.kid}."
                    " To rotate, put a new key first in HIMAYA_MASTER_KEY (the old one after "
                    "it, comma-separated), restart, and run this command again."
                )
                return
            else:
                new = add_master_key_version()
                audit.record(
                    actor=actor,
                    action="masterkey.create",
                    target_type="core.masterkey",
                    target_id=new.kid,
                )
                self.stdout.write(f"Created master key version {new.kid} (now current).")

            def progress(done: int, total: int) -> None:
                self.stdout.write(f"  re-wrapped {done}/{total} data keys")

            report = data_keys_rewrap(
                actor=actor,
                batch_size=options["batch_size"],
                limit=options["limit"],
                on_batch=progress,
            )
        if report.remaining:
            self.stdout.write(
                f"Re-wrapped {report.rewrapped} data key(s); {report.remaining} remain. Run "
                "rotate_keys again to continue."
            )
            return
        older = sorted(set(reload_keyring().master_keys) - {report.current_kid})
        self.stdout.write(
            self.style.SUCCESS(
                f"Rotation complete: every data key is wrapped by {report.current_kid} "
                f"({report.rewrapped} re-wrapped now)."
            )
        )
        if older:
            self.stdout.write(
                f"Older master key version(s) {', '.join(older)} are kept so that backups "
                "taken before now can be restored. Restart the web and task processes, then "
                "retire them with `manage.py rotate_keys --retire` once those backups have "
                "expired."
            )

    def _retire(self, actor: Any) -> None:
        keyring = reload_keyring()
        older = sorted(set(keyring.master_keys) - {keyring.current.kid})
        if not older:
            self.stdout.write("Only the current master key is in the keyring; nothing to retire.")
            return
        in_use = master_key_versions_in_use()
        blocked = {kid: in_use[kid] for kid in older if in_use.get(kid)}
        if blocked:
            detail = ", ".join(f"{kid} ({count})" for kid, count in sorted(blocked.items()))
            raise CommandError(
                f"Master key version(s) {detail} still wrap data keys: run "
                "`manage.py rotate_keys` until it reports the rotation complete."
            )
        if keyring.from_environment:
            raise CommandError(
                f"No data key uses {', '.join(older)} any more: remove them from "
                "HIMAYA_MASTER_KEY and restart."
            )
        retired = retire_master_keys(older)
        for kid in retired:
            audit.record(
                actor=actor, action="masterkey.retire", target_type="core.masterkey", target_id=kid
            )
        self.stdout.write(
            self.style.SUCCESS(f"Retired master key version(s) {', '.join(retired)}.")
        )
