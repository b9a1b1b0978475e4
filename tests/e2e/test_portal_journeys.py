"""The survivor portal in a real browser, with JavaScript off and on, in Arabic and French.

Each journey: from the start page she files a request for help or a complaint, screen by
screen; it appears in the demo unit's queue (and, for a complaint, the prosecutor's); she
comes back with her codename in a fresh browser; the unit writes to her and the message is
in her portal inbox; she leaves with quick exit. Afterwards no cookie remains, and going
back finds nothing about her: with JavaScript on the whole visit was ONE history entry
(replaced by quick exit), with it off the portal entries remain (a documented limit) but
reopen nothing. With JavaScript on, axe-core checks every page against WCAG 2.2 AA.

Quick exit lands on a neutral site on the internet, which this machine cannot resolve: the
journeys check that the browser was sent there, and what it left behind.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.browser import (
    TIMEOUT_MS,
    Violation,
    axe_violations,
    install_axe,
    new_page,
    sign_in,
    text_of,
)
from tests.e2e.conftest import Journey

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

pytestmark = pytest.mark.e2e

NEUTRAL = "https://www.google.com/"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE: ViewportSize = {"width": 360, "height": 780}
STEPS = ("who", "what", "when", "where", "place", "safety", "contact", "identity", "review")


class Her:
    """Her phone: one private browser context, JavaScript on or off."""

    def __init__(self, journey: Journey, *, js: bool, lang: str) -> None:
        self.journey = journey
        self.js = js
        self.lang = lang
        self.context = journey.browser.new_context(
            viewport=PHONE, java_script_enabled=js, locale="ar-MA" if lang == "ar" else "fr-MA"
        )
        journey._contexts.append(self.context)
        if js:
            install_axe(self.context)
        self.page = new_page(self.context, journey.console)
        self.violations: dict[str, list[Violation]] = {}

    def url(self, path: str) -> str:
        return f"{self.journey.url}/p/{self.lang}/{path}"

    def audit(self, name: str) -> None:
        if self.js:
            found = axe_violations(self.page)
            if found:
                self.violations[f"{name} [{self.lang}]"] = found

    def click(self, selector: str, *, then: str) -> None:
        """Press a button or link and wait for what the next screen shows (with JavaScript
        the page changes in place; without, the browser navigates)."""
        if self.js:
            self.page.click(selector)
        else:
            with self.page.expect_navigation(wait_until="load"):
                self.page.click(selector)
        self.page.wait_for_selector(then, state="attached", timeout=TIMEOUT_MS)


def _step(her: Her, step: str, fill: Any) -> None:
    her.page.wait_for_selector(f"input[name=step][value={step}]", state="attached")
    her.audit(f"form {step}")
    fill()
    following = STEPS[STEPS.index(step) + 1] if step != "review" else None
    target = f"input[name=step][value={following}]" if following else "p.code"
    her.click("button[name=go][value=next]", then=target)


def _file(her: Her, kind: str, place: dict[str, Any]) -> tuple[str, str]:
    page = her.page
    page.goto(her.url(""))
    her.audit("start")
    her.click(f"form:has(input[name=kind][value={kind}]) button", then="input[name=step]")
    _step(her, "who", lambda: page.check("input[name=who][value=self]"))

    def what() -> None:
        page.check("input[name=forms_][value=physical]")
        page.select_option("select[name=relationship]", "spouse")
        page.fill("textarea[name=account]", "Synthetic test: he hit me yesterday evening.")

    _step(her, "what", what)
    _step(her, "when", lambda: page.check("input[name=when][value=yesterday]"))
    _step(her, "where", lambda: page.select_option("select[name=province]", place["province"]))
    _step(her, "place", lambda: page.select_option("select[name=commune]", str(place["commune"])))
    _step(her, "safety", lambda: page.check("input[name=safe_now][value=yes]"))
    _step(her, "contact", lambda: page.check("input[name=channel][value=portal]"))

    def identity() -> None:
        page.fill("input[name=full_name]", "Synthetic Portal Tester")
        page.fill("input[name=cin]", "ZZ123456")

    _step(her, "identity", identity)
    _step(her, "review", lambda: None)
    her.audit("done")
    codename = page.inner_text("p.code").strip()
    assert len(codename.split()) >= 6
    receipt = page.get_attribute("input[name=receipt]", "value") or ""
    payload = receipt.split(":", 1)[0]
    reference = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["r"]
    return codename, str(reference)


def _staff_page(journey: Journey, account: str) -> Any:
    page = journey.page()
    sign_in(page, journey.url, journey.world.account(account))
    return page


@pytest.mark.parametrize(
    ("js", "lang", "kind"),
    [
        (False, "ar", "help"),
        (False, "fr", "complaint"),
        (True, "ar", "complaint"),
        (True, "fr", "help"),
    ],
    ids=["js-off-ar-help", "js-off-fr-complaint", "js-on-ar-complaint", "js-on-fr-help"],
)
def test_she_files_follows_and_leaves_no_trace(
    e2e: Journey, js: bool, lang: str, kind: str
) -> None:
    place = e2e.world.facts["place"]
    her = Her(e2e, js=js, lang=lang)
    codename, reference = _file(her, kind, place)
    if js and lang == "ar":
        her.page.screenshot(path=str(SCREENSHOTS / "portal-done-ar.png"), full_page=True)

    # The unit sees it in its queue (first contact: online) and writes to her.
    staff = _staff_page(e2e, "portal.unit")
    staff.goto(f"{e2e.url}/cases/" + ("alerts/" if kind == "complaint" else ""))
    assert reference in text_of(staff)
    staff.click(f"a:has-text('{reference}')")
    staff.wait_for_load_state("load")
    case_url = staff.url.split("#")[0].split("?")[0].rstrip("/")
    staff.goto(f"{case_url}/messages/")
    staff.fill("textarea[name=body]", f"Synthetic message to {reference}: we call you tomorrow.")
    with staff.expect_navigation(wait_until="load"):
        staff.click("form[action$='/messages/send/'] button[type=submit]")

    if kind == "complaint":
        prosecutor = _staff_page(e2e, "portal.prosecutor")
        prosecutor.goto(f"{e2e.url}/justice/")
        assert reference in text_of(prosecutor)

    # A fresh phone: she comes back with her codename.
    back = Her(e2e, js=js, lang=lang)
    back.page.goto(back.url("follow/"))
    back.audit("follow")
    back.page.fill("input[name=codename]", codename)
    back.click("form[action$='/follow/'] button[type=submit]", then="nav.mine")
    back.audit("case")
    back.click("nav.mine a[href$='/mine/messages/']", then="textarea[name=body]")
    back.audit("messages")
    assert f"Synthetic message to {reference}" in text_of(back.page)
    if js and lang == "fr":
        back.page.screenshot(path=str(SCREENSHOTS / "portal-messages-fr.png"), full_page=True)
    for link in ("/mine/opened/", "/mine/breach/"):
        back.click(f"nav.mine a[href$='{link}']", then="h1")
        back.audit(link)

    # Quick exit: the neutral site, no cookie, nothing to go back to. (This machine cannot
    # resolve the neutral site, and Playwright cannot answer for a redirect's target: the
    # journey checks that the browser went there, then what it left behind.)
    with back.page.expect_request(lambda r: r.url.startswith(NEUTRAL)):
        if js:
            back.page.keyboard.press("Escape")
        else:
            back.page.click("a.exit")
    for _ in range(100):
        if "/p/" not in back.page.url:
            break
        back.page.wait_for_timeout(100)
    assert "/p/" not in back.page.url
    assert back.context.cookies() == []
    if js:
        back.page.go_back()
        assert "/p/" not in back.page.url, "a portal page is still in the history"
    else:
        # The page reopens only to say the session has ended (401).
        e2e.console.expect_status(401)
        back.page.go_back()
        shown = back.page.content()
        assert f"Synthetic message to {reference}" not in shown
        assert codename not in shown

    found_all = {**her.violations, **back.violations}
    assert not found_all, "\n".join(f"{name}: {v}" for name, vs in found_all.items() for v in vs)


def test_the_portal_pages_on_a_phone(e2e: Journey) -> None:
    """Screenshots for the guide (docs/screenshots/portal-*.png), 360 px wide."""
    her = Her(e2e, js=True, lang="ar")
    her.page.goto(her.url(""))
    her.page.screenshot(path=str(SCREENSHOTS / "portal-start-ar.png"), full_page=True)
    fr = Her(e2e, js=True, lang="fr")
    fr.page.goto(fr.url(""))
    fr.page.screenshot(path=str(SCREENSHOTS / "portal-start-fr.png"), full_page=True)
    fr.click("form:has(input[name=kind][value=complaint]) button", then="input[name=step]")
    fr.click("button[name=go][value=next]", then="input[name=step][value=what]")
    fr.page.screenshot(path=str(SCREENSHOTS / "portal-form-fr.png"), full_page=True)
    zgh = Her(e2e, js=True, lang="zgh")
    zgh.page.goto(zgh.url("safety/"))
    zgh.page.screenshot(path=str(SCREENSHOTS / "portal-safety-zgh.png"), full_page=True)
    assert not (her.violations)
    assert not (fr.violations)
    assert not (zgh.violations)
