"""Journey 5: the pages staff use every day meet WCAG 2.2 level AA, as axe-core checks it.

axe-core (vendored under ``tests/e2e/vendor``, MPL-2.0) runs in Chromium on each page as it
is shown — sign-in, home, queue, search with results, every step of the intake (and one
with a mistake to correct), the case page, the directory, an agency page, the map — in
Arabic (right to left) and in French. Rules tagged WCAG 2.0/2.1/2.2 A and AA only.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser import (
    Violation,
    axe_violations,
    days_ago,
    path_of,
    sign_in,
    sign_in_password,
    submit,
    switch_language,
)
from tests.e2e.conftest import Journey
from tests.e2e.test_intake_journey import NEXT, STEP_PATH

pytestmark = pytest.mark.e2e

INTAKE_STEPS = (
    "conditions",
    "survivor",
    "contact",
    "incidents",
    "perpetrators",
    "dependants",
    "consent",
    "narrative",
    "review",
)


class Audit:
    def __init__(self, journey: Journey, page: Any) -> None:
        self.journey = journey
        self.page = page
        self.found: dict[str, list[Violation]] = {}

    def expect_422(self) -> None:
        # A step with something to correct is answered 422, which Chromium logs.
        self.journey.console.expect_status(422)

    def check(self, name: str) -> None:
        violations = axe_violations(self.page)
        if violations:
            self.found[f"{name} [{self.page.get_attribute('html', 'lang')}]"] = violations

    def visit(self, name: str, url: str) -> None:
        self.page.goto(url)
        self.check(name)

    def report(self) -> str:
        return "\n".join(
            f"{page}:\n" + "\n".join(f"  - {v}" for v in violations)
            for page, violations in self.found.items()
        )


def _intake(audit: Audit, base_url: str, phone: str) -> str:
    """Every step of an interview, audited as shown; then the case it opens. Its path."""
    page = audit.page
    page.goto(f"{base_url}/cases/intake/")
    audit.check("intake start")
    submit(page, "main .intake > form button[type=submit]")
    for step in INTAKE_STEPS:
        page.goto(base_url + path_of(page).rsplit("/", 2)[0] + f"/{step}/")
        audit.check(f"intake step {step}")
    # A mistake, shown next to its field and in the summary on top.
    page.goto(base_url + path_of(page).rsplit("/", 2)[0] + "/survivor/")
    page.fill("input[name=phone]", "12")
    audit.expect_422()
    submit(page, NEXT)
    assert page.locator("#intake-errors").count() == 1, "the mistake was not reported"
    audit.check("intake step with a mistake")
    page.fill("input[name=phone]", phone)
    submit(page, NEXT)
    draft = path_of(page).rsplit("/", 2)[0]
    page.goto(f"{base_url}{draft}/conditions/")
    page.select_option("select[name=channel]", "walk_in")
    submit(page, NEXT)
    page.goto(f"{base_url}{draft}/incidents/")
    page.check("input[name=inc-0-date_kind][value=day]")
    page.fill("input[name=inc-0-occurred_on]", days_ago(1))
    page.check("input[name=inc-0-forms][value=psychological]")
    submit(page, NEXT)
    page.goto(f"{base_url}{draft}/review/")
    assert STEP_PATH.match(path_of(page))
    audit.check("intake review, ready")
    submit(page, "form[action$='/submit/'] button[type=submit]")
    audit.check("case page, just opened")
    return path_of(page)


def test_the_main_pages_have_no_wcag_a_or_aa_violation(e2e: Journey) -> None:
    world = e2e.world
    base = e2e.url
    page = e2e.page(axe=True)
    audit = Audit(e2e, page)

    audit.visit("sign-in", f"{base}/accounts/login/")
    sign_in_password(page, base, world.account("axe"))
    audit.check("sign-in code")
    page.goto(f"{base}/accounts/login/")  # start again: the code page is behind us
    sign_in(page, base, world.account("axe"))

    for language, phone in (("ar", "0677005566"), ("fr", "0677007788")):
        switch_language(page, language)
        audit.visit("home", f"{base}/")
        audit.visit("queue", f"{base}/cases/")
        _intake(audit, base, phone)
        audit.visit("search", f"{base}/cases/search/")
        page.fill("form.case-search input[name=phone]", phone)
        submit(page, "form.case-search button[type=submit]")
        assert page.locator("table.case-table a.case-ref").count() == 1
        audit.check("search with a result")
        audit.visit("demo case page", f"{base}/cases/{world.facts['demo_case']['id']}/")
        audit.visit("directory", f"{base}/network/")
        audit.visit("agency", f"{base}/network/agencies/{world.facts['unit']['id']}/")
        if language == "ar":  # the map's marks carry the same names in both languages
            audit.visit("map", f"{base}/network/map/")

    # The focal point's own directory, with her station's panel, and a shelter's page.
    focal = e2e.page(axe=True)
    audit.page = focal
    sign_in(focal, base, world.account("axe.focal"))
    for language in ("ar", "fr"):
        switch_language(focal, language)
        audit.visit("directory of a focal point", f"{base}/network/")
        audit.visit("shelter", f"{base}/network/agencies/{world.facts['shelter']['id']}/")

    assert not audit.found, "WCAG A/AA violations:\n" + audit.report()
    e2e.assert_clean_console()
