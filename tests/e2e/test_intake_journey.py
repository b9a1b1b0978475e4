"""Journey 1: a unit officer signs in (password and a real TOTP code), hears a survivor
through the guided intake in Arabic, opens her file and finds it again by phone; then the
same in French with another spelling of her name, found again by the Arabic spelling.

Everything happens in Chromium against a real server: the commune lists follow the
province through htmx, every step is a real form post, and the case page and the search
results are what the officer would read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.browser import days_ago, path_of, sign_in, submit, switch_language, text_of
from tests.e2e.conftest import Journey

pytestmark = pytest.mark.e2e

NEXT = ".intake-actions button[name=action][value=next]"
CASE_PATH = re.compile(r"^/cases/([0-9a-f-]{36})/$")
STEP_PATH = re.compile(r"^/cases/intake/[0-9a-f-]{36}/([a-z]+)/$")


@dataclass(frozen=True)
class Survivor:
    name: str
    phone: str
    perpetrator: str
    narrative: str


ARABIC = Survivor(
    name="فاطمة بنعلي",
    phone="0677001122",
    perpetrator="كريم بنعلي",
    narrative="ضربني أمام الأطفال.\nهددني بأخذهم.",
)
FRENCH = Survivor(
    name="Fatema Ouazzani",
    phone="0677003344",
    perpetrator="Rachid Ouazzani",
    narrative="Il m'a frappée devant les enfants.\nIl menace de les prendre.",
)


def _at_step(page: Any, step: str) -> None:
    found = STEP_PATH.match(path_of(page))
    assert found is not None, f"not on an intake step: {page.url}"
    assert found.group(1) == step, f"expected step {step}: {page.url}"


def _next(page: Any, step: str) -> None:
    submit(page, NEXT)
    _at_step(page, step)


def _pick_commune(page: Any, prefix: str, place: dict[str, Any]) -> None:
    """Province first; htmx brings the province's communes into the second list."""
    page.select_option(f"select[name={prefix}province]", place["province"])
    commune = str(place["commune"])
    page.wait_for_selector(
        f"select[name={prefix}commune] option[value='{commune}']", state="attached"
    )
    page.select_option(f"select[name={prefix}commune]", commune)


def run_intake(page: Any, base_url: str, survivor: Survivor, place: dict[str, Any]) -> str:
    """The whole interview, step by step, then "Open her case file"; the case's path."""
    page.goto(f"{base_url}/cases/intake/")
    submit(page, "main .intake > form button[type=submit]")
    _at_step(page, "conditions")
    page.select_option("select[name=channel]", "walk_in")
    page.check("input[name=private_room][value=yes]")
    page.check("input[name=interviewer_gender][value=woman]")
    page.check("input[name=interviewer_gender_chosen]")
    _next(page, "survivor")

    page.fill("input[name=full_name]", survivor.name)
    page.fill("input[name=phone]", survivor.phone)
    page.fill("input[name=date_of_birth]", "1991-05-14")
    page.check("input[name=address_declined]")
    _pick_commune(page, "", place)
    page.select_option("select[name=preferred_language]", "ary")
    _next(page, "contact")

    page.check("input[name=channel][value=phone_call]")
    page.fill("input[name=safe_times]", "10:00-12:00")
    page.check("input[name=may_leave_message][value=no]")
    page.check("input[name=code_word_declined]")
    _next(page, "incidents")

    page.check("input[name=inc-0-date_kind][value=day]")
    page.fill("input[name=inc-0-occurred_on]", days_ago(3))
    _pick_commune(page, "inc-0-", place)
    page.check("input[name=inc-0-forms][value=physical]")
    page.check("input[name=inc-0-forms][value=psychological]")
    page.check("input[name=inc-0-context][value=intimate_partner]")
    _next(page, "perpetrators")

    page.select_option("select[name=per-0-relationship]", "spouse")
    page.fill("input[name=per-0-full_name]", survivor.perpetrator)
    _next(page, "dependants")
    _next(page, "consent")  # no child recorded: the step may stay empty

    page.check("input[name=share_prosecutor][value=yes]")
    page.check("input[name=share_prosecutor_scope][value=identity]")
    page.check("input[name=share_prosecutor_scope][value=incidents]")
    page.check("input[name=statistics][value=yes]")
    _next(page, "narrative")

    page.fill("textarea[name=narrative]", survivor.narrative)
    _next(page, "review")

    review = text_of(page)
    assert survivor.name in review
    assert survivor.perpetrator in review
    opener = "form[action$='/submit/'] button[type=submit]"
    assert page.is_enabled(opener), "the review says some answers still need correcting"
    submit(page, opener)
    case_path = path_of(page)
    assert CASE_PATH.match(case_path), f"not on a case page after opening it: {page.url}"
    return case_path


def check_case_page(page: Any, survivor: Survivor) -> str:
    """Her file as the unit reads it; its reference."""
    reference: str = page.inner_text("h1 .case-ref").strip()
    assert re.fullmatch(r"U\d+-\d{4}-\d+", reference), reference
    body = text_of(page)
    assert survivor.name in body
    assert survivor.perpetrator in body
    assert survivor.narrative.splitlines()[0] in body
    # Her name is on the page, never in what a browser history keeps.
    assert survivor.name not in page.title()
    assert survivor.phone[1:] not in page.url
    return reference


def search(page: Any, base_url: str, **fields: str) -> list[str]:
    """The search page, as the officer fills it; the references of her unit's files found."""
    page.goto(f"{base_url}/cases/search/")
    for name, value in fields.items():
        page.fill(f"form.case-search input[name={name}]", value)
    submit(page, "form.case-search button[type=submit]")
    assert path_of(page) == "/cases/search/", "a search never puts what was typed in the URL"
    for value in fields.values():
        assert value not in page.url
    return [ref.strip() for ref in page.locator("table.case-table a.case-ref").all_inner_texts()]


def open_found(page: Any, reference: str) -> str:
    submit(page, f"table.case-table a.case-ref:has-text('{reference}')")
    landed: str = path_of(page)
    return landed


def test_an_officer_opens_a_case_in_arabic_and_in_french_and_finds_each_again(
    e2e: Journey,
) -> None:
    world = e2e.world
    place = world.facts["place"]
    page = e2e.page()
    sign_in(page, e2e.url, world.account("officer"))

    # --- in Arabic: the page turns right to left ------------------------------------------
    switch_language(page, "ar")
    assert page.get_attribute("html", "dir") == "rtl"
    arabic_case = run_intake(page, e2e.url, ARABIC, place)
    assert page.get_attribute("html", "dir") == "rtl"
    arabic_reference = check_case_page(page, ARABIC)

    # Found again by her phone, typed the international way this time.
    found = search(page, e2e.url, phone="+212 677 00 11 22")
    assert found == [arabic_reference]
    assert open_found(page, arabic_reference) == arabic_case

    # --- in French, another spelling of the same first name --------------------------------
    switch_language(page, "fr")
    assert page.get_attribute("html", "dir") == "ltr"
    french_case = run_intake(page, e2e.url, FRENCH, place)
    french_reference = check_case_page(page, FRENCH)
    assert french_reference != arabic_reference

    # Her first name in Arabic letters finds the file opened as "Fatema", and the Latin
    # spelling finds the file opened as "فاطمة".
    by_arabic_spelling = search(page, e2e.url, name="فاطمة")
    assert french_reference in by_arabic_spelling
    assert arabic_reference in by_arabic_spelling
    by_latin_spelling = search(page, e2e.url, name="Fatima")
    assert arabic_reference in by_latin_spelling
    assert open_found(page, french_reference) == french_case
    # The phone of one never finds the other.
    assert search(page, e2e.url, phone=FRENCH.phone) == [french_reference]

    e2e.assert_clean_console()
