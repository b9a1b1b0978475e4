"""Request id, security headers and language selection for every response."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import translation
from django.utils.cache import patch_vary_headers

from himaya.core.i18n import language_for_request
from himaya.core.request_context import set_request_id

#: The policy every response carries. No 'unsafe-inline', no 'unsafe-eval': pages load
#: only our own scripts and stylesheets (htmx is vendored and configured not to eval or
#: inject styles). ``data:`` images allow tiny inline icons; nothing else is relaxed.
CSP_DIRECTIVES: Mapping[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}

#: Browser features no Himaya page uses. A page that needs one (say, geolocation to find
#: the nearest unit) must ask for a narrow change here, reviewed like any security change.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "usb",
        "browsing-topics",
    )
)

_CSP_EXTRA_ATTR = "_himaya_csp_extra"

type View = Callable[..., HttpResponseBase]


def build_csp(extra: Mapping[str, tuple[str, ...]] | None = None) -> str:
    """The CSP header value, with ``extra`` sources appended to named directives."""
    directives = {name: list(sources) for name, sources in CSP_DIRECTIVES.items()}
    for name, sources in (extra or {}).items():
        if name not in directives:
            raise ValueError(f"unknown CSP directive {name!r}")
        directives[name].extend(s for s in sources if s not in directives[name])
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def csp_update(**directives: tuple[str, ...]) -> Callable[[View], View]:
    """Widen the CSP for ONE view, e.g. ``@csp_update(img_src=("blob:",))``.

    Only for a reviewed need (the API docs page, say); it never loosens another page.
    Keyword names use underscores for dashes. ``'unsafe-eval'`` is always refused.
    """
    extra = {name.replace("_", "-"): tuple(sources) for name, sources in directives.items()}
    for sources in extra.values():
        if "'unsafe-eval'" in sources:
            raise ValueError("'unsafe-eval' is never allowed")
    build_csp(extra)  # fail at import time on an unknown directive

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            setattr(response, _CSP_EXTRA_ATTR, extra)
            return response

        return wrapped

    return decorator


class RequestIdMiddleware:
    """Gives each request a random id used in logs and audit events (never a user datum)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = secrets.token_hex(8)
        request.request_id = request_id  # type: ignore[attr-defined]
        set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            set_request_id(None)
        response["X-Request-Id"] = request_id
        return response


class SecurityHeadersMiddleware:
    """Strict CSP, no-store and the other headers SECURITY.md lists, on every response.

    The headers are set here even where Django's own middleware also sets them, so that
    no single setting or decorator (``xframe_options_exempt``, a view's own CSP) can drop
    them. Only static assets may be cached: every page and every API answer may carry
    survivor data and must not stay on a shared or seized device.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.static_prefix = urlsplit(settings.STATIC_URL or "/static/").path

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Content-Security-Policy"] = build_csp(getattr(response, _CSP_EXTRA_ATTR, None))
        response["X-Content-Type-Options"] = "nosniff"
        response["Referrer-Policy"] = "same-origin"
        response["X-Frame-Options"] = "DENY"
        response["Cross-Origin-Opener-Policy"] = "same-origin"
        response["Cross-Origin-Resource-Policy"] = "same-origin"
        response["Permissions-Policy"] = PERMISSIONS_POLICY
        if not self._is_static_asset(request, response):
            if "no-store" not in response.get("Cache-Control", ""):
                response["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
            response.headers.pop("Last-Modified", None)
            response.headers.pop("ETag", None)
        return response

    def _is_static_asset(self, request: HttpRequest, response: HttpResponse) -> bool:
        # A missing file under /static/ is a 404 page like any other: not cacheable.
        return request.path.startswith(self.static_prefix) and response.status_code in (
            200,
            206,
            304,
        )


class LanguageMiddleware:
    """Activates the request's language (see ``himaya.core.i18n.language_for_request``).

    Sits after ``AuthenticationMiddleware`` so the signed-in user's preference is known,
    and before the middleware that may answer with a translated message. Deactivates at
    the end so one request's language never leaks into the next one served by the thread.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = language_for_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response
