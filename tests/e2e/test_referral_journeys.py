"""Referral journeys.

7. A district focal point records a survivor's first contact and refers her to the unit
   routing suggests; an officer of that unit opens the referral, reads what she needed,
   accepts it, and her case file opens with her name already in it (nothing re-typed).
8. A shelter's service provider opens a referral from her queue, reads "what you received
   and why", sees her identity and contact but not her account, and accepts it.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import path_of, sign_in, submit, switch_language, text_of
from tests.e2e.conftest import Journey

pytestmark = pytest.mark.e2e

REFERRAL_PATH = re.compile(r"^/referrals/([0-9a-f-]{36})/$")
CASE_PATH = re.compile(r"^/cases/([0-9a-f-]{36})/$")
NAME = "Salma Journey-Referral"


def test_a_focal_point_refers_her_and_the_unit_accepts(e2e: Journey) -> None:
    facts = e2e.world.facts
    unit = facts["station"]["default_unit"]
    focal = e2e.page()
    sign_in(focal, e2e.url, e2e.world.account("ref.focal"))
    switch_language(focal, "fr")
    focal.goto(f"{e2e.url}/referrals/first-contact/")
    assert unit["name_fr"] in text_of(focal)  # routing's suggestion, named
    focal.fill("input[name=full_name]", NAME)
    focal.fill("input[name=phone]", "0677009988")
    focal.fill("textarea[name=needs]", "Un endroit sûr ce soir")
    focal.check("input[name=immediate_danger][value=no]")
    focal.check("input[name=violence][value=physical]")
    focal.check("input[name=declined][value=date]")
    submit(focal, "main form button[type=submit]")
    found = REFERRAL_PATH.match(path_of(focal))
    assert found is not None, f"not on the referral: {focal.url}"
    referral_path = path_of(focal)
    assert unit["name_fr"] in text_of(focal)
    assert NAME not in focal.title()
    focal.goto(f"{e2e.url}/referrals/?tab=sent")
    assert focal.locator(f"a[href='{referral_path}']").count() == 1

    officer = e2e.page()
    sign_in(officer, e2e.url, e2e.world.account("ref.unit"))
    switch_language(officer, "fr")
    officer.goto(f"{e2e.url}/referrals/")
    assert officer.locator(f"a[href='{referral_path}']").count() == 1
    officer.goto(f"{e2e.url}{referral_path}")
    assert "Un endroit sûr ce soir" in text_of(officer)
    submit(officer, "button#accept")
    assert path_of(officer) == referral_path
    assert "accept" in officer.inner_text("#referral-state").lower()
    submit(officer, "main dl a[href^='/cases/']")
    assert CASE_PATH.match(path_of(officer)) is not None
    assert NAME in text_of(officer)  # her name came from the first contact


def test_a_provider_accepts_and_sees_only_the_consented_fields(e2e: Journey) -> None:
    page = e2e.page()
    sign_in(page, e2e.url, e2e.world.account("ref.provider"))
    switch_language(page, "en")
    page.goto(f"{e2e.url}/referrals/")
    waiting = page.locator("table.case-table tbody tr", has_text="Waiting for an answer")
    assert waiting.count() >= 1, "the demo shelter has referrals waiting"
    submit(page, "table.case-table tbody tr:has-text('Waiting for an answer') a.case-ref")
    assert REFERRAL_PATH.match(path_of(page)) is not None
    box = page.inner_text("#received")
    assert "What you received and why" in box
    assert "Identity (name, CIN, date of birth)" in box
    assert "Share with a shelter" in box
    body = text_of(page)
    assert "Her account" not in body
    assert "synthetic demo data] This account is invented" not in body
    submit(page, "button#accept")
    assert "Accepted" in page.inner_text("#referral-state")
