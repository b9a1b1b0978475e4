"""Abuse limits of the portal: codename guessing and report floods.

Counters are fixed windows kept in the database (``PortalCounter``), like the sign-in
throttle: every web process sees the same count, no Redis needed. Keys are keyed HMACs
(of a client address, of the first words of a codename); the table holds nothing typed.

The client is ``accounts.throttle.client_address``: ``REMOTE_ADDR`` unless
``TRUSTED_PROXY_COUNT`` says how many of our proxies append to ``X-Forwarded-For``, and
then only the entry our outermost proxy wrote. A forged header changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from himaya.accounts.throttle import client_address
from himaya.portal.models import PortalCounter

__all__ = [
    "GuessState",
    "client_key",
    "count",
    "guess_blocked",
    "guess_failed",
    "hit",
    "report_pressure",
]

Scope = PortalCounter.Scope
_GLOBAL = "all"


def client_key(request: HttpRequest) -> str:
    return salted_hmac(
        "himaya.portal.client", client_address(request), algorithm="sha256"
    ).hexdigest()


def _row(scope: str, key: str, window: timedelta) -> PortalCounter:
    """The counter row, locked and reset when its window has passed."""
    now = timezone.now()
    PortalCounter.objects.bulk_create(
        [PortalCounter(scope=scope, key_digest=key, count=0, window_started_at=now)],
        ignore_conflicts=True,
    )
    row = PortalCounter.objects.select_for_update().get(scope=scope, key_digest=key)
    if now - row.window_started_at >= window:
        row.count = 0
        row.window_started_at = now
    return row


def hit(scope: str, key: str, *, window_seconds: int) -> int:
    """Count one event; the count in the current window, this one included."""
    with transaction.atomic():
        row = _row(scope, key, timedelta(seconds=window_seconds))
        row.count += 1
        row.save(update_fields=["count", "window_started_at"])
        return row.count


def count(scope: str, key: str, *, window_seconds: int) -> int:
    """The count in the current window (0 when the window has passed). Reads only."""
    row = PortalCounter.objects.filter(scope=scope, key_digest=key).first()
    if row is None or timezone.now() - row.window_started_at >= timedelta(seconds=window_seconds):
        return 0
    return row.count


# --- codename guessing --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GuessState:
    blocked: bool
    minutes: int


def _guess_window() -> int:
    return int(settings.PORTAL_GUESS_WINDOW_SECONDS)


def guess_blocked(*, request: HttpRequest, prefix: str | None) -> GuessState:
    """Refuse before any hashing when this client, or this codename, used its guesses."""
    window = _guess_window()
    minutes = max(1, window // 60)
    if count(Scope.GUESS_CLIENT, client_key(request), window_seconds=window) >= int(
        settings.PORTAL_GUESSES_PER_CLIENT
    ):
        return GuessState(blocked=True, minutes=minutes)
    if prefix is not None and count(Scope.GUESS_CODENAME, prefix, window_seconds=window) >= int(
        settings.PORTAL_GUESSES_PER_CODENAME
    ):
        return GuessState(blocked=True, minutes=minutes)
    return GuessState(blocked=False, minutes=minutes)


def guess_failed(*, request: HttpRequest, prefix: str | None) -> None:
    """A wrong or unknown codename: counts for the client, the codename and the portal."""
    window = _guess_window()
    hit(Scope.GUESS_CLIENT, client_key(request), window_seconds=window)
    if prefix is not None:
        hit(Scope.GUESS_CODENAME, prefix, window_seconds=window)
    hit(Scope.GUESS_GLOBAL, _GLOBAL, window_seconds=window)


# --- report floods ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pressure:
    """How hard reports are coming: ``suspicious`` asks a question (or proof of work);
    ``refused`` turns this client away (with the phone numbers) until the hour passes."""

    suspicious: bool
    refused: bool


def report_pressure(request: HttpRequest) -> Pressure:
    mine = count(Scope.REPORT_CLIENT, client_key(request), window_seconds=3600)
    everyone = count(Scope.REPORT_GLOBAL, _GLOBAL, window_seconds=3600)
    return Pressure(
        suspicious=mine >= int(settings.PORTAL_REPORTS_PER_CLIENT)
        or everyone >= int(settings.PORTAL_REPORTS_GLOBAL),
        refused=mine >= int(settings.PORTAL_REPORTS_PER_CLIENT_MAX),
    )


def report_counted(request: HttpRequest) -> None:
    hit(Scope.REPORT_CLIENT, client_key(request), window_seconds=3600)
    hit(Scope.REPORT_GLOBAL, _GLOBAL, window_seconds=3600)
