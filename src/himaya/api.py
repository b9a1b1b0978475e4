"""The JSON API under /api/v1/: one NinjaAPI, one router per app, one error handler.

- Every operation needs a token or a verified staff session unless it says ``auth=None``
  (see ``himaya.accounts.api_auth``); data endpoints declare their scope with
  ``auth=require_scope(Scope.X)``.
- Every failure, from a domain error to a crash, is answered by
  ``himaya.core.api_errors.handle_api_exception`` in one JSON shape, translated into the
  request's language: for an integration, the first of ar, fr, zgh, en in its
  ``Accept-Language`` (``himaya.core.i18n.language_for_request``, activated by
  ``LanguageMiddleware`` for the API as for the pages).
- The interactive docs (``/api/v1/docs``) load Swagger UI from our own static files, with
  no inline script, so they work offline under the site's strict CSP.

Apps add their routers at the bottom of this module. See docs/api.md.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema, Swagger

from himaya.accounts.api import router as accounts_router
from himaya.accounts.api_auth import api_auth, require_scope
from himaya.accounts.scopes import Scope
from himaya.cases.api import router as cases_router
from himaya.cases.api_evidence import router as evidence_router
from himaya.cases.api_notices import router as notices_router
from himaya.core.api_errors import MethodNotAllowed, error_response, handle_api_exception
from himaya.core.errors import NotFound
from himaya.justice.api import router as justice_router
from himaya.network.api import router as network_router
from himaya.referrals.api import router as referrals_router

_SWAGGER_SETTINGS = {
    # Swagger UI would otherwise send our schema to validator.swagger.io for a badge.
    "validatorUrl": None,
    # Never keep a pasted token in the browser's localStorage.
    "persistAuthorization": False,
}


def _finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if isinstance(response, HttpResponseNotAllowed):
        allowed = response["Allow"]
        response = error_response(MethodNotAllowed())
        response["Allow"] = allowed
    return response


def _with_api_context(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps every API view (operations, schema, docs, the 404 catch-all) so that any
    failure, and a wrong method, is answered in the one JSON error shape."""

    if inspect.iscoroutinefunction(view):

        @wraps(view)
        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                response = await view(request, *args, **kwargs)
            except Exception as exc:  # turned into the one JSON error shape
                response = handle_api_exception(request, exc)
            return _finish(request, response)

        return async_wrapper

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Exception as exc:  # turned into the one JSON error shape
            response = handle_api_exception(request, exc)
        return _finish(request, response)

    return wrapper


def _unknown_route(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    raise NotFound()


class HimayaAPI(NinjaAPI):
    """NinjaAPI with one exception handler and every route wrapped by ``_with_api_context``."""

    def set_default_exception_handlers(self) -> None:
        # One handler for everything, replacing ninja's defaults (which answer in English
        # and, for unexpected errors, hand the exception to Django's HTML error page).
        self.add_exception_handler(Exception, handle_api_exception)  # type: ignore[arg-type]

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        patterns: list[URLResolver | URLPattern] = []
        for original in super()._get_urls():
            if isinstance(original, URLPattern):
                patterns.append(
                    URLPattern(
                        original.pattern,
                        _with_api_context(original.callback),
                        original.default_args,
                        original.name,
                    )
                )
            else:
                patterns.append(original)
        # Last: anything else under /api/v1/ is a JSON 404, not the HTML error page -- for a
        # POST too: CSRF-exempt like every ninja view (which check the session's CSRF token
        # themselves), or an unknown address or a malformed id got Django's HTML CSRF 403;
        # and for a path with a line break in it ("." alone does not match one).
        not_found = csrf_exempt(_with_api_context(_unknown_route))
        patterns.append(re_path(r"^[\s\S]*$", not_found, name="not-found"))
        return patterns


api = HimayaAPI(
    title="Himaya API",
    version="1",
    urls_namespace="api",
    description=(
        "Survivor-centred police and justice services. Every call is audited. "
        "Authenticate with `Authorization: Bearer <token>` (create tokens on the "
        "'API tokens' page) or, from Himaya's own pages, with your signed-in session."
    ),
    auth=api_auth(),
    docs=Swagger(settings=_SWAGGER_SETTINGS),
)


class HealthOut(Schema):
    status: str


@api.get("/health", auth=None, response=HealthOut, tags=["health"], summary="Liveness")
def health(request: HttpRequest) -> HealthOut:
    """Answers without authentication and without touching survivor data."""
    return HealthOut(status="ok")


api.add_router("", accounts_router)
api.add_router("/network/", network_router, auth=require_scope(Scope.NETWORK_READ))
# Each operation declares its scope: cases:read to read, cases:write to write.
api.add_router("/cases/", cases_router)
# Evidence: its own router under the same prefix (/cases/{id}/evidence...).
api.add_router("/cases/", evidence_router)
# Notices and messages with her (/cases/{id}/notices..., /cases/{id}/survivor-messages).
api.add_router("/cases/", notices_router)
# Justice: complaints, decisions, hearings, measures (justice:read / justice:write).
api.add_router("/justice/", justice_router)
# Referrals: focal point → unit, unit → services (referrals:read / referrals:write).
api.add_router("/referrals/", referrals_router)
