"""Every response carries the security headers; pages and API answers are never stored."""

from __future__ import annotations

import re
import uuid

import pytest
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path
from django.urls.resolvers import RegexPattern
from django.views.decorators.clickjacking import xframe_options_exempt

from himaya import urls as project_urls
from himaya.core.middleware import CSP_DIRECTIVES, build_csp, csp_update
from tests.core.shell_support import SECURITY_HEADERS, make_staff, sign_in

_CONVERTER_SAMPLES = {
    "int": "1",
    "uuid": str(uuid.UUID(int=1)),
    "slug": "sample",
    "str": "sample",
    "path": "sample",
}


def _sample_paths(patterns: list[URLPattern | URLResolver], prefix: str = "") -> list[str]:
    """One concrete path per URL pattern, converters filled with harmless samples."""
    paths: list[str] = []
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry.pattern, RegexPattern):
            # A regex route: keep it only when it is a plain path with nothing to fill.
            route = route.lstrip("^").rstrip("$").replace("\\", "")
            if re.search(r"[()\[\]*+?|{}]", route):
                continue
        route = re.sub(
            r"<(?:(\w+):)?\w+>", lambda m: _CONVERTER_SAMPLES.get(m.group(1) or "str", "x"), route
        )
        if isinstance(entry, URLResolver):
            paths.extend(_sample_paths(entry.url_patterns, prefix + route))
        else:
            paths.append("/" + prefix + route)
    return sorted(set(paths))


def _header_problems(response: HttpResponseBase, *, cacheable: bool = False) -> list[str]:
    problems = [f"missing {name}" for name in SECURITY_HEADERS if not response.get(name)]
    csp = response.get("Content-Security-Policy", "")
    for required in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        if required not in csp:
            problems.append(f"CSP lacks {required}")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append("CSP allows unsafe-inline or unsafe-eval")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    if response.get("Referrer-Policy") != "same-origin":
        problems.append("Referrer-Policy is not same-origin")
    if response.get("X-Frame-Options") != "DENY":
        problems.append("X-Frame-Options is not DENY")
    if not cacheable and "no-store" not in response.get("Cache-Control", ""):
        problems.append(f"Cache-Control is {response.get('Cache-Control')!r}, not no-store")
    return problems


def test_the_policy_forbids_inline_code_and_framing() -> None:
    csp = build_csp()
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "default-src 'self'" in csp
    assert "img-src 'self' data:" in csp
    assert "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp
    assert set(CSP_DIRECTIVES) >= {"object-src", "base-uri"}


@pytest.mark.django_db
def test_every_routed_page_fetched_anonymously_carries_the_headers_and_no_store(
    client: Client,
) -> None:
    paths = _sample_paths(get_resolver().url_patterns)
    assert "/" in paths
    assert "/healthz" in paths
    problems: list[str] = []
    for page in paths:
        for response in (client.get(page), client.post(page)):
            problems.extend(
                f"{response.request['REQUEST_METHOD']} {page} ({response.status_code}): {p}"
                for p in _header_problems(response)
            )
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_unrouted_addresses_and_missing_static_files_carry_the_headers(client: Client) -> None:
    for page in ("/no-such-page/", "/static/no-such-file.css", "/api/v1/no-such-endpoint"):
        response = client.get(page)
        assert response.status_code in (302, 401, 404), page
        assert _header_problems(response) == [], page


@pytest.mark.django_db
def test_signed_in_pages_are_never_stored(client: Client) -> None:
    sign_in(client, make_staff())
    response = client.get("/")
    assert response.status_code == 200
    assert _header_problems(response) == []
    assert response["Cache-Control"] == "no-store"
    assert "ETag" not in response
    assert "Last-Modified" not in response


@pytest.mark.django_db
def test_static_assets_carry_the_headers_and_may_be_cached(client: Client) -> None:
    response = client.get("/static/himaya/himaya.css")
    assert response.status_code == 200
    assert _header_problems(response, cacheable=True) == []
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_language_choice_is_declared_in_vary_and_content_language(client: Client) -> None:
    response = client.get("/healthz", HTTP_ACCEPT_LANGUAGE="fr")
    assert response["Content-Language"] == "fr"
    vary = {v.strip().lower() for v in response["Vary"].split(",")}
    assert {"accept-language", "cookie"} <= vary


# --- A narrow CSP exception widens one view only -------------------------------------------


@csp_update(img_src=("blob:",))
def _widened(request: HttpRequest) -> HttpResponse:
    return HttpResponse("widened")


@xframe_options_exempt
def _frame_exempt(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("plain")
    response["Content-Security-Policy"] = "default-src *"
    response["Cache-Control"] = "public, max-age=3600"
    return response


urlpatterns = [
    *project_urls.urlpatterns,
    path("widened", _widened),
    path("frame-exempt", _frame_exempt),
]


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_csp_update_widens_only_the_decorated_view(client: Client) -> None:
    sign_in(client, make_staff())
    widened = client.get("/widened")
    assert "img-src 'self' data: blob:" in widened["Content-Security-Policy"]
    other = client.get("/frame-exempt")
    assert "blob:" not in other["Content-Security-Policy"]


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_a_view_cannot_drop_the_headers_by_setting_its_own(client: Client) -> None:
    sign_in(client, make_staff())
    response = client.get("/frame-exempt")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == build_csp()
    assert response["Cache-Control"] == "no-store"


def test_csp_update_refuses_unsafe_eval_and_unknown_directives() -> None:
    with pytest.raises(ValueError, match="unsafe-eval"):
        csp_update(script_src=("'unsafe-eval'",))
    with pytest.raises(ValueError, match="unknown CSP directive"):
        csp_update(scripts_src=("'self'",))
