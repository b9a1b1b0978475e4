"""Shared by the key commands (init_keys, rotate_keys, shred_subject, apply_shred_ledger,
backup, restore). Not a command itself: Django skips modules starting with an underscore."""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from himaya.core.actor import Actor


def command_actor() -> Actor:
    """The audit actor for an operator at the command line: the system, named by OS user."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(user_id=None, username=f"manage.py:{who}"[:150])


@contextlib.contextmanager
def plain_errors() -> Iterator[None]:
    """A key problem ends the command with its plain message, not a traceback."""
    try:
        yield
    except ImproperlyConfigured as exc:
        raise CommandError(str(exc)) from None
