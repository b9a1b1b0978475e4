"""Journey 6: the main pages, photographed in Arabic and in French as the demo accounts see
them, for people to look at (``test-artifacts/screenshots/``, git-ignored; a chosen few are
copied by hand to ``docs/screenshots/``, see its README).

Each picture is taken only once its page shows what it is for (the queue's table, the
station's suggestion, the map), so a broken page fails here instead of being photographed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import path_of, sign_in, submit, switch_language
from tests.e2e.conftest import Journey

pytestmark = pytest.mark.e2e

SHOTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LANGUAGES = ("ar", "fr")


def _shot(page: Any, language: str, name: str, ready: str) -> Path:
    page.wait_for_selector(ready, state="visible")
    assert page.get_attribute("html", "lang") == language
    # The top of the page, nothing focused (typing scrolled to the field and selected it).
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    target = SHOTS_DIR / f"{language}-{name}.png"
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000, f"{target.name} is nearly empty"
    return target


def test_screenshots_of_the_main_pages_in_arabic_and_french(e2e: Journey) -> None:
    world = e2e.world
    base = e2e.url
    taken: list[Path] = []

    anonymous = e2e.page()
    anonymous.goto(f"{base}/accounts/login/")
    for language in LANGUAGES:
        switch_language(anonymous, language)
        taken.append(_shot(anonymous, language, "1-sign-in", "input[name=password]"))

    officer = e2e.page()
    sign_in(officer, base, world.account("demo.officer"))
    for language in LANGUAGES:
        switch_language(officer, language)
        officer.goto(f"{base}/cases/")
        taken.append(_shot(officer, language, "2-queue", "table.case-table a.case-ref"))

        officer.goto(f"{base}/cases/intake/")
        submit(officer, "main .intake > form button[type=submit]")
        draft = path_of(officer).rsplit("/", 2)[0]
        officer.goto(f"{base}{draft}/survivor/")
        officer.fill("input[name=full_name]", "أمينة التازي" if language == "ar" else "Amina Tazi")
        officer.fill("input[name=phone]", "0612345678")
        officer.fill("input[name=date_of_birth]", "1990-04-02")
        taken.append(_shot(officer, language, "3-intake-survivor", "input[name=full_name]"))
        officer.goto(f"{base}{draft}/consent/")
        officer.check("input[name=share_prosecutor][value=yes]")
        taken.append(_shot(officer, language, "4-intake-consent", "input[name=statistics]"))

        officer.goto(f"{base}/cases/{world.facts['demo_case']['id']}/")
        taken.append(_shot(officer, language, "5-case", "h1 .case-ref"))

        officer.goto(f"{base}/network/map/")
        taken.append(_shot(officer, language, "7-map", "svg.network-map"))

        # The unit's referrals: what stations sent and she still waits on, then the rest.
        officer.goto(f"{base}/referrals/")
        taken.append(_shot(officer, language, "8-referrals-waiting", "nav.case-tabs"))
        officer.goto(f"{base}/referrals/?tab=done")
        taken.append(_shot(officer, language, "9-referrals-answered", "nav.case-tabs"))

    focal = e2e.page()
    sign_in(focal, base, world.account("demo.focal"))
    for language in LANGUAGES:
        switch_language(focal, language)
        focal.goto(f"{base}/network/")
        taken.append(_shot(focal, language, "6-directory", "section.station-panel a"))

    assert len(taken) == 18
    e2e.assert_clean_console()
