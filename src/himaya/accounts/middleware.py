"""Session policy and the staff gate.

``SessionPolicyMiddleware`` ends signed-in sessions that were idle for longer than
``SESSION_IDLE_SECONDS`` or are older than ``SESSION_ABSOLUTE_SECONDS``, on the server.

``StaffAccessMiddleware`` lets a request reach a staff page only when its user is signed in
AND verified with the second factor. It fails closed: every URL is a staff URL unless it is
in the short list below, so a page added tomorrow is protected without anyone remembering
to protect it, and nobody reaches a staff page (or /admin/) with a password alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse

from himaya.accounts import services, session_keys
from himaya.accounts.actors import actor_from_request, is_otp_verified

#: Reachable without a verified sign-in. Keep this list short; each entry is a door.
PUBLIC_PATH_PREFIXES: tuple[str, ...] = (
    "/static/",
    "/p/",  # the survivor portal: no staff session, its own protections
    "/api/",  # authenticates every call by token, never by session
)
PUBLIC_URL_NAMES: frozenset[str] = frozenset(
    {
        "accounts:login",
        "accounts:login_otp",
        "accounts:enrol",
        "accounts:logout",
        "core:healthz",
    }
)
#: The language switch may live in any namespace; it only sets a language cookie.
PUBLIC_URL_BASENAMES: frozenset[str] = frozenset({"set_language"})

#: Refresh the stored "last seen" time at most this often (a session write per request
#: would be wasted I/O); the idle timeout is exact to within this many seconds.
_SEEN_RESOLUTION_SECONDS = 15


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if session.get(SESSION_KEY) is not None:
            now = time.time()
            auth_at = session.get(session_keys.AUTH_AT)
            seen_at = session.get(session_keys.SEEN_AT)
            if (
                not isinstance(auth_at, int | float)
                or not isinstance(seen_at, int | float)
                or now - seen_at > int(settings.SESSION_IDLE_SECONDS)
                or now - auth_at > int(settings.SESSION_ABSOLUTE_SECONDS)
            ):
                # A session without our timestamps was not made by our sign-in: end it too.
                services.session_end(request=request, reason="expired")
            elif now - seen_at >= _SEEN_RESOLUTION_SECONDS:
                session[session_keys.SEEN_AT] = now
        return self.get_response(request)


def is_public_path(path_info: str) -> bool:
    if path_info.startswith(PUBLIC_PATH_PREFIXES) or path_info.startswith(str(settings.STATIC_URL)):
        return True
    try:
        match = resolve(path_info)
    except Resolver404:
        return False  # unknown URLs are answered only to signed-in staff
    return match.view_name in PUBLIC_URL_NAMES or match.url_name in PUBLIC_URL_BASENAMES


class StaffAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_public_path(request.path_info):
            return self.get_response(request)
        user = request.user
        if user.is_authenticated and user.is_active and is_otp_verified(user):
            # The shell (navigation, header) reads the actor from the request.
            request.actor = actor_from_request(request)  # type: ignore[attr-defined]
            return self.get_response(request)
        if user.is_authenticated:
            # Signed in without a verified second factor (not something our sign-in
            # produces): end that session rather than let it linger half-trusted.
            services.session_end(request=request, reason="restart")
        return _to_login(request)


def _to_login(request: HttpRequest) -> HttpResponse:
    url = reverse("accounts:login")
    if request.method in ("GET", "HEAD"):
        url = f"{url}?{urlencode({'next': request.get_full_path()})}"
    if request.headers.get("HX-Request"):
        # htmx would otherwise swap the sign-in page into a fragment of the old page.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)
