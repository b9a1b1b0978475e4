"""Journeys 3 and 4, in the service network.

3. The district focal point opens the directory and sees, for her own station, the police
   unit to refer survivors to (the station's default unit), in her language.
4. A shelter's address is never shown to a focal point, not even when she forges the
   request; the unit chief sees it only after a fresh second factor and a written reason,
   once, and it is gone when she reloads the page.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.browser import csrf_token, path_of, sign_in, submit, switch_language, text_of
from tests.e2e.conftest import STEP_UP_SECONDS, Journey

pytestmark = pytest.mark.e2e


def test_the_focal_point_sees_the_unit_her_station_refers_to(e2e: Journey) -> None:
    facts = e2e.world.facts
    station, unit = facts["station"], facts["station"]["default_unit"]
    page = e2e.page()
    sign_in(page, e2e.url, e2e.world.account("focal"))
    switch_language(page, "fr")

    page.goto(f"{e2e.url}/network/")
    panel = page.locator("section.station-panel")
    assert panel.count() == 1, "the directory shows no panel for her station"
    assert station["name_fr"] in panel.inner_text()
    suggested = panel.locator(".route-answer__main a")
    assert suggested.inner_text().strip() == unit["name_fr"]
    assert suggested.get_attribute("href") == f"/network/agencies/{unit['id']}/"

    # The same answer in Arabic, with the names the unit and station carry in Arabic.
    switch_language(page, "ar")
    assert page.get_attribute("html", "dir") == "rtl"
    panel = page.locator("section.station-panel")
    assert station["name_ar"] in panel.inner_text()
    assert panel.locator(".route-answer__main a").inner_text().strip() == unit["name_ar"]

    # Following the suggestion opens the unit's own page.
    submit(page, "section.station-panel .route-answer__main a")
    assert path_of(page) == f"/network/agencies/{unit['id']}/"
    assert page.inner_text("main h1").strip() == unit["name_ar"]

    e2e.assert_clean_console()


def _shelter_path(facts: dict[str, Any]) -> str:
    return f"/network/agencies/{facts['shelter']['id']}/"


def test_a_focal_point_never_sees_a_shelter_address(e2e: Journey) -> None:
    facts = e2e.world.facts
    address = facts["shelter"]["address"]
    page = e2e.page()
    sign_in(page, e2e.url, e2e.world.account("focal"))
    switch_language(page, "fr")

    page.goto(f"{e2e.url}{_shelter_path(facts)}")
    assert page.inner_text("main h1").strip() == facts["shelter"]["name_fr"]
    assert page.locator("form[action$='/address/']").count() == 0
    assert page.locator(".revealed-address").count() == 0
    assert address not in page.content()

    # Forging the form she was never offered: refused, and still nothing of the address.
    response = page.request.post(
        f"{e2e.url}{_shelter_path(facts)}address/",
        form={"reason": "Je dois accompagner la survivante ce soir."},
        headers={"X-CSRFToken": csrf_token(page), "Referer": page.url, "Origin": e2e.url},
    )
    assert response.status == 403
    assert address not in response.text()

    e2e.assert_clean_console()


def test_a_unit_chief_reveals_a_shelter_address_only_after_a_fresh_code(
    e2e: Journey,
) -> None:
    world = e2e.world
    facts = world.facts
    address = facts["shelter"]["address"]
    reason = "Accompagner la survivante au centre ce soir."
    # Her sign-in at the start of the journeys no longer counts as a fresh second factor.
    time.sleep(max(0.0, world.early_chief_at + STEP_UP_SECONDS + 1 - time.monotonic()))
    assert world.early_chief_state is not None, "the chief did not sign in at the start"
    page = e2e.page(storage_state=world.early_chief_state)
    page.goto(f"{e2e.url}/")
    switch_language(page, "fr")

    page.goto(f"{e2e.url}{_shelter_path(facts)}")
    assert address not in page.content()
    page.fill("textarea[name=reason]", reason)
    submit(page, "form[action$='/address/'] button[type=submit]")

    # Asked for a fresh code, and shown nothing meanwhile.
    assert path_of(page).startswith("/accounts/step-up/"), page.url
    assert address not in page.content()
    page.fill("input[name=code]", world.account("chief").code())
    submit(page, "main form[action$='/accounts/step-up/'] button[type=submit]")
    assert path_of(page) == _shelter_path(facts)
    assert address not in page.content()

    # With the fresh code and her reason: the address, once.
    page.fill("textarea[name=reason]", reason)
    submit(page, "form[action$='/address/'] button[type=submit]")
    assert page.inner_text(".revealed-address").strip() == address
    assert address not in page.title()
    assert address not in page.url

    # It is not kept anywhere the page can bring back.
    page.goto(f"{e2e.url}{_shelter_path(facts)}")
    assert address not in page.content()
    assert text_of(page).strip()

    e2e.assert_clean_console()
