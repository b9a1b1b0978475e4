"""Justice journey.

9. A unit officer forwards her complaint to the prosecutor from the case (her consent is on
   record); the demo prosecutor finds it in the office's queue, reads what the office
   received and why, opens proceedings, orders a no-contact measure and sets a hearing. The
   unit sees the measure on the case's justice page. Each justice page passes axe-core.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import axe_violations, path_of, sign_in, submit, switch_language, text_of
from tests.e2e.conftest import Journey

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

COMPLAINT_PATH = re.compile(r"^/justice/complaints/(\d+)/$")


def _no_violations(page: Page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe on {where}: {violations}"


def test_a_unit_forwards_and_the_prosecutor_orders_a_measure_and_a_hearing(
    e2e: Journey,
) -> None:
    facts = e2e.world.facts["justice"]
    case_id, office_id = facts["case"], facts["office"]

    officer = e2e.page(axe=True)
    sign_in(officer, e2e.url, e2e.world.account("justice.unit"))
    switch_language(officer, "en")
    officer.goto(f"{e2e.url}/cases/{case_id}/")
    reference = officer.inner_text("h1").strip()
    submit(officer, "#justice a")
    assert path_of(officer) == f"/justice/cases/{case_id}/"
    assert "Not forwarded to the prosecutor" in text_of(officer)
    _no_violations(officer, "the case's justice page")
    officer.select_option("select[name=office_id]", str(office_id))
    submit(officer, "#forward button[type=submit]")
    assert "Complaint forwarded to the prosecutor" in text_of(officer, "body")
    complaint_link = officer.locator("#complaints a[href^='/justice/complaints/']")
    assert complaint_link.count() == 1
    complaint_path = complaint_link.get_attribute("href")
    assert complaint_path is not None
    assert "Awaiting the prosecutor's decision" in text_of(officer)

    prosecutor = e2e.page(axe=True)
    sign_in(prosecutor, e2e.url, e2e.world.account("justice.prosecutor"))
    switch_language(prosecutor, "en")
    prosecutor.goto(f"{e2e.url}/justice/")
    _no_violations(prosecutor, "the prosecutor's queue")
    assert prosecutor.locator(f"#awaiting a[href='{complaint_path}']").count() == 1
    submit(prosecutor, f"#awaiting a[href='{complaint_path}']")
    assert COMPLAINT_PATH.match(path_of(prosecutor)) is not None
    assert reference not in prosecutor.title()
    received = prosecutor.inner_text("#received")
    assert "Her consent" in received
    assert "Her account and how she was heard" in received
    assert "synthetic demo data" in text_of(prosecutor)  # her account, read through the grant
    _no_violations(prosecutor, "the complaint page")

    prosecutor.select_option("#decisions select[name=kind]", "open_proceedings")
    submit(prosecutor, "#decisions button[type=submit]")
    assert "Proceedings opened" in text_of(prosecutor)

    prosecutor.select_option("#measures select[name=kind]", "no_contact")
    prosecutor.select_option("#measures select[name=legal_basis]", "pc_88_3")
    prosecutor.select_option("#measures select[name=authority]", "prosecutor")
    prosecutor.evaluate(
        "([start, end]) => {"
        " document.querySelector('#measures input[name=starts_on]').value = start;"
        " document.querySelector('#measures input[name=ends_on]').value = end; }",
        [_date(0), _date(90)],
    )
    submit(prosecutor, "#measures form.card button[type=submit]")
    assert "Protection measure recorded" in text_of(prosecutor, "body")
    assert "No contact with her" in prosecutor.inner_text("#measures")

    prosecutor.evaluate(
        "(when) => { document.querySelector('#hearings input[name=scheduled_at]').value = when; }",
        _date(14) + "T09:30",
    )
    prosecutor.fill("#hearings input[name=place]", "Tribunal de première instance, salle 2")
    submit(prosecutor, "#hearings form.card button[type=submit]")
    assert "Hearing set" in text_of(prosecutor, "body")
    assert "salle 2" in prosecutor.inner_text("#hearings")
    _no_violations(prosecutor, "the complaint page with a measure and a hearing")

    officer.goto(f"{e2e.url}/justice/cases/{case_id}/")
    assert "No contact with her" in officer.inner_text("#measures")
    assert "Proceedings opened" in text_of(officer)


def _date(days: int) -> str:
    return (datetime.now(tz=UTC).date() + timedelta(days=days)).isoformat()
