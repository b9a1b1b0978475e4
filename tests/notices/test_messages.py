"""Messages both ways: the unit writes to her, she writes to the unit, her portal inbox."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from himaya.accounts.roles import Role
from himaya.cases import notices, services
from himaya.cases.models import (
    Alert,
    AlertKind,
    CaseFile,
    Channel,
    ConsentPurpose,
    Notice,
    NoticeChannel,
    NoticeEvent,
    NoticeState,
    SurvivorMessage,
    TimelineEntry,
)
from himaya.core.actor import Actor
from himaya.core.errors import InvalidInput, NotFound, PermissionDenied
from himaya.core.models import AuditEvent
from himaya.network.models import Agency, AgencyKind
from tests.cases.helpers import make_actor, make_unit
from tests.notices.helpers import case_with, skip_without_catalogue

pytestmark = pytest.mark.django_db

KEY = "k" * 16


def _online_case(language: str = "fr", **contact: Any) -> tuple[Agency, Actor, CaseFile]:
    unit = make_unit()
    officer = make_actor(Role.UNIT_OFFICER, unit)
    case = case_with(
        officer,
        channel="in_person",
        first_contact=Channel.ONLINE,
        language=language,
        **contact,
    )
    return unit, officer, case


def test_the_unit_writes_to_her_and_it_waits_in_her_portal_inbox() -> None:
    _unit, officer, case = _online_case()
    found = notices.message_to_her(
        actor=officer, case_id=case.pk, body="Rendez-vous confirmé mardi.", idempotency_key=KEY
    )
    portal = next(n for n in found if n.channel == NoticeChannel.PORTAL)
    assert portal.state == NoticeState.SENT
    assert portal.author_id == officer.user_id
    (item,) = notices.inbox_for_survivor(case=case)
    assert item.text == "Rendez-vous confirmé mardi."
    assert item.read is False
    assert TimelineEntry.objects.filter(case=case, kind="notice_added").exists()
    assert AuditEvent.objects.filter(action="case.message_send", target_id=str(case.pk)).exists()


def test_a_resubmitted_message_form_sends_one_message() -> None:
    _unit, officer, case = _online_case()
    for _ in range(2):
        notices.message_to_her(actor=officer, case_id=case.pk, body="Bonjour", idempotency_key=KEY)
    assert Notice.objects.filter(case=case, event=NoticeEvent.MESSAGE).count() == 2  # portal+call
    assert len(notices.inbox_for_survivor(case=case)) == 1


def test_a_message_to_her_still_obeys_her_sms_preferences() -> None:
    unit = make_unit()
    officer = make_actor(Role.UNIT_OFFICER, unit)
    case = case_with(officer, channel="sms", sms=False)
    (notice,) = notices.message_to_her(
        actor=officer, case_id=case.pk, body="Bonjour", idempotency_key=KEY
    )
    assert notice.channel == NoticeChannel.SMS
    assert notice.state == NoticeState.WITHHELD


def test_an_empty_or_overlong_message_is_refused_on_its_field() -> None:
    _unit, officer, case = _online_case()
    for body in ("   ", "x" * 5001):
        with pytest.raises(InvalidInput) as caught:
            notices.message_to_her(actor=officer, case_id=case.pk, body=body, idempotency_key=KEY)
        assert "body" in caught.value.fields
    with pytest.raises(InvalidInput) as caught:
        notices.message_to_her(actor=officer, case_id=case.pk, body="ok", idempotency_key="short")
    assert "idempotency_key" in caught.value.fields
    assert not Notice.objects.filter(case=case).exists()


def test_another_unit_cannot_write_to_her_nor_learn_the_case_exists() -> None:
    _unit, _officer, case = _online_case()
    stranger = make_actor(Role.UNIT_OFFICER, make_unit())
    with pytest.raises(NotFound):
        notices.message_to_her(actor=stranger, case_id=case.pk, body="x", idempotency_key=KEY)
    with pytest.raises(NotFound):
        notices.thread_for_unit(actor=stranger, case_id=case.pk)


def test_an_agency_she_shared_with_reads_the_case_but_cannot_write_to_her() -> None:
    _unit, officer, case = _online_case()
    shelter = make_unit(AgencyKind.SHELTER)
    services.consent_record(
        actor=officer,
        case_id=case.pk,
        purpose=ConsentPurpose.SHARE_SHELTER,
        granted=True,
        scope=["identity"],
    )
    services.case_share(actor=officer, case_id=case.pk, agency_id=shelter.pk, scope=["identity"])
    provider = make_actor(Role.SERVICE_PROVIDER, shelter)
    with pytest.raises(PermissionDenied):
        notices.message_to_her(actor=provider, case_id=case.pk, body="x", idempotency_key=KEY)
    with pytest.raises(PermissionDenied):
        notices.thread_for_unit(actor=provider, case_id=case.pk)


def test_her_inbox_is_newest_first_and_marking_read_marks_only_hers() -> None:
    _unit, officer, case = _online_case()
    notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    notices.message_to_her(actor=officer, case_id=case.pk, body="Second", idempotency_key=KEY)
    _other_unit, _other_officer, other = _online_case()
    notices.notify(case=other, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    items = notices.inbox_for_survivor(case=case)
    assert next(i.text for i in items) == "Second"
    assert len(items) == 2
    assert notices.inbox_mark_read(case=case) == 2
    assert all(i.read for i in notices.inbox_for_survivor(case=case))
    assert not any(i.read for i in notices.inbox_for_survivor(case=other))
    assert notices.inbox_mark_read(case=case) == 0


def test_withheld_and_queued_notices_never_show_in_her_inbox() -> None:
    unit = make_unit()
    officer = make_actor(Role.UNIT_OFFICER, unit)
    case = case_with(officer, channel="sms", safe_times="03:00-04:00")
    notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    assert notices.inbox_for_survivor(case=case) == []


def test_the_inbox_renders_each_notice_in_its_language_with_its_details() -> None:
    _unit, _officer, case = _online_case(language="ar")
    notices.notify(
        case=case,
        event=NoticeEvent.HEARING_SET,
        dedupe_key="h",
        params={"date": "2027-01-15", "place": "Fès"},
    )
    (item,) = notices.inbox_for_survivor(case=case)
    with translation.override("ar"):
        assert item.title == str(NoticeEvent.HEARING_SET.label)
        assert item.text.splitlines()[0] == str(notices.SENTENCES[NoticeEvent.HEARING_SET])
        assert f"{notices.PARAM_KEYS['place']}" in item.text
        assert "Fès" in item.text


def test_the_inbox_reads_naturally_in_arabic_and_french() -> None:
    skip_without_catalogue()
    _unit, _officer, case_ar = _online_case(language="ar")
    _unit2, _officer2, case_fr = _online_case(language="fr")
    for case in (case_ar, case_fr):
        notices.notify(
            case=case,
            event=NoticeEvent.HEARING_SET,
            dedupe_key="h",
            params={"date": "2027-01-15", "place": "Fès"},
        )
    (ar,) = notices.inbox_for_survivor(case=case_ar)
    (fr,) = notices.inbox_for_survivor(case=case_fr)
    assert ar.title == "حُدّد موعد جلسة"
    assert ar.text.startswith("حُدّد موعد جلسة في قضيتك.")
    assert "المكان: Fès" in ar.text
    assert fr.title == "Une date d’audience a été fixée"
    assert "Lieu : Fès" in fr.text
    assert "15 janvier 2027" in fr.text


def test_she_writes_to_the_unit_once_per_form_and_the_unit_is_alerted_once() -> None:
    unit, _officer, case = _online_case()
    first = notices.survivor_message_add(case=case, body="Il est revenu hier.", idempotency_key=KEY)
    again = notices.survivor_message_add(case=case, body="Il est revenu hier.", idempotency_key=KEY)
    assert first.pk == again.pk
    notices.survivor_message_add(case=case, body="Encore moi.", idempotency_key="m" * 16)
    assert SurvivorMessage.objects.filter(case=case).count() == 2
    alerts = Alert.objects.filter(agency=unit, kind=AlertKind.SURVIVOR_MESSAGE, case=case)
    assert alerts.count() == 1
    assert TimelineEntry.objects.filter(case=case, kind="survivor_message").count() == 2
    events = AuditEvent.objects.filter(action="case.survivor_message_add", target_id=str(case.pk))
    assert events.count() == 2
    assert [m.body for m in notices.survivor_messages_for_case(case=case)] == [
        "Encore moi.",
        "Il est revenu hier.",
    ]


def test_her_message_is_refused_when_empty_or_too_long() -> None:
    _unit, _officer, case = _online_case()
    for body in ("", "y" * 5001):
        with pytest.raises(InvalidInput) as caught:
            notices.survivor_message_add(case=case, body=body, idempotency_key=KEY)
        assert "body" in caught.value.fields
    assert not SurvivorMessage.objects.filter(case=case).exists()


def test_the_unit_reading_her_messages_marks_them_read_and_is_audited() -> None:
    _unit, officer, case = _online_case()
    notices.survivor_message_add(case=case, body="Bonjour", idempotency_key=KEY)
    thread = notices.thread_for_unit(actor=officer, case_id=case.pk)
    assert thread.marked_read == 1
    (message,) = thread.messages
    message.refresh_from_db()
    assert message.read_by_id == officer.user_id
    assert message.read_at is not None
    assert not Alert.objects.filter(case=case, read_at__isnull=True).exists()
    read = AuditEvent.objects.get(action="case.messages_read", target_id=str(case.pk))
    assert read.actor_user_id == officer.user_id
    assert notices.thread_for_unit(actor=officer, case_id=case.pk).marked_read == 0


def test_a_new_message_after_the_unit_read_the_last_one_alerts_again() -> None:
    _unit, officer, case = _online_case()
    notices.survivor_message_add(case=case, body="Un", idempotency_key=KEY)
    notices.thread_for_unit(actor=officer, case_id=case.pk)
    notices.survivor_message_add(case=case, body="Deux", idempotency_key="z" * 16)
    assert Alert.objects.filter(case=case, read_at__isnull=True).count() == 1
