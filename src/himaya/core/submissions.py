"""One effect per form, however many times it is posted.

A page that adds something (an incident, a perpetrator, a dependant) renders a one-time
token in a hidden field (``new_token``). When the form is saved, the view runs the service
inside ``once(...)``: the token is recorded in the same transaction as the service's writes,
so either both happen or neither. A second POST with the same token (double click, a retry
after a time-out, the browser's "resend form") raises ``AlreadySubmitted`` and the view
shows what the first one saved instead of adding a copy.

Tokens are kept for ``KEEP`` and then swept by the periodic job ``core.form_submissions_expire``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from himaya.core.models import FormSubmission

KEEP = timedelta(days=2)
_TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)


class AlreadySubmitted(Exception):
    """This form was already saved once."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _key(scope: str, token: str) -> str:
    return hashlib.sha256(f"{scope}\x00{token}".encode()).hexdigest()


def valid_token(token: object) -> bool:
    return isinstance(token, str) and len(token) == _TOKEN_LENGTH and token.isascii()


@contextmanager
def once(*, scope: str, token: str) -> Iterator[None]:
    """Run the block at most once for (scope, token), atomically with its writes.

    ``scope`` says who and what (e.g. ``f"user:{id}:incident_add:{case_id}"``) so that a token
    copied to another form or another person means nothing there."""
    try:
        with transaction.atomic():
            FormSubmission.objects.create(key=_key(scope, token))
            yield
    except IntegrityError as exc:
        if FormSubmission.objects.filter(key=_key(scope, token)).exists():
            raise AlreadySubmitted from exc
        raise


def expire() -> int:
    """Forget tokens older than ``KEEP`` (the periodic job)."""
    cutoff = timezone.now() - KEEP
    deleted, _ = FormSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted
