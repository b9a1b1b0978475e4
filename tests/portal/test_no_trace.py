"""Every portal page leaves no trace and stays light: no-store, no cookie but the follow-up
session's own (session-only, path /p/), a neutral title, no third-party request, and at most
30 KB transferred (gzip of the HTML plus the stylesheet)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from himaya.portal import session as portal_session
from tests.portal.helpers import World, codename_in, post, walk

pytestmark = pytest.mark.django_db

LANGS = ("ar", "fr", "zgh", "en")
LIMIT = 30 * 1024
CSS = Path(__file__).resolve().parents[2] / "src/himaya/portal/static/portal/portal.css"
FORBIDDEN_IN_TITLES = ("violence", "عنف", "plainte", "complaint", "شكاية", "police", "ⵜⴰⴷⵓⵙⵉ")


def _pages(client: Client, world: World, lang: str) -> Iterator[tuple[str, object]]:
    """Every kind of portal page, as she meets them."""
    for url in ("", "safety/", "nearby/", "follow/", "no-such-page/", "mine/nope/"):
        yield url, client.get(f"/p/{lang}/{url}")
    yield (
        "nearby (results)",
        post(
            client,
            f"/p/{lang}/nearby/",
            {"province": world.commune.province.code, "commune": str(world.commune.pk)},
        ),
    )
    response = post(client, f"/p/{lang}/form/", {"kind": "complaint"})
    yield "form step 1", response
    done, _ = walk(client, world, lang=lang)
    yield "done", done
    her = Client()
    response = post(her, f"/p/{lang}/follow/", {"codename": codename_in(done.content.decode())})
    yield "follow (open)", response
    for url in ("mine/", "mine/messages/", "mine/breach/", "mine/opened/"):
        yield url, her.get(f"/p/{lang}/{url}")


@pytest.mark.parametrize("lang", LANGS)
def test_every_portal_page_leaves_no_trace(client: Client, world: World, lang: str) -> None:
    for name, response in _pages(client, world, lang):
        assert response["Cache-Control"] == "no-store", name  # type: ignore[index]
        for morsel in response.cookies.values():  # type: ignore[attr-defined]
            assert morsel.key == portal_session.COOKIE, (name, morsel.key)
            assert morsel["path"] == "/p/"
            assert not morsel["expires"], name
            assert not morsel["max-age"], name
            assert morsel["httponly"]
            assert morsel["samesite"] == "Strict"


@pytest.mark.parametrize("lang", LANGS)
def test_every_portal_page_is_light_and_neutral(client: Client, world: World, lang: str) -> None:
    css = len(gzip.compress(CSS.read_bytes()))
    for name, response in _pages(client, world, lang):
        if response.status_code in (301, 302, 303):  # type: ignore[attr-defined]
            continue
        html = response.content  # type: ignore[attr-defined]
        assert len(gzip.compress(html)) + css <= LIMIT, name
        title = re.search(rb"<title>(.*?)</title>", html, re.S)
        assert title is not None, name
        text = title.group(1).decode().casefold()
        for word in FORBIDDEN_IN_TITLES:
            assert word not in text, (name, text)
        # No third-party request: every src/href is ours (or tel:).
        for url in re.findall(rb'(?:src|href|action)="([^"]+)"', html):
            assert url.startswith((b"/", b"#", b"tel:", b"data:")), (name, url)


def test_quick_exit_ends_the_session_and_drops_the_cookie(client: Client, world: World) -> None:
    done, _ = walk(client, world)
    her = Client()
    post(her, "/p/fr/follow/", {"codename": codename_in(done.content.decode())})
    assert her.get("/p/fr/mine/").status_code == 200
    response = her.get("/p/exit/")
    assert response.status_code == 303
    assert response["Location"].startswith("http")
    assert response.cookies[portal_session.COOKIE].value == ""
    assert her.get("/p/fr/mine/").status_code == 401


def test_nothing_about_her_is_ever_in_a_url(client: Client, world: World) -> None:
    page = client.get("/p/fr/").content.decode()
    for form in re.findall(r"<form[^>]*>", page):
        assert 'method="post"' in form
    assert client.get("/p/fr/form/").status_code == 302


def test_an_unknown_portal_address_sets_no_cookie_and_shows_no_staff_shell(world: World) -> None:
    for url in ("/p/xx/", "/p/fr/nope/", "/p/a/b/c/"):
        response = Client().get(url)
        assert response.status_code == 404
        assert not response.cookies
        assert b"csrf" not in response.content
        assert b'href="/p/exit/"' in response.content


def test_the_root_sends_her_to_her_language(world: World) -> None:
    response = Client().get("/p/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert response["Location"] == "/p/fr/"
