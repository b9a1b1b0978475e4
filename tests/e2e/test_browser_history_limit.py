"""Why the portal cannot leave no history entry with JavaScript off: what Chromium does.

Issue 6 asks that after quick exit "the history has no portal entry", with JavaScript off
too. With it on, the portal keeps the whole visit in ONE entry and quick exit replaces it
(``tests/e2e/test_portal_journeys.py``). With it off, no page can remove or replace an
entry: every form she submits is a POST, and this test shows, on a page server of its own
(no Himaya code involved), that Chromium adds a history entry for every POST navigation —
even to the very same address, even when the server answers 303 back to that address —
and that only a GET link to the address already shown is folded into the current entry.
A server-side redirect to the neutral site (our quick exit) adds one more entry; the
earlier ones stay. So the portal's answer with JavaScript off is what
``docs/architecture/portal.md`` ("Does not hold") describes: the entries that remain have
neutral titles, reopen nothing (the session is gone on the server, nothing was cached),
and the "staying safe" page tells her.

If this test fails, Chromium changed how it counts these navigations: revisit that design
(a single-address portal with JavaScript off might then leave no entry).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

_PAGE = """<!doctype html><html lang="en"><title>Page</title><main><p>{label}</p>
<form method="post" action="/p/"><button id="post-same">again</button></form>
<form method="post" action="/p/redirect"><button id="post-redirect">again</button></form>
<form method="post" action="/p/exit"><button id="exit">exit</button></form>
<a id="link-same" href="/p/">again</a></main></html>"""


class _Pages(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(self, status: int, body: str = "", location: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body.encode())

    def do_GET(self) -> None:
        self._send(200, _PAGE.format(label=f"GET {self.path}"))

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/p/redirect":
            self._send(303, location="/p/")
        elif self.path == "/p/exit":
            self._send(303, location="/neutral")
        else:
            self._send(200, _PAGE.format(label=f"POST {self.path}"))


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_without_javascript_every_form_post_adds_a_history_entry(
    chromium: Browser, site: str
) -> None:
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        session = context.new_cdp_session(page)

        def entries() -> list[str]:
            history = session.send("Page.getNavigationHistory")
            return [str(entry["url"]).removeprefix(site) for entry in history["entries"]]

        def click(selector: str, page: Page = page) -> None:
            with page.expect_navigation():
                page.click(selector)

        page.goto(f"{site}/before")
        page.goto(f"{site}/p/")
        start = len(entries())
        click("#link-same")
        assert len(entries()) == start, "a GET link to the same address is folded in"
        click("#post-same")
        assert len(entries()) == start + 1, "a POST to the same address adds an entry"
        click("#post-redirect")
        assert len(entries()) == start + 2, "a POST answered 303 to the same address too"
        click("#exit")
        assert entries()[-1] == "/neutral"
        assert entries().count("/p/") == 3, "quick exit without JavaScript removes none"
    finally:
        context.close()
