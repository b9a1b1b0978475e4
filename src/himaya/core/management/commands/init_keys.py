"""``manage.py init_keys``: make sure the master key and blind-index key exist.

Idempotent: with ``HIMAYA_MASTER_KEY`` set it only checks the keys; with a key file present it
only checks the file; otherwise it creates ``KEYS_DIR/keyring.json`` (mode 0600, directory
0700) -- when ``HIMAYA_KEY_AUTOCREATE`` is on, or when asked with ``--create``. ``make
migrate`` runs it before ``migrate``.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from himaya.core.keystore import (
    encode_secret,
    generate_secret,
    keyring_path,
    load_keyring,
    missing_key_message,
    reset_caches,
)
from himaya.core.management.commands._key_commands import plain_errors


class Command(BaseCommand):
    help = "Create the master key file if no master key is configured (idempotent)."
    # The keys are what the checks check; this command must run before they can pass.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--create",
            action="store_true",
            help="Create the key file even though HIMAYA_KEY_AUTOCREATE is off.",
        )
        parser.add_argument(
            "--print-new-key",
            action="store_true",
            help="Only print a fresh random key (base64), e.g. for HIMAYA_MASTER_KEY.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["print_new_key"]:
            self.stdout.write(encode_secret(generate_secret()))
            return
        with plain_errors():
            if (settings.HIMAYA_MASTER_KEY or "").strip():
                keyring, _created = load_keyring(create=False)
                self.stdout.write(
                    "The master key comes from HIMAYA_MASTER_KEY (current version "
                    f"{keyring.current.kid}); nothing to create."
                )
                return
            path = keyring_path()
            if path.exists():
                keyring, _created = load_keyring(create=False)
                self.stdout.write(
                    f"The key file {path} exists (current master key version "
                    f"{keyring.current.kid})."
                )
                return
            if not (settings.HIMAYA_KEY_AUTOCREATE or options["create"]):
                raise CommandError(
                    f"{missing_key_message()} HIMAYA_KEY_AUTOCREATE is off: pass --create to "
                    "create the key file anyway."
                )
            keyring, _created = load_keyring(create=True)
            reset_caches()
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the key file {path} (master key version {keyring.current.kid}). "
                "Back it up now, apart from the database backups: without it nothing sealed "
                "can ever be read again."
            )
        )
