"""The unit's "Messages with her" page and the API: holding unit only, audited, bounded."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from himaya.accounts.roles import Role
from himaya.cases import notices
from himaya.cases.models import (
    CaseFile,
    Channel,
    Notice,
    NoticeChannel,
    NoticeEvent,
    NoticeState,
    SurvivorMessage,
)
from himaya.cases.views_notices import STATE_HELP
from himaya.core.models import AuditEvent
from himaya.network.models import Agency
from tests.cases.api_helpers import READ, WRITE, bearer, token_for
from tests.cases.helpers import Staff, make_person, make_unit
from tests.cases.pages_helpers import body, case_url, signed_in, signed_staff, title
from tests.notices.helpers import case_with

pytestmark = pytest.mark.django_db

_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def _setup(role: str = Role.UNIT_OFFICER) -> tuple[Agency, Staff, CaseFile]:
    unit = make_unit()
    officer = signed_staff(role, unit)
    case = case_with(officer.actor, channel="in_person", first_contact=Channel.ONLINE)
    return unit, officer, case


def test_the_case_page_links_to_the_messages_with_her() -> None:
    _unit, officer, case = _setup()
    page = body(signed_in(officer).get(case_url(case.pk)))
    assert reverse("cases:notices", args=[case.pk]) in page


def test_the_page_shows_her_messages_and_marks_them_read() -> None:
    _unit, officer, case = _setup()
    notices.survivor_message_add(
        case=case, body="Il est revenu hier soir.", idempotency_key="a" * 16
    )
    response = signed_in(officer).get(reverse("cases:notices", args=[case.pk]))
    assert response.status_code == 200
    page = body(response)
    assert "Il est revenu hier soir." in page
    assert "Il est revenu" not in title(response)
    message = SurvivorMessage.objects.get(case=case)
    assert message.read_by_id == officer.user.pk
    assert AuditEvent.objects.filter(action="case.messages_read", target_id=str(case.pk)).exists()


def test_the_page_shows_each_notice_with_its_state() -> None:
    unit = make_unit()
    officer = signed_staff(Role.UNIT_OFFICER, unit)
    case = case_with(officer.actor, channel="sms", sms=False)
    notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    page = body(signed_in(officer).get(reverse("cases:notices", args=[case.pk])))
    assert 'class="notice-state--withheld"' in page
    assert str(STATE_HELP[NoticeState.WITHHELD]) in page


def test_posting_the_form_sends_her_one_message_even_if_resubmitted() -> None:
    _unit, officer, case = _setup()
    client = signed_in(officer)
    url = reverse("cases:notices", args=[case.pk])
    found = _KEY.search(body(client.get(url)))
    assert found is not None
    form = {"body": "Votre rendez-vous est confirmé.", "idempotency_key": found.group(1)}
    send = reverse("cases:notices_send", args=[case.pk])
    first = client.post(send, form)
    assert first.status_code == 302
    assert client.post(send, form).status_code == 302
    portal = Notice.objects.filter(case=case, channel=NoticeChannel.PORTAL)
    assert portal.count() == 1
    (item,) = notices.inbox_for_survivor(case=case)
    assert item.text == "Votre rendez-vous est confirmé."
    assert "Votre rendez-vous" in body(client.get(url))


def test_an_empty_message_is_refused_next_to_the_field() -> None:
    _unit, officer, case = _setup()
    response = signed_in(officer).post(
        reverse("cases:notices_send", args=[case.pk]),
        {"body": "", "idempotency_key": "x" * 20},
    )
    assert response.status_code == 422
    assert "errorlist" in body(response)
    assert not Notice.objects.filter(case=case).exists()


def test_another_unit_gets_not_found_on_the_page_and_the_form() -> None:
    _unit, _officer, case = _setup()
    stranger = signed_staff(Role.UNIT_OFFICER, make_unit())
    client = signed_in(stranger)
    assert client.get(reverse("cases:notices", args=[case.pk])).status_code == 404
    response = client.post(
        reverse("cases:notices_send", args=[case.pk]),
        {"body": "x", "idempotency_key": "x" * 20},
    )
    assert response.status_code == 404
    assert not Notice.objects.filter(case=case).exists()


def test_the_page_costs_the_same_queries_for_three_or_thirty_items() -> None:
    _unit, officer, case = _setup()
    client = signed_in(officer)
    url = reverse("cases:notices", args=[case.pk])

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            notices.survivor_message_add(case=case, body=f"m{i}", idempotency_key=f"key{i:08d}")
            notices.notify(case=case, event=NoticeEvent.HEARING_SET, dedupe_key=f"h{i}")

    add(3, 0)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    add(27, 3)
    client.get(url)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)
    assert len(many) <= 40


# --- API ------------------------------------------------------------------------------------


def _api_setup() -> tuple[Staff, CaseFile]:
    unit = make_unit()
    officer = make_person(Role.UNIT_OFFICER, unit)
    case = case_with(officer.actor, channel="in_person", first_contact=Channel.ONLINE)
    return officer, case


def test_the_api_writes_to_her_and_lists_what_she_was_told() -> None:
    officer, case = _api_setup()
    client = Client()
    token = token_for(officer, READ, WRITE)
    url = f"/api/v1/cases/{case.pk}/notices"
    payload = {"body": "Bonjour Madame", "idempotency_key": "api-key-000001"}
    sent = client.post(
        f"{url}/message", payload, content_type="application/json", headers=bearer(token)
    )
    assert sent.status_code == 201, sent.content
    again = client.post(
        f"{url}/message", payload, content_type="application/json", headers=bearer(token)
    )
    assert {i["id"] for i in sent.json()["items"]} == {i["id"] for i in again.json()["items"]}
    listed = client.get(url, headers=bearer(token)).json()
    portal = next(i for i in listed["items"] if i["channel"] == "portal")
    assert portal["text"] == "Bonjour Madame"
    assert portal["state"] == "sent"


def test_the_api_lists_her_messages_page_by_page() -> None:
    officer, case = _api_setup()
    for i in range(5):
        notices.survivor_message_add(case=case, body=f"m{i}", idempotency_key=f"key{i:08d}")
    client = Client()
    token = token_for(officer, READ)
    url = f"/api/v1/cases/{case.pk}/survivor-messages"
    first = client.get(url, {"limit": 3}, headers=bearer(token)).json()
    assert [m["body"] for m in first["items"]] == ["m4", "m3", "m2"]
    assert all(m["read_at"] for m in first["items"])
    second = client.get(url, {"limit": 3, "cursor": first["next_cursor"]}, headers=bearer(token))
    assert [m["body"] for m in second.json()["items"]] == ["m1", "m0"]
    assert second.json()["next_cursor"] is None


def test_the_api_needs_the_write_scope_to_write_to_her() -> None:
    officer, case = _api_setup()
    token = token_for(officer, READ)
    response = Client().post(
        f"/api/v1/cases/{case.pk}/notices/message",
        {"body": "x", "idempotency_key": "api-key-000001"},
        content_type="application/json",
        headers=bearer(token),
    )
    assert response.status_code == 403
    assert not Notice.objects.filter(case=case).exists()


def test_the_api_answers_another_unit_as_if_the_case_did_not_exist() -> None:
    _officer, case = _api_setup()
    stranger = make_person(Role.UNIT_OFFICER, make_unit())
    token = token_for(stranger, READ, WRITE)
    client = Client()
    for url in (f"/api/v1/cases/{case.pk}/notices", f"/api/v1/cases/{case.pk}/survivor-messages"):
        assert client.get(url, headers=bearer(token)).status_code == 404


def test_a_forged_cursor_is_refused() -> None:
    officer, case = _api_setup()
    token = token_for(officer, READ)
    response = Client().get(
        f"/api/v1/cases/{case.pk}/notices",
        {"cursor": "forged"},
        headers=bearer(token),
    )
    assert response.status_code == 422


def test_sent_agrees_with_what_was_sent_in_french_and_arabic() -> None:
    """ "Sent" names one notice, one referral's step, or a tab of many referrals: each with
    its own message context, so French and Arabic can agree with the noun."""
    from django.utils import translation

    from himaya.cases.models import NoticeState
    from himaya.referrals.views import EVENT_LABELS

    for language, notice, step, tab in (
        ("fr", "Envoyé", "Envoyée", "Envoyées"),
        ("ar", "أُرسل", "أُرسلت", "مُرسلة"),
    ):
        with translation.override(language):
            assert str(NoticeState.SENT.label) == notice
            assert str(EVENT_LABELS["sent"]) == step
            assert translation.gettext("Sent") == tab
