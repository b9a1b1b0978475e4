"""What the browser journeys share: accounts with their authenticator, signing in through the
real pages, the language switch, the console watch and the accessibility audit.

Selectors use the names and values of form fields, never translated text, so one journey
runs unchanged in Arabic and in French.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django_otp.oath import TOTP, hotp
from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Page

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
AXE_SCRIPT = VENDOR_DIR / "axe.min.js"
#: WCAG 2.0, 2.1 and 2.2, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
#: django-otp's default window: a code of the previous, current or next time step.
TOLERANCE = 1
#: Generous: CI runs the journeys beside the rest of the suite on two cores, and the map
#: page draws 1,500 communes. A healthy page answers in well under a second.
TIMEOUT_MS = 45_000


@dataclass
class Account:
    """A staff account of the e2e world and its authenticator app.

    django-otp refuses a code of a time step already used (replay protection), so the
    account remembers the last step it spent, as the phone of a careful officer would."""

    username: str
    password: str
    key: str
    step: int = 30
    t0: int = 0
    digits: int = 6
    last_t: int = -1

    @classmethod
    def from_world(cls, raw: dict[str, Any]) -> Account:
        return cls(
            username=str(raw["username"]),
            password=str(raw["password"]),
            key=str(raw["key"]),
            step=int(raw["step"]),
            t0=int(raw["t0"]),
            digits=int(raw["digits"]),
        )

    def code(self) -> str:
        """A code the server accepts now and has never seen (waits for the next time step
        when this account's codes of the current window are spent)."""
        key = bytes.fromhex(self.key)
        now_t = int(TOTP(key, self.step, self.t0, self.digits).t())
        wanted = max(now_t, self.last_t + 1)
        if wanted > now_t + TOLERANCE:
            # Both codes of the window are spent: wait until the wanted step is in it.
            time.sleep(self.t0 + (wanted - TOLERANCE) * self.step - time.time() + 0.5)
        self.last_t = wanted
        return f"{hotp(key, wanted, digits=self.digits):0{self.digits}d}"


@dataclass
class Console:
    """Everything the page's console reports as an error, and the scripts that failed.

    A CSP violation is reported there ("Refused to …"), so an empty list also means the
    strict policy held. A test that visits a page answered 403 or 404 on purpose says so
    with ``expect_status``; nothing else is ever excused."""

    errors: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)

    def expect_status(self, status: int) -> None:
        self.expected_statuses.add(status)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        found = re.search(r"status of (\d{3})", message.text)
        if found and int(found.group(1)) in self.expected_statuses:
            return
        self.errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _on_page_error(self, error: Error) -> None:
        self.errors.append(f"uncaught: {error.message}")


def new_page(context: BrowserContext, console: Console) -> Page:
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    console.watch(page)
    return page


def days_ago(days: int) -> str:
    """A day in the server's time zone (Morocco), as a date field takes it."""
    today = datetime.now(tz=ZoneInfo("Africa/Casablanca")).date()
    return (today - timedelta(days=days)).isoformat()


def path_of(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("#", 1)[0]


def submit(page: Page, button: str) -> None:
    """Click a submit button and wait for the page it leads to."""
    with page.expect_navigation(wait_until="load"):
        page.click(button)


def sign_in_password(page: Page, base_url: str, account: Account, next_path: str = "") -> None:
    url = f"{base_url}/accounts/login/"
    if next_path:
        url += f"?next={next_path}"
    page.goto(url)
    page.fill("input[name=username]", account.username)
    page.fill("input[name=password]", account.password)
    submit(page, "main form[action$='/accounts/login/'] button[type=submit]")


def sign_in(page: Page, base_url: str, account: Account, next_path: str = "") -> None:
    """Password, then a real TOTP code, through the real pages."""
    sign_in_password(page, base_url, account, next_path)
    assert path_of(page) == "/accounts/login/code/", f"password refused: {page.url}"
    page.fill("input[name=code]", account.code())
    submit(page, "main form[action$='/accounts/login/code/'] button[type=submit]")
    assert not path_of(page).startswith("/accounts/login"), f"code refused: {page.url}"


def switch_language(page: Page, code: str) -> None:
    """The buttons at the top of every page (a plain form: works without JavaScript)."""
    submit(page, f"form.shell-lang button[name=language][value={code}]")
    assert page.get_attribute("html", "lang") == code


def text_of(page: Page, selector: str = "main") -> str:
    return page.inner_text(selector)


def csrf_token(page: Page) -> str:
    token = page.get_attribute("meta[name=csrf-token]", "content")
    assert token, "the page carries no CSRF token"
    return token


# --- accessibility ---------------------------------------------------------------------------


def install_axe(context: BrowserContext) -> None:
    """Load axe-core into every page of ``context``.

    Through the DevTools protocol (an init script), not a <script> element: the pages' CSP
    (``script-src 'self'``) refuses inline code, and must keep refusing it during the audit."""
    context.add_init_script(path=str(AXE_SCRIPT))


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.rule} ({self.impact}): {self.help} — {', '.join(self.targets[:5])}"


def axe_violations(page: Page) -> list[Violation]:
    """WCAG 2.0/2.1/2.2 A and AA violations on the page as it is now."""
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    result = page.evaluate(
        "async (options) => { const r = await axe.run(document, options);"
        " return r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,"
        " targets: v.nodes.map(n => JSON.stringify(n.target))})); }",
        options,
    )
    return [
        Violation(
            rule=item["id"],
            impact=item["impact"],
            help=item["help"],
            targets=tuple(json.loads(t)[0] if t.startswith("[") else t for t in item["targets"]),
        )
        for item in result
    ]
