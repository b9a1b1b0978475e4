"""Error pages: translated, a way home, and nothing revealed (no path, no trace, no reason)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import path
from django.utils import translation

from himaya import urls as project_urls
from himaya.core import views
from tests.core.shell_support import SECURITY_HEADERS, make_staff, sign_in, title_of

CANARY = "FATIMA-ZAHRA-0612345678"


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"secret detail {CANARY} at /var/lib/himaya")


def _db_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError(f"could not connect to server: {CANARY}")


def _forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied(f"not your case {CANARY}")


def _suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation(f"tampered {CANARY}")


urlpatterns = [
    *project_urls.urlpatterns,
    path("test-errors/boom", _boom),
    path("test-errors/db-down", _db_down),
    path("test-errors/forbidden", _forbidden),
    path("test-errors/suspicious", _suspicious),
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.fixture
def staff_client() -> Client:
    client = Client(raise_request_exception=False)
    sign_in(client, make_staff(preferred_language="fr"))
    return client


def _assert_reveals_nothing(html: str) -> None:
    assert CANARY not in html
    assert "Traceback" not in html
    assert "secret detail" not in html
    assert "/var/lib" not in html
    assert 'href="/"' in html  # the way home
    assert "no-such" not in html
    assert "test-errors" not in html


def test_error_pages_are_shown_because_debug_is_off() -> None:
    assert settings.DEBUG is False


@pytest.mark.django_db
def test_not_found_page_echoes_nothing_of_the_address(staff_client: Client) -> None:
    response = staff_client.get(f"/cases/{CANARY}/no-such/?q={CANARY}")
    assert response.status_code == 404
    html = response.content.decode()
    _assert_reveals_nothing(html)
    assert "Page introuvable" in html or "Page non trouvée" in html
    assert CANARY not in title_of(html)
    # The language switch on an error page returns home, not to the probed address.
    assert 'name="next" value="/"' in html


@pytest.mark.django_db
def test_anonymous_not_found_page_echoes_nothing_either(client: Client) -> None:
    response = client.get(f"/static/{CANARY}.css")
    assert response.status_code == 404
    _assert_reveals_nothing(response.content.decode())


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_server_error_page_shows_no_trace_and_gives_a_reference(staff_client: Client) -> None:
    response = staff_client.get("/test-errors/boom")
    assert response.status_code == 500
    html = response.content.decode()
    _assert_reveals_nothing(html)
    with translation.override("fr"):
        assert translation.gettext("Something went wrong on our side") in html
    assert response["X-Request-Id"] in html
    assert all(response.get(name) for name in SECURITY_HEADERS)
    assert response["Cache-Control"] == "no-store"


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_server_error_page_renders_when_the_database_is_the_failure(
    staff_client: Client,
) -> None:
    response = staff_client.get("/test-errors/db-down")
    assert response.status_code == 500
    _assert_reveals_nothing(response.content.decode())


@pytest.mark.django_db
def test_server_error_page_runs_no_query_and_needs_no_request_context(
    django_assert_num_queries: object,
) -> None:
    request = RequestFactory().get("/anything")
    with translation.override("ar"), django_assert_num_queries(0):  # type: ignore[operator]
        response = views.server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert 'dir="rtl"' in html
    assert "Something went wrong" not in html  # translated, not the English source


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_permission_denied_page_is_translated_and_says_nothing_of_the_object(
    staff_client: Client,
) -> None:
    response = staff_client.get("/test-errors/forbidden")
    assert response.status_code == 403
    html = response.content.decode()
    _assert_reveals_nothing(html)
    with translation.override("fr"):
        assert translation.gettext("You cannot open this page") in html


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_bad_request_page_says_nothing_of_what_was_suspicious(staff_client: Client) -> None:
    response = staff_client.get("/test-errors/suspicious")
    assert response.status_code == 400
    html = response.content.decode()
    _assert_reveals_nothing(html)
    with translation.override("fr"):
        assert translation.gettext("The request could not be understood") in html


@pytest.mark.django_db
def test_unknown_host_gets_the_bad_request_page_without_the_host(client: Client) -> None:
    response = client.get("/healthz", headers={"host": "evil.example"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "evil.example" not in html
    assert all(response.get(name) for name in SECURITY_HEADERS)


@pytest.mark.django_db
def test_csrf_failure_page_hides_the_reason_and_explains_in_the_users_language() -> None:
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = client.post("/language", {"language": "en"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "CSRF" not in html
    assert "cookie" not in html.lower()
    with translation.override("fr"):
        assert translation.gettext("This form has expired") in html
    assert 'href="/"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["ar", "fr", "zgh"])
def test_error_pages_are_translated_in_every_language(client: Client, code: str) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
    html = client.get("/static/no-such-file.css").content.decode()
    assert "Page not found" not in html
    with translation.override(code):
        assert translation.gettext("Page not found") in html
