"""Journey 10: one survivor, from a district station to a hearing, in the pages.

The whole path of issue 5 as one continuous story, each hop the page a real person uses,
the staff working in French, her notices in Arabic (she speaks Darija), right to left:

1. a district focal point records her first contact — her name, her phone, what she needs
   tonight, her safe channel (SMS) and safe times that cover now — and refers her to the
   unit routing suggests for her commune;
2. an officer of that unit accepts: her case opens with her name, phone, language and safe
   contact already in it — and her SMS consent, which is what she answered at the station —
   and what she needed is one link away (the station's referral), nothing typed again;
3. the officer records her answers (share with a shelter: identity and contact only;
   share with the prosecutor), names the man she fears, and refers her to a shelter near
   her; the shelter's staff accepts and records her arrival, seeing her identity and
   contact but never his name (not consented), and the shelter has one bed fewer;
4. the officer forwards her complaint to the competent prosecution office; its prosecutor
   opens it from the office's queue, reads her file through the grant (his name, not her
   phone), opens proceedings, orders a no-contact measure and sets a hearing;
5. at every step that concerns her, the SMS "file" backend's outbox receives exactly one
   message to her number, the same neutral sentence in Arabic, and nothing else: no portal
   notice and no call-back task (channels she did not choose);
6. the unit reports a breach of the measure: the unit chief's alerts and the prosecutor's
   queue both show it.

Every page visited passes axe-core (WCAG 2.2 A/AA). Everything goes through the pages; no
hop needs the API. Screenshots: ``test-artifacts/screenshots/journey-*.png`` (git-ignored).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from himaya.cases import notices
from himaya.cases.models import NoticeChannel, NoticeEvent
from himaya.network.models import Language
from tests.e2e.browser import (
    Violation,
    axe_violations,
    days_ago,
    path_of,
    sign_in,
    submit,
    switch_language,
    text_of,
)
from tests.e2e.conftest import Journey

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

SHOTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
MOROCCO = ZoneInfo("Africa/Casablanca")
REFERRAL_PATH = re.compile(r"^/referrals/([0-9a-f-]{36})/$")
CASE_PATH = re.compile(r"^/cases/([0-9a-f-]{36})/$")
COMPLAINT_PATH = re.compile(r"^/justice/complaints/(\d+)/$")
ARABIC_LETTERS = re.compile(r"[\u0600-\u06ff]")

HER_NAME = "نادية الإدريسي"
HER_PHONE = "0661 24 35 71"
HER_NUMBER = "+212661243571"  # as the server stores it (E.164)
NEEDS = "Un endroit sûr ce soir, pour elle et ses deux enfants"
HIM = "Karim Journey-Perpetrator"


def _safe_times() -> str:
    """A window of her day that holds now (Moroccan time), as she would say it."""
    now = datetime.now(tz=MOROCCO)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    return f"{start:%H:%M}-{end:%H:%M}"


def _french(label: Any) -> str:
    with translation.override("fr"):
        return str(label)


def _arabic(label: Any) -> str:
    with translation.override("ar"):
        return str(label)


@dataclass
class Trail:
    """What the journey carries from hop to hop: the outbox, the audits, the pictures."""

    e2e: Journey
    outbox: Path
    seen_sms: int = 0
    violations: dict[str, list[Violation]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.e2e.url

    def staff(self, account: str) -> Page:
        """A fresh browser for one person, signed in with her own code, in French."""
        page = self.e2e.page(axe=True)
        sign_in(page, self.url, self.e2e.world.account(account))
        switch_language(page, "fr")
        return page

    def audit(self, page: Page, where: str) -> None:
        found = axe_violations(page)
        if found:
            self.violations[where] = found

    def go(self, page: Page, path: str, where: str) -> None:
        page.goto(f"{self.url}{path}")
        self.audit(page, where)

    def shot(self, page: Page, name: str) -> None:
        page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
        SHOTS_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS_DIR / f"journey-{name}.png"), full_page=True)

    def sms(self) -> list[dict[str, str]]:
        if not self.outbox.exists():
            return []
        return [json.loads(line) for line in self.outbox.read_text("utf-8").splitlines()]

    def expect_sms(self, count: int, step: str) -> None:
        """Exactly ``count`` new messages since the last step, all to her number, all the
        one neutral sentence in her language (Arabic), naming nothing of what happened."""
        new = self.sms()[self.seen_sms :]
        self.seen_sms += len(new)
        assert len(new) == count, f"{step}: {len(new)} SMS written, {count} expected: {new}"
        expected = notices.sms_text(language="ar")
        forbidden = _words_an_sms_never_holds(self.e2e.world.facts["survivor_journey"])
        for message in new:
            assert message["to"] == HER_NUMBER, f"{step}: an SMS to another number"
            text = message["text"]
            assert text == expected, f"{step}: not the neutral sentence: {text!r}"
            assert ARABIC_LETTERS.search(text), f"{step}: not in her language: {text!r}"
            leaked = [word for word in forbidden if word.lower() in text.lower()]
            assert not leaked, f"{step}: the SMS names {leaked}"


def _words_an_sms_never_holds(facts: dict[str, Any]) -> list[str]:
    """What the man holding her phone must never read: who, where, what happened."""
    return [
        HER_NAME,
        HIM,
        NEEDS,
        facts["unit"]["name_ar"],
        facts["unit"]["name_fr"],
        facts["shelter"]["name_fr"],
        facts["office"]["name_fr"],
        "http",
        "/",
        *(_arabic(event.label) for event in NoticeEvent),
        "شرطة",  # police
        "عنف",  # violence
        "نيابة",  # prosecution
        "جلسة",  # hearing
        "محكمة",  # court
        "police",
        "violence",
    ]


def _open_details(page: Page, section: str) -> None:
    """A form folded in a <details> (the consent form, the breach form): unfold it."""
    details = page.locator(f"{section} details").first
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def _free_beds(page: Page, shelter_name: str) -> int:
    row = page.locator("ol.referral-candidates li", has_text=shelter_name)
    assert row.count() == 1, f"the shelter is not among the candidates: {text_of(page)}"
    last_line = row.inner_text().strip().splitlines()[-1]
    found = re.search(r"\d+", last_line)
    assert found is not None, f"no free beds shown: {last_line!r}"
    return int(found.group())


def test_her_journey_from_a_district_station_to_a_hearing(e2e: Journey) -> None:
    facts = e2e.world.facts["survivor_journey"]
    unit, shelter, office = facts["unit"], facts["shelter"], facts["office"]
    trail = Trail(e2e=e2e, outbox=Path(facts["sms_outbox"]))
    trail.seen_sms = len(trail.sms())  # what the demo and earlier journeys wrote
    safe_times = _safe_times()

    # --- 1. the district focal point: her first contact, referred to the unit ---------------
    focal = trail.staff("journey.focal")
    trail.go(focal, "/referrals/first-contact/", "first contact (focal point)")
    focal.check("input[name=immediate_danger][value=no]")
    focal.fill("textarea[name=needs]", NEEDS)
    focal.fill("input[name=full_name]", HER_NAME)
    focal.fill("input[name=phone]", HER_PHONE)
    focal.select_option("select[name=safe_channel]", "sms")
    focal.fill("input[name=safe_times]", safe_times)
    focal.check("input[name=may_leave_message]")
    focal.select_option("select[name=preferred_language]", "ary")
    focal.fill("input[name=commune]", facts["commune"]["code"])
    focal.check("input[name=violence][value=physical]")
    focal.fill("input[name=occurred_on]", days_ago(1))
    trail.shot(focal, "1-first-contact-fr")
    submit(focal, "main form button[type=submit]")
    assert REFERRAL_PATH.match(path_of(focal)), f"not on the referral: {focal.url}"
    referral_path = path_of(focal)
    trail.audit(focal, "the station's referral")
    assert unit["name_fr"] in text_of(focal), "not referred to the unit routing suggests"
    assert HER_NAME not in focal.title()
    trail.expect_sms(0, "first contact")

    # --- 2. the unit accepts: her case opens, nothing re-typed ------------------------------
    officer = trail.staff("journey.unit")
    trail.go(officer, "/referrals/", "the unit's referrals")
    assert officer.locator(f"a[href='{referral_path}']").count() == 1
    trail.go(officer, referral_path, "the referral, as the unit reads it")
    assert NEEDS in text_of(officer)
    submit(officer, "button#accept")
    assert officer.locator("#referral-state.referral-state--accepted").count() == 1
    submit(officer, "main dl a[href^='/cases/']")
    found = CASE_PATH.match(path_of(officer))
    assert found is not None, f"not on her case: {officer.url}"
    case_id, case_path = found.group(1), path_of(officer)
    trail.audit(officer, "her case, just opened")
    her_details = officer.inner_text("#survivor")
    for carried in (HER_NAME, HER_NUMBER, safe_times, _french(Language.DARIJA.label)):
        assert carried in her_details, f"{carried!r} was not carried over from the station"
    assert HER_NAME not in officer.title()
    reference = officer.inner_text("h1 .case-ref").strip()
    # What she needed stays on the first contact, one link away from her case.
    submit(officer, "#referrals a")
    trail.audit(officer, "the case's referrals")
    submit(officer, f"main table a[href='{referral_path}']")
    assert NEEDS in text_of(officer)
    # She chose SMS at the station: that is her consent, and the unit's acceptance reaches
    # her phone (neutral wording, within her safe hours).
    trail.expect_sms(1, "the unit accepts")

    # --- 3. her consents, the man she fears, and a shelter ---------------------------------
    officer.goto(f"{e2e.url}{case_path}")
    assert officer.locator("#consents tbody tr").count() == 1, "her SMS consent from the station"
    for purpose, scope in (
        ("share_shelter", ("identity", "contact")),
        ("share_prosecutor", ("identity", "narrative", "incidents", "perpetrators")),
    ):
        _open_details(officer, "#consents")
        officer.select_option("#consents select[name=purpose]", purpose)
        officer.check("#consents input[name=granted][value=yes]")
        for group in scope:
            officer.check(f"#consents input[name=scope][value={group}]")
        officer.check("#consents input[name=confirm]")
        submit(officer, "#consents form button[type=submit]")
        assert path_of(officer) == case_path, f"consent {purpose} refused: {text_of(officer)}"
    assert officer.locator("#consents tbody tr").count() == 3
    trail.audit(officer, "her case, with her consents")

    submit(officer, "#perpetrators a[href$='/perpetrators/new/']")
    trail.audit(officer, "naming the man she fears")
    officer.select_option("select[name=relationship]", "spouse")
    officer.fill("input[name=full_name]", HIM)
    submit(officer, ".intake-actions button[name=action][value=save]")
    assert path_of(officer) == case_path, f"not saved: {text_of(officer)}"
    assert HIM in officer.inner_text("#perpetrators")

    submit(officer, "#referrals a")
    beds_before = _free_beds(officer, shelter["name_fr"])
    officer.select_option("select[name=agency]", str(shelter["id"]))
    officer.select_option("select[name=need]", "shelter")
    officer.check("input[name=scope][value=identity]")
    officer.check("input[name=scope][value=contact]")
    officer.fill("textarea[name=message]", "Elle arrive ce soir avec ses deux enfants.")
    # Not routing's first suggestion (another journey works with that shelter): say why.
    officer.fill("textarea[name=override_reason]", "Plus proche de l'école de ses enfants.")
    submit(officer, "main form[method=post] button[type=submit]")
    assert REFERRAL_PATH.match(path_of(officer)), f"referral refused: {text_of(officer)}"
    shelter_referral = path_of(officer)
    trail.audit(officer, "the shelter referral, as the unit sent it")
    trail.expect_sms(0, "the unit refers her to a shelter")

    provider = trail.staff("journey.provider")
    trail.go(provider, "/referrals/", "the shelter's referrals")
    submit(provider, f"a[href='{shelter_referral}']")
    trail.audit(provider, "the referral, as the shelter reads it")
    received = provider.locator("#received ul li")
    assert received.count() == 2, "the shelter received more than identity and contact"
    shared = provider.inner_text("section.referral-fields")
    assert HER_NAME in shared
    assert HER_NUMBER in shared
    body = text_of(provider)
    assert HIM not in body, "the shelter sees the man's name: she never agreed to that"
    assert NEEDS not in body
    submit(provider, "button#accept")
    assert provider.locator("#referral-state.referral-state--accepted").count() == 1
    trail.expect_sms(1, "the shelter accepts")
    submit(provider, "form[action$='/admit/'] button[type=submit]")
    assert provider.locator("form[action$='/depart/']").count() == 1, "her arrival not recorded"
    trail.audit(provider, "the referral, she has arrived")
    trail.shot(provider, "2-shelter-fr")
    # Her case file itself, through the shelter's grant: still nothing beyond her consent.
    trail.go(provider, case_path, "her case, as the shelter reads it")
    shown = text_of(provider)
    assert HER_NAME in shown
    assert HIM not in shown
    for section in ("#perpetrators", "#incidents", "#narrative", "#consents", "#notes"):
        assert provider.locator(section).count() == 0, f"the shelter sees {section}"
    trail.expect_sms(0, "she arrives at the shelter")

    trail.go(officer, f"/referrals/case/{case_id}/", "the case's referrals, after arrival")
    assert _free_beds(officer, shelter["name_fr"]) == beds_before - 1

    # --- 4. the complaint, the prosecutor, a measure and a hearing -------------------------
    officer.goto(f"{e2e.url}{case_path}")
    submit(officer, "#justice a")
    trail.audit(officer, "the case's justice page")
    assert office["name_fr"] in officer.inner_text("#forward"), "not the competent office"
    submit(officer, "#forward button[type=submit]")  # the competent office, her consent
    complaint_link = officer.locator("#complaints a[href^='/justice/complaints/']")
    assert complaint_link.count() == 1, f"not forwarded: {text_of(officer)}"
    complaint_path = complaint_link.get_attribute("href")
    assert complaint_path is not None
    assert COMPLAINT_PATH.match(complaint_path)
    assert office["name_fr"] in officer.inner_text("#complaints")
    trail.audit(officer, "the case's justice page, forwarded")
    trail.expect_sms(1, "the complaint goes to the prosecutor")

    prosecutor = trail.staff("journey.prosecutor")
    trail.go(prosecutor, "/justice/", "the prosecutor's queue")
    submit(prosecutor, f"#awaiting a[href='{complaint_path}']")
    trail.audit(prosecutor, "the complaint, as the prosecutor reads it")
    assert reference not in prosecutor.title()
    her_file = text_of(prosecutor)
    assert HER_NAME in her_file
    assert HIM in her_file  # shared with the prosecutor, with her consent
    assert HER_NUMBER not in her_file, "her contact details stay with the unit"
    prosecutor.select_option("#decisions select[name=kind]", "open_proceedings")
    submit(prosecutor, "#decisions button[type=submit]")
    trail.expect_sms(0, "proceedings opened")

    prosecutor.select_option("#measures select[name=kind]", "no_contact")
    prosecutor.select_option("#measures select[name=legal_basis]", "pc_88_3")
    prosecutor.select_option("#measures select[name=authority]", "prosecutor")
    prosecutor.fill("#measures input[name=starts_on]", days_ago(0))
    prosecutor.fill("#measures input[name=ends_on]", days_ago(-90))
    submit(prosecutor, "#measures form.card button[type=submit]")
    assert prosecutor.locator("#measures li.card").count() == 1, "no measure recorded"
    trail.expect_sms(1, "a protection measure")

    hearing_day = days_ago(-14)
    prosecutor.fill("#hearings input[name=scheduled_at]", f"{hearing_day}T09:30")
    prosecutor.fill("#hearings input[name=place]", "Tribunal de première instance, salle 3")
    submit(prosecutor, "#hearings form.card button[type=submit]")
    assert "salle 3" in prosecutor.inner_text("#hearings"), "no hearing set"
    trail.audit(prosecutor, "the complaint, with a measure and a hearing")
    trail.shot(prosecutor, "3-complaint-fr")
    trail.expect_sms(1, "a hearing date")

    # --- 5. what she was told, as the unit sees it ------------------------------------------
    trail.go(officer, f"{case_path}messages/", "messages with her")
    rows = officer.locator("#notices tbody tr")
    assert rows.count() == 5, text_of(officer, "#notices")
    assert officer.locator("#notices tr.notice-state--sent").count() == 5
    assert officer.locator("#notices tr.notice-state--withheld").count() == 0
    accepted = officer.locator(
        "#notices tbody tr", has_text=_arabic(NoticeEvent.CASE_ACCEPTED.label)
    )
    assert accepted.count() == 1
    assert unit["name_ar"] in accepted.inner_text(), "her notice names the unit in Arabic"
    sms_label = _french(NoticeChannel.SMS.label)
    for channel in officer.locator("#notices tbody td:nth-child(3)").all_inner_texts():
        assert channel.strip() == sms_label, f"a notice through a channel she refused: {channel}"
    # Her notices are in her language, and read right to left inside the French page.
    texts = officer.locator("#notices tbody td[lang=ar] div[dir=auto]")
    assert texts.count() == 5
    assert texts.first.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert officer.get_attribute("html", "dir") == "ltr"
    trail.shot(officer, "4-notices-fr-ar")
    # No call-back task either: she never asked to be called.
    officer.goto(f"{e2e.url}{case_path}")
    assert officer.locator("#tasks ul.case-tasks li").count() == 0

    # --- 6. he breaks the measure: the chief and the prosecutor are alerted -----------------
    submit(officer, "#justice a")
    trail.audit(officer, "the case's justice page, with the measure")
    submit(officer, "#measures a[href*='/justice/complaints/']")
    trail.audit(officer, "the complaint, as the unit reads it")
    _open_details(officer, "#measures li.card")
    officer.fill(
        "#measures form[action*='/breaches/'] textarea[name=description]",
        "Il l'a attendue devant l'école des enfants ce matin.",
    )
    submit(officer, "#measures form[action*='/breaches/'] button[type=submit]")
    assert officer.locator("#breach-list li").count() == 1, "the breach was not recorded"
    trail.audit(officer, "the complaint, with the breach")
    trail.expect_sms(0, "a breach reported")

    chief = trail.staff("journey.chief")
    trail.go(chief, "/cases/alerts/", "the unit chief's alerts")
    alert = chief.locator(f"li.case-alert--measure_breach a[href='{case_path}']")
    assert alert.count() == 1, "the unit chief was not alerted to the breach"
    trail.go(prosecutor, "/justice/", "the prosecutor's queue, after the breach")
    assert prosecutor.locator(f"#breaches a[href^='{complaint_path}']").count() == 1

    assert not trail.violations, "\n".join(
        f"axe on {where}: {v}" for where, found in trail.violations.items() for v in found
    )
    e2e.assert_clean_console()
