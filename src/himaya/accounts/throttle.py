"""Counting failed sign-in attempts, per account name and per client address.

Both counters live in the database (``LoginThrottle``) so every process sees them. Keys are
keyed HMACs: of the normalised username (unknown names are counted like real ones, so a
lockout reveals nothing about which accounts exist) and of the client address.

The client address is ``REMOTE_ADDR`` unless ``TRUSTED_PROXY_COUNT`` says how many proxies
we run in front of the application; only then is ``X-Forwarded-For`` read, and only the
entry our outermost trusted proxy appended. Anything a client writes into that header
itself sits further left and is ignored, so a forged header can neither reset nor dodge a
counter.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from himaya.accounts.models import LoginThrottle

_HMAC_SALT = "himaya.accounts.throttle"


def client_address(request: HttpRequest) -> str:
    """The address of the client as far as our own infrastructure can vouch for it."""
    remote = str(request.META.get("REMOTE_ADDR") or "unknown")
    trusted = int(settings.TRUSTED_PROXY_COUNT)
    if trusted <= 0:
        return remote
    header = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    entries = [part.strip() for part in header.split(",") if part.strip()]
    if len(entries) < trusted:
        # Misconfigured or bypassed proxy: fall back to the connecting peer, which at worst
        # lumps clients together (fails closed) and never trusts a client-written value.
        return remote
    candidate = entries[-trusted]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def normalize_username(raw: str) -> str:
    """One spelling per account name, so case or Unicode variants share one counter."""
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def _digest(scope: str, value: str) -> str:
    return salted_hmac(f"{_HMAC_SALT}.{scope}", value, algorithm="sha256").hexdigest()


@dataclass(frozen=True, slots=True)
class _Counter:
    scope: str
    digest: str
    limit: int


def _counters(*, username: str, address: str) -> list[_Counter]:
    scope = LoginThrottle.Scope
    return [
        _Counter(
            scope.ACCOUNT,
            _digest(scope.ACCOUNT, normalize_username(username)),
            int(settings.LOGIN_MAX_FAILURES),
        ),
        _Counter(
            scope.ADDRESS,
            _digest(scope.ADDRESS, address),
            int(settings.LOGIN_ADDRESS_MAX_FAILURES),
        ),
    ]


def _lockout() -> timedelta:
    return timedelta(seconds=int(settings.LOGIN_LOCKOUT_SECONDS))


def locked_scope(*, username: str, address: str, now: datetime | None = None) -> str | None:
    """Which counter (``account`` or ``address``) currently refuses this attempt, if any."""
    now = now or timezone.now()
    for counter in _counters(username=username, address=address):
        row = (
            LoginThrottle.objects.filter(scope=counter.scope, key_digest=counter.digest)
            .only("locked_until")
            .first()
        )
        if row is not None and row.locked_until is not None and row.locked_until > now:
            return counter.scope
    return None


def register_failure(*, username: str, address: str) -> str | None:
    """Count one failed attempt on both counters; return the scope that just locked, if any.

    Rows are locked while counting so that parallel attempts (several processes, one
    attacker) cannot lose increments.
    """
    now = timezone.now()
    newly_locked: str | None = None
    with transaction.atomic():
        for counter in _counters(username=username, address=address):
            row, _created = LoginThrottle.objects.select_for_update().get_or_create(
                scope=counter.scope, key_digest=counter.digest
            )
            if row.locked_until is not None and row.locked_until > now:
                continue  # already locked: a refused attempt does not extend the lock
            if row.last_failure_at is None or now - row.last_failure_at > _lockout():
                row.failures = 0  # failures long ago no longer count
            row.failures += 1
            row.last_failure_at = now
            if row.failures >= counter.limit:
                row.failures = 0
                row.locked_until = now + _lockout()
                newly_locked = newly_locked or counter.scope
            row.save(update_fields=["failures", "last_failure_at", "locked_until"])
    return newly_locked


def clear_account(*, username: str) -> None:
    """A full sign-in (password and second factor) clears the account's counter.

    The address counter is deliberately left alone: one valid account must not let an
    attacker reset the counter of the address they spray other accounts from.
    """
    LoginThrottle.objects.filter(
        scope=LoginThrottle.Scope.ACCOUNT,
        key_digest=_digest(LoginThrottle.Scope.ACCOUNT, normalize_username(username)),
    ).delete()


def lockout_minutes() -> int:
    return max(1, -(-int(settings.LOGIN_LOCKOUT_SECONDS) // 60))
