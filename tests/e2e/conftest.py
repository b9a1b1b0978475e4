"""Fixtures of the browser journeys: one world, one server, one Chromium for the whole package.

* ``e2e_world`` builds a database of its own (``tests/e2e/prepare.py``: migrate, the
  synthetic demo, one account per journey) and serves it with a real uvicorn process on a
  free loopback port (``tests/e2e/server.py``). SQLite or PostgreSQL, whichever the suite
  runs on. Built once: about ten seconds of CPU.
* ``chromium`` is Debian's Chromium driven by Playwright; no browser is ever downloaded.
  Without a ``chromium`` on the PATH every journey is skipped, saying why (CI installs it).
* ``e2e`` opens browser contexts for one test and fails it on any console error (a CSP
  violation shows there), so a journey cannot pass on a page that broke its own policy.

Under xdist the journeys all go to one worker (``make test`` runs with ``--dist loadgroup``;
see the hook below): the world is built once while the other worker runs the rest.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    # Imported where used at run time: without Playwright the journeys skip, not crash.
    from playwright.sync_api import Browser, BrowserContext, Page, StorageState, ViewportSize

    from tests.e2e.browser import Account

E2E_DIR = Path(__file__).resolve().parent
VIEWPORT: ViewportSize = {"width": 1200, "height": 800}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Shorter than the default so the step-up journey does not wait five minutes.
STEP_UP_SECONDS = 30


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup``, send every journey to the same worker.

    xdist groups tests whose node id ends in ``@<group>``; its own hook sets that from an
    ``xdist_group`` mark by assigning ``item._nodeid``, which pytest 9.2 no longer reads
    (node ids became ``item._id``). So the suffix is set here, after xdist's hook, the way
    pytest now stores it. Elsewhere (``-p no:xdist``, other ``--dist`` modes) nothing changes.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:  # an older pytest, where xdist's own hook works
        return
    for item in items:
        if E2E_DIR in item.path.parents and "@" not in item.nodeid:
            item._id = coerce_node_id(f"{item.nodeid}@e2e")


@dataclass
class World:
    """The running server and what ``prepare.py`` recorded about its data."""

    url: str
    facts: dict[str, Any]
    accounts: dict[str, Account]
    early_chief_state: StorageState | None = None
    early_chief_at: float = 0.0

    def account(self, name: str) -> Account:
        return self.accounts[name]


@pytest.fixture(scope="package")
def chromium_executable() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip(
            "e2e: no `chromium` on the PATH (Debian: apt-get install chromium); "
            "the browser journeys run in CI, which installs it"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("e2e: Playwright for Python is not installed (pip install -e '.[dev]')")
    return path


@pytest.fixture(scope="package")
def chromium(chromium_executable: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="package")
def e2e_world(tmp_path_factory: pytest.TempPathFactory, chromium: Browser) -> Iterator[World]:
    from tests.e2e.browser import Account
    from tests.e2e.server import prepare_world, scratch_database, server_env, start_server

    tmp = tmp_path_factory.mktemp("e2e")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    database = scratch_database(tmp, worker)
    try:
        env = server_env(database, tmp / "var", STEP_UP_SECONDS=str(STEP_UP_SECONDS))
        raw = prepare_world(env, tmp)
        server = start_server(env, tmp / "uvicorn.log")
        try:
            world = World(
                url=server.url,
                facts=raw,
                accounts={name: Account.from_world(a) for name, a in raw["accounts"].items()},
            )
            _sign_in_chief_early(chromium, world)
            yield world
        finally:
            server.stop()
    finally:
        database.drop()


def _sign_in_chief_early(browser: Browser, world: World) -> None:
    """The unit chief signs in as the journeys start, so that by the time the shelter
    journey runs her sign-in is older than ``STEP_UP_SECONDS`` and the address needs a
    fresh code, as it would an hour into her shift."""
    from tests.e2e.browser import TIMEOUT_MS, sign_in

    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        sign_in(page, world.url, world.account("chief"))
        world.early_chief_state = context.storage_state()
        world.early_chief_at = time.monotonic()
    finally:
        context.close()


class Journey:
    """Browser contexts for one test; each is a fresh, private browser profile."""

    def __init__(self, browser: Browser, world: World) -> None:
        from tests.e2e.browser import Console

        self.browser = browser
        self.world = world
        self.console = Console()
        self._contexts: list[BrowserContext] = []

    @property
    def url(self) -> str:
        return self.world.url

    def page(self, *, axe: bool = False, storage_state: StorageState | None = None) -> Page:
        from tests.e2e.browser import install_axe, new_page

        context = self.browser.new_context(
            viewport=VIEWPORT, storage_state=storage_state, locale="fr-MA"
        )
        if axe:
            install_axe(context)
        self._contexts.append(context)
        return new_page(context, self.console)

    def assert_clean_console(self) -> None:
        assert self.console.errors == [], "console errors:\n" + "\n".join(self.console.errors)

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def e2e(chromium: Browser, e2e_world: World) -> Iterator[Journey]:
    journey = Journey(chromium, e2e_world)
    try:
        yield journey
    finally:
        journey.close()
    journey.assert_clean_console()
