"""Shell pages: home, language switch, health check, and error pages that reveal nothing.

Error pages never echo the path, the query, the exception or the CSRF failure reason: a
URL may have been typed by someone probing for identifiers, and the page must not confirm
or reflect anything. Each offers a way home.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from himaya.core.context_processors import acting, shell_context
from himaya.core.i18n import is_supported, remember_language
from himaya.core.navigation import links_for
from himaya.core.request_context import current_request_id


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Landing page: what the acting role can do. Anonymous visitors go to the login page."""
    actor = acting(request)
    return render(request, "core/home.html", {"links": links_for(actor), "actor": actor})


@require_POST
def set_language(request: HttpRequest) -> HttpResponseRedirect:
    """The language switch: a plain form, so it works without JavaScript.

    Unknown codes are not an error page: the person is sent back with a message, in the
    language they were reading, naming the languages on offer.
    """
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("core:home")
    response = HttpResponseRedirect(next_url)
    code = request.POST.get("language", "")
    if is_supported(code):
        remember_language(response, code)
    else:
        messages.error(
            request,
            _(
                "This language is not available. Choose one of: العربية, Français, "
                "ⵜⴰⵎⴰⵣⵉⵖⵜ, English."
            ),
        )
    return response


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def _error(request: HttpRequest, template: str, status: int) -> HttpResponse:
    return render(request, template, {"shell_error_page": True}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, "errors/400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, "errors/403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, "errors/404.html", 404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the form expired or came from elsewhere; the reason stays private."""
    return _error(request, "errors/403_csrf.html", 403)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request, so no context processor runs and nothing queries:
    this page must appear even when the database is the thing that failed."""
    html = loader.get_template("errors/500.html").render(
        {**shell_context(), "shell_error_page": True, "shell_request_id": current_request_id()}
    )
    return HttpResponseServerError(html)
