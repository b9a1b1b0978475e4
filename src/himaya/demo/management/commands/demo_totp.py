"""``manage.py demo_totp <username>``: print a demo account's current 6-digit code.

Only for the demo accounts, and never in production.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts.totp import acceptable_code
from himaya.demo.accounts import DEMO_USERNAMES, refuse_in_production


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo account (never in production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="a demo account, e.g. demo.officer")

    def handle(self, *args: Any, **options: Any) -> None:
        refuse_in_production()
        username = str(options["username"])
        if username not in DEMO_USERNAMES:
            raise CommandError(
                f"Only demo accounts have printable codes: {', '.join(sorted(DEMO_USERNAMES))}."
            )
        device = (
            TOTPDevice.objects.filter(user__username=username, confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise CommandError(f"{username} has no TOTP device yet: run manage.py load_demo.")
        code = acceptable_code(device)
        if code is None:
            raise CommandError("Every code of the current window was used; wait 30 seconds.")
        self.stdout.write(code)
