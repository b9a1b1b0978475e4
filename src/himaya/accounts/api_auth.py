"""Who is calling the API: a personal access token, or a staff member's browser session.

Every operation is protected by default (see ``himaya.api``). An endpoint that reads or
writes domain data declares the scope a token needs::

    @router.get("/cases", auth=require_scope(Scope.CASES_READ), response=CaseListOut)
    def case_list(request: HttpRequest, query: Query[PageQuery]) -> dict[str, object]:
        actor = api_actor(request)
        ...

Tokens must carry every scope listed; a browser session (signed in, second factor verified)
is not limited by scopes -- the person's role and policies decide, as on the pages -- but
must send the CSRF token on unsafe methods. Either way the endpoint receives the same
``Actor`` and calls the same services, so the policies are the same whichever the door.

Failed token attempts are counted per client address; past ``API_AUTH_MAX_FAILURES`` in
``API_AUTH_WINDOW_SECONDS`` the address is refused (429) until the window ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from himaya.accounts import tokens
from himaya.accounts.actors import actor_from_request
from himaya.accounts.models import ApiToken, User
from himaya.accounts.scopes import Scope
from himaya.accounts.throttle import client_address
from himaya.core.actor import Actor
from himaya.core.api_errors import (
    CsrfFailed,
    InsufficientScope,
    TooManyAttempts,
    Unauthenticated,
)
from himaya.core.errors import PermissionDenied

_GRANT_ATTR = "himaya_api_grant"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True, slots=True)
class ApiGrant:
    """How the current API request was authenticated and what it may touch.

    ``scopes`` is ``None`` for a browser session: not narrowed beyond the person's policies.
    """

    method: tokens.AuthMethod
    actor: Actor
    user: User
    token: ApiToken | None
    scopes: frozenset[str] | None

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


def api_grant(request: HttpRequest) -> ApiGrant:
    grant = getattr(request, _GRANT_ATTR, None)
    if not isinstance(grant, ApiGrant):
        # An operation declared auth=None yet asked who is calling: refuse, never guess.
        raise Unauthenticated()
    return grant


def api_actor(request: HttpRequest) -> Actor:
    """The actor of an authenticated API request."""
    return api_grant(request).actor


def _checked_scopes(scopes: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(str(scope) for scope in scopes)
    unknown = wanted - set(Scope.values)
    if unknown:
        # A typo in an endpoint's declaration must stop the process at import, not open
        # the endpoint to every token.
        raise ImproperlyConfigured(f"Unknown API scope(s): {', '.join(sorted(unknown))}")
    return wanted


class TokenAuth(HttpBearer):
    """``Authorization: Bearer hmy_...``: a personal access token with the required scopes."""

    def __init__(self, *, scopes: Iterable[str] = ()) -> None:
        super().__init__()
        self.required_scopes = _checked_scopes(scopes)

    def authenticate(self, request: HttpRequest, token: str) -> Actor:
        address = client_address(request)
        retry_after = tokens.api_auth_retry_after(address=address)
        if retry_after is not None:
            raise TooManyAttempts(retry_after=retry_after)
        match = tokens.token_authenticate(token)
        if match is None:
            tokens.api_auth_register_failure(address=address)
            # A bearer header that fails is an answer in itself: no falling back to a
            # session cookie that happens to ride along.
            raise Unauthenticated()
        missing = self.required_scopes - match.scopes
        if missing:
            raise InsufficientScope(scope=", ".join(sorted(missing)))
        setattr(
            request,
            _GRANT_ATTR,
            ApiGrant(
                method="token",
                actor=match.actor,
                user=match.token.owner,
                token=match.token,
                scopes=match.scopes,
            ),
        )
        return match.actor


class SessionAuth(APIKeyCookie):
    """The staff member's own signed-in browser session, for pages that call the API.

    Only a session whose second factor is verified counts; unsafe methods need the CSRF
    token (header ``X-CSRFToken``), since a browser sends the cookie on its own.
    """

    param_name: str = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # CSRF is checked in authenticate(), once we know a session is really in use, so an
        # anonymous POST answers 401 rather than a confusing CSRF failure.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        if not key:
            return None
        try:
            actor = actor_from_request(request)
        except PermissionDenied:
            return None
        user = request.user
        if not isinstance(user, User):  # pragma: no cover - actor_from_request checked it
            return None
        exempt = getattr(request, "_ninja_csrf_exempt", False)
        if request.method not in _SAFE_METHODS and not exempt and check_csrf(request):
            raise CsrfFailed()
        setattr(
            request,
            _GRANT_ATTR,
            ApiGrant(method="session", actor=actor, user=user, token=None, scopes=None),
        )
        return actor


def require_scope(*scopes: str) -> list[Any]:
    """The ``auth=`` of an endpoint that needs these token scopes (sessions are unscoped)."""
    return [TokenAuth(scopes=scopes), SessionAuth()]


def api_auth() -> list[Any]:
    """The API's default: any valid token or verified session, no particular scope."""
    return require_scope()
