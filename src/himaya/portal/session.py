"""The follow-up session: opened by her codename, ended by idle time, age, sign-out or exit.

Its cookie (``himaya_p``) is scoped to ``/p/``, HttpOnly, SameSite=Strict, Secure in
production, and has no ``Max-Age`` or ``Expires``: it dies with the browser at the latest,
and the server forgets it after ``PORTAL_SESSION_IDLE_SECONDS`` of silence or
``PORTAL_SESSION_ABSOLUTE_SECONDS`` in all. Only the SHA-256 of its random token is stored.

Forms inside the session carry a token bound to the session (an HMAC of the session token),
so no CSRF cookie is needed; forms outside it are anonymous and carry a signed state.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.crypto import salted_hmac

from himaya.cases.models import CaseFile
from himaya.portal.models import PortalSession

COOKIE = "himaya_p"
PATH = "/p/"
_SEEN_RESOLUTION = timedelta(seconds=15)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def session_open(response: HttpResponseBase, *, case: CaseFile) -> str:
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    PortalSession.objects.create(
        token_digest=_digest(token), case=case, created_at=now, last_seen_at=now
    )
    response.set_cookie(
        COOKIE,
        token,
        path=PATH,
        secure=bool(settings.SESSION_COOKIE_SECURE),
        httponly=True,
        samesite="Strict",
    )
    return token


def _token(request: HttpRequest) -> str:
    token = request.COOKIES.get(COOKIE, "")
    return token if 20 <= len(token) <= 100 else ""


def current(request: HttpRequest) -> PortalSession | None:
    """Her live session, or ``None`` (expired sessions are deleted on sight)."""
    token = _token(request)
    if not token:
        return None
    row = (
        PortalSession.objects.select_related("case", "case__survivor", "case__survivor__data_key")
        .filter(token_digest=_digest(token))
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
    idle = timedelta(seconds=int(settings.PORTAL_SESSION_IDLE_SECONDS))
    total = timedelta(seconds=int(settings.PORTAL_SESSION_ABSOLUTE_SECONDS))
    if now - row.last_seen_at > idle or now - row.created_at > total:
        row.delete()
        return None
    if now - row.last_seen_at >= _SEEN_RESOLUTION:
        PortalSession.objects.filter(pk=row.pk).update(last_seen_at=now)
    return row


def session_end(request: HttpRequest, response: HttpResponseBase) -> None:
    """Forget the session on the server and tell the browser to drop the cookie."""
    token = _token(request)
    if token:
        PortalSession.objects.filter(token_digest=_digest(token)).delete()
    if COOKIE in request.COOKIES:
        response.delete_cookie(COOKIE, path=PATH, samesite="Strict")


def form_token(request: HttpRequest) -> str:
    """The anti-forgery token of a form inside her session (empty without one)."""
    token = _token(request)
    return salted_hmac("himaya.portal.form", token, algorithm="sha256").hexdigest() if token else ""


def form_token_ok(request: HttpRequest) -> bool:
    expected = form_token(request)
    given = str(request.POST.get("t", ""))
    return bool(expected) and hmac.compare_digest(expected, given)


def sessions_sweep() -> int:
    """Delete sessions idle past the limit (a periodic job may call it)."""
    cutoff = timezone.now() - timedelta(seconds=int(settings.PORTAL_SESSION_IDLE_SECONDS))
    deleted, _ = PortalSession.objects.filter(last_seen_at__lt=cutoff).delete()
    return deleted
