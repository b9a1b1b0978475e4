"""The staff shell: templates without inline code, one logical stylesheet, vendored htmx,
a neutral landing page that lists what the acting role may do."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from himaya.core import navigation, views
from himaya.core.actor import Actor
from himaya.core.navigation import NavEntry
from tests.core.shell_support import html_attr, make_staff, sign_in, title_of

SRC = Path(settings.BASE_DIR)
STATIC = SRC / "static" / "himaya"


def _templates() -> list[Path]:
    found = sorted(SRC.glob("templates/**/*.html")) + sorted(SRC.glob("*/templates/**/*.html"))
    assert found
    return found


def _static_text_files() -> list[Path]:
    return sorted(p for p in SRC.glob("*static/**/*") if p.suffix in {".css", ".js", ".html"})


# --- No inline code anywhere ---------------------------------------------------------------


def test_no_template_has_inline_script_handlers_or_styles() -> None:
    problems = []
    for template in _templates():
        text = template.read_text(encoding="utf-8")
        rel = template.relative_to(SRC)
        for match in re.finditer(r"<script\b([^>]*)>", text, re.IGNORECASE):
            if "src=" not in match.group(1) and 'type="application/json"' not in match.group(1):
                problems.append(f"{rel}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE):
            problems.append(f"{rel}: on*= event handler attribute")
        if re.search(r"\bhx-on", text, re.IGNORECASE):
            problems.append(f"{rel}: hx-on (needs eval, which the CSP forbids)")
        if re.search(r"<style\b|\sstyle\s*=", text, re.IGNORECASE):
            problems.append(f"{rel}: inline style (blocked by style-src 'self')")
        if re.search(r"javascript:", text, re.IGNORECASE):
            problems.append(f"{rel}: javascript: URL")
    assert not problems, "\n".join(problems)


def test_no_asset_url_points_outside_the_site() -> None:
    outside = re.compile(
        r"""(?:\b(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
        r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import\s+["']?(?:https?:)?//)""",
        re.IGNORECASE,
    )
    problems = [
        str(path.relative_to(SRC))
        for path in _templates()
        if outside.search(path.read_text(encoding="utf-8"))
    ]
    problems += [
        str(path.relative_to(SRC))
        for path in _static_text_files()
        if re.search(r"https?://", path.read_text(encoding="utf-8"))
    ]
    assert not problems, problems


# --- htmx, vendored and configured for a strict CSP ------------------------------------------


def test_htmx_is_vendored_with_its_licence_and_recorded_hash() -> None:
    htmx = STATIC / "vendor" / "htmx.min.js"
    assert (STATIC / "vendor" / "htmx.LICENSE").read_text().strip()
    digest = hashlib.sha256(htmx.read_bytes()).hexdigest()
    assert digest in (STATIC / "vendor" / "README.md").read_text()


@pytest.mark.django_db
def test_base_page_loads_only_our_scripts_deferred_and_configures_htmx(client: Client) -> None:
    html = client.get("/static/no-such-file.css").content.decode()
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts
    for attributes in scripts:
        assert re.search(r'src="/static/himaya/[^"]+\.js"', attributes), attributes
        assert "defer" in attributes
    assert any("vendor/htmx.min.js" in s for s in scripts)
    assert any("js/shell.js" in s for s in scripts)
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
    assert meta
    config = json.loads(meta.group(1))
    assert config["includeIndicatorStyles"] is False
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["historyCacheSize"] == 0  # no page snapshots left in localStorage
    assert html_attr(html, 'meta name="csrf-token"', "content")


def test_csrf_header_for_htmx_comes_from_a_static_script() -> None:
    script = (STATIC / "js" / "shell.js").read_text()
    assert "htmx:configRequest" in script
    assert "X-CSRFToken" in script


# --- One stylesheet, logical properties, system fonts --------------------------------------


def _css() -> str:
    return (STATIC / "himaya.css").read_text(encoding="utf-8")


def test_stylesheet_uses_logical_properties_only() -> None:
    physical = re.compile(
        r"(?:^|[;{\s])("
        r"(?:margin|padding|border)-(?:left|right|top|bottom)(?:-[a-z]+)?"
        r"|(?:left|right|top|bottom)"
        r"|(?:min-|max-)?(?:width|height)"
        r"|border-(?:top|bottom)-(?:left|right)-radius"
        r"|overflow-[xy]"
        r")\s*:",
        re.MULTILINE,
    )
    css = re.sub(r"/\*.*?\*/", "", _css(), flags=re.DOTALL)
    css = re.sub(r"@media[^{]*", "@media", css)  # media features may say width
    assert physical.findall(css) == []
    assert not re.search(r"text-align\s*:\s*(?:left|right)", css)
    assert not re.search(r"float\s*:\s*(?:left|right)", css)
    assert not re.search(r"clear\s*:\s*(?:left|right)", css)


def test_stylesheet_uses_system_fonts_for_arabic_and_tifinagh_and_downloads_none() -> None:
    css = _css()
    assert '"Noto Sans Arabic"' in css
    assert '"Noto Sans Tifinagh"' in css
    assert "@font-face" not in css
    assert "url(" not in css
    assert "@import" not in css


def test_stylesheet_has_visible_focus_and_a_print_section() -> None:
    css = _css()
    assert re.search(r":focus-visible\s*{[^}]*outline:\s*3px solid", css)
    assert "@media print" in css


# --- The page shell -------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_visitors_of_home_are_sent_to_sign_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_home_page_has_skip_link_landmarks_and_a_neutral_title(client: Client) -> None:
    staff = make_staff(username="canary.fatima", preferred_language="en")
    sign_in(client, staff)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="skip-link" href="#main"' in html
    assert '<main id="main"' in html
    assert "<header" in html
    assert "<footer" in html
    assert title_of(html) == "Home · Himaya"
    assert "canary.fatima" not in title_of(html)


@pytest.mark.django_db
def test_signed_in_pages_offer_sign_out_as_a_post_form(client: Client) -> None:
    sign_in(client, make_staff())
    html = client.get("/").content.decode()
    assert re.search(r'<form class="shell-logout" method="post" action="/accounts/logout/">', html)


@pytest.mark.django_db
def test_footer_marks_synthetic_demo_data_outside_production(client: Client) -> None:
    sign_in(client, make_staff(preferred_language="en"))
    html = client.get("/").content.decode()
    assert "synthetic demo data" in html


@pytest.mark.django_db
def test_footer_has_no_demo_notice_in_production(client: Client, settings: object) -> None:
    settings.HIMAYA_ENV = "production"  # type: ignore[attr-defined]
    sign_in(client, make_staff(preferred_language="en"))
    html = client.get("/").content.decode()
    assert "synthetic demo data" not in html


@pytest.mark.django_db
def test_home_page_shows_todays_date_in_the_users_language(client: Client) -> None:
    sign_in(client, make_staff(preferred_language="zgh"))
    html = client.get("/").content.decode()
    assert re.search(r"<time datetime=\"\d{4}-\d{2}-\d{2}\">[^<]*[\u2d30-\u2d7f]", html)


# --- What the acting role can do ----------------------------------------------------------


@pytest.fixture
def officer_only_entry() -> Iterator[NavEntry]:
    entry = NavEntry(
        key="test.officers",
        label="Officer work",
        description="Only for unit officers.",
        url_name="core:healthz",
        allowed=lambda actor: actor.role == "unit_officer",
    )
    navigation.register(entry)
    yield entry
    navigation.unregister(entry.key)


def _actor(role: str) -> Actor:
    return Actor(user_id=1, username="someone", role=role, agency_id=1, membership_id=1)


@pytest.mark.usefixtures("officer_only_entry")
def test_navigation_lists_only_what_the_acting_role_may_do() -> None:
    assert "test.officers" in {link.key for link in navigation.links_for(_actor("unit_officer"))}
    assert "test.officers" not in {link.key for link in navigation.links_for(_actor("trainer"))}
    assert navigation.links_for(None) == []


def test_an_entry_for_a_missing_route_is_hidden_not_fatal() -> None:
    navigation.register(
        NavEntry(
            key="test.missing",
            label="Missing",
            description="",
            url_name="nowhere:none",
            allowed=lambda actor: True,
        )
    )
    try:
        links = navigation.links_for(_actor("unit_officer"))
        assert all(link.key != "test.missing" for link in links)
    finally:
        navigation.unregister("test.missing")


@pytest.mark.django_db
@pytest.mark.usefixtures("officer_only_entry")
def test_home_page_lists_the_links_of_the_acting_role(client: Client) -> None:
    officer = make_staff(preferred_language="en")
    sign_in(client, officer)
    html = client.get("/").content.decode()
    assert "Officer work" in html
    assert "Only for unit officers." in html

    trainer_client = Client()
    sign_in(trainer_client, make_staff(role="trainer", preferred_language="en"))  # type: ignore[arg-type]
    html = trainer_client.get("/").content.decode()
    assert "Officer work" not in html


@pytest.mark.django_db
@pytest.mark.usefixtures("officer_only_entry")
def test_home_view_reads_the_actor_set_by_the_accounts_middleware() -> None:
    staff = make_staff(preferred_language="en")
    request = RequestFactory().get("/")
    request.user = staff.user
    request.actor = _actor("unit_officer")  # type: ignore[attr-defined]
    request.session = {}  # type: ignore[assignment]
    html = views.home(request).content.decode()
    assert "Officer work" in html
