"""``manage.py shred_subject <data key id> --reason ...``: crypto-shred one data subject.

For operators carrying out an erasure decided elsewhere (the application's erasure services
call ``himaya.core.shredding.data_key_shred`` themselves). Irreversible.
"""

from __future__ import annotations

import uuid
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from himaya.core.management.commands._key_commands import command_actor, plain_errors
from himaya.core.models import DataKey
from himaya.core.shredding import data_key_shred


class Command(BaseCommand):
    help = "Destroy one subject's data key: all her sealed data becomes unreadable, for good."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("data_key_id", type=uuid.UUID)
        parser.add_argument("--reason", required=True, help="Why (kept in the audit log).")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data_key = DataKey.objects.get(pk=options["data_key_id"])
        except DataKey.DoesNotExist:
            raise CommandError("No data key has this id.") from None
        if data_key.is_shredded:
            self.stdout.write("This data key was already shredded.")
            return
        if options["interactive"]:
            answer = input("This cannot be undone. Type 'shred' to continue: ")
            if answer.strip() != "shred":
                raise CommandError("Cancelled.")
        with plain_errors():
            data_key_shred(actor=command_actor(), data_key=data_key, reason=options["reason"])
        self.stdout.write(self.style.SUCCESS("Shredded, and recorded in the shred ledger."))
