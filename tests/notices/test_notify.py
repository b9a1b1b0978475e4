"""notify(): one step, told once, through the channels she said are safe, when safe."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.cases import notices, services
from himaya.cases.models import (
    Channel,
    ConsentPurpose,
    Notice,
    NoticeChannel,
    NoticeEvent,
    NoticeState,
    Task,
)
from himaya.core.models import AuditEvent
from tests.cases.helpers import make_actor, make_unit
from tests.notices.helpers import (
    CODE_WORD,
    MOROCCO,
    NARRATIVE_WORDS,
    case_with,
    skip_without_catalogue,
)

pytestmark = pytest.mark.django_db


def _window_later(hours: int = 3) -> tuple[str, int]:
    """A one-hour safe window starting ``hours`` from now (Moroccan time), and its hour."""
    start = (timezone.localtime(timezone.now(), MOROCCO) + timedelta(hours=hours)).hour
    return f"{start:02d}:00-{(start + 1) % 24:02d}:00", start


def _window_now() -> str:
    here = timezone.localtime(timezone.now(), MOROCCO)
    return f"{here.hour:02d}:00-{(here.hour + 2) % 24:02d}:00"


def _outbox(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _by_channel(found: list[Notice]) -> dict[str, Notice]:
    return {n.channel: n for n in found}


def test_a_retried_step_returns_the_notices_it_already_made() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now())
    first = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="accept:1")
    again = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="accept:1")
    assert {n.pk for n in first} == {n.pk for n in again}
    assert Notice.objects.filter(case=case).count() == len(first) == 1
    assert AuditEvent.objects.filter(action="case.notice_add", target_id=str(case.pk)).count() == 1


def test_a_different_step_makes_a_new_notice() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now())
    notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="accept:1")
    notices.notify(case=case, event=NoticeEvent.HEARING_SET, dedupe_key="hearing:1")
    assert Notice.objects.filter(case=case).count() == 2


def test_an_sms_in_her_safe_hours_is_queued_for_now_and_sent_by_delivery(outbox: Path) -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now())
    (notice,) = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    assert notice.channel == NoticeChannel.SMS
    assert notice.state == NoticeState.QUEUED
    assert notice.send_after is not None
    assert notice.send_after <= timezone.now()
    assert notices.deliver_due() == 1
    notice.refresh_from_db()
    assert notice.state == NoticeState.SENT
    assert notice.sent_at is not None
    (sent,) = _outbox(outbox)
    assert sent["to"] == "+212612345678"
    assert sent["reference"] == str(notice.pk)


def test_without_her_sms_consent_nothing_is_sent_and_the_notice_says_withheld(
    outbox: Path,
) -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now(), sms=False)
    (notice,) = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    assert notice.state == NoticeState.WITHHELD
    assert notices.deliver_due() == 0
    assert _outbox(outbox) == []


def test_with_no_consent_recorded_at_all_nothing_is_sent() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now(), sms=None)
    (notice,) = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    assert notice.state == NoticeState.WITHHELD


def test_no_contact_withholds_everything_but_the_portal_inbox(outbox: Path) -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(
        officer, channel="no_contact", sms=True, phone_consent=True, first_contact=Channel.ONLINE
    )
    found = _by_channel(notices.notify(case=case, event=NoticeEvent.HEARING_SET, dedupe_key="h"))
    assert found[NoticeChannel.PORTAL].state == NoticeState.SENT
    assert [n.state for c, n in found.items() if c != NoticeChannel.PORTAL] == [
        NoticeState.WITHHELD
    ]
    assert not Task.objects.filter(case=case).exists()
    notices.deliver_due()
    assert _outbox(outbox) == []


def test_outside_her_safe_hours_the_sms_waits_for_the_next_safe_time(outbox: Path) -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    window, start = _window_later(hours=3)
    case = case_with(officer, safe_times=window)
    (notice,) = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    assert notice.state == NoticeState.QUEUED
    assert notice.send_after is not None
    opens = timezone.localtime(notice.send_after, MOROCCO)
    assert (opens.hour, opens.minute) == (start, 0)
    assert notice.send_after > timezone.now()

    assert notices.deliver_due(now=notice.send_after - timedelta(minutes=1)) == 0
    notice.refresh_from_db()
    assert notice.state == NoticeState.QUEUED
    assert _outbox(outbox) == []

    assert notices.deliver_due(now=notice.send_after + timedelta(minutes=1)) == 1
    notice.refresh_from_db()
    assert notice.state == NoticeState.SENT
    assert len(_outbox(outbox)) == 1


def test_a_queued_sms_found_outside_her_hours_is_moved_to_her_next_window(outbox: Path) -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    window, _start = _window_later(hours=3)
    case = case_with(officer, safe_times=window)
    (notice,) = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    opens = notice.send_after
    assert opens is not None
    # The window closed while the sender was down: the next run must not send it late.
    late = opens + timedelta(hours=2)
    assert notices.deliver_due(now=late) == 0
    notice.refresh_from_db()
    assert notice.state == NoticeState.QUEUED
    assert notice.send_after == opens + timedelta(days=1)
    assert _outbox(outbox) == []


def test_consent_revoked_while_queued_withholds_the_sms(outbox: Path) -> None:
    unit = make_unit()
    officer = make_actor(Role.UNIT_OFFICER, unit)
    window, _start = _window_later(hours=3)
    case = case_with(officer, safe_times=window)
    (notice,) = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    services.consent_revoke(actor=officer, case_id=case.pk, purpose=ConsentPurpose.CONTACT_SMS)
    assert notice.send_after is not None
    assert notices.deliver_due(now=notice.send_after + timedelta(minutes=1)) == 0
    notice.refresh_from_db()
    assert notice.state == NoticeState.WITHHELD
    assert _outbox(outbox) == []


def test_a_contact_changed_to_no_contact_while_queued_withholds_the_sms(outbox: Path) -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    window, _start = _window_later(hours=3)
    case = case_with(officer, safe_times=window)
    (notice,) = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    survivor = case.survivor
    survivor.safe_contact = {**(survivor.safe_contact or {}), "channel": "no_contact"}
    survivor.save(update_fields=["safe_contact"])
    assert notice.send_after is not None
    assert notices.deliver_due(now=notice.send_after) == 0
    notice.refresh_from_db()
    assert notice.state == NoticeState.WITHHELD
    assert _outbox(outbox) == []


def test_safe_times_that_cannot_be_read_surely_withhold_the_sms() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times="tous les jours sauf le vendredi, 10h-12h")
    (notice,) = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    assert notice.state == NoticeState.WITHHELD


def test_she_said_no_message_may_be_left_so_no_sms_is_sent() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now(), may_leave_message=False)
    (notice,) = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    assert notice.state == NoticeState.WITHHELD


def test_the_sms_is_discreet_whatever_the_event(outbox: Path) -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now())
    for event in (NoticeEvent.HEARING_SET, NoticeEvent.MEASURE_ORDERED, NoticeEvent.CASE_CLOSED):
        notices.notify(
            case=case,
            event=event,
            dedupe_key=f"e:{event}",
            params={"date": "2027-01-15", "place": "Tribunal de première instance, Fès"},
        )
    assert notices.deliver_due() == 3
    texts = {m["text"] for m in _outbox(outbox)}
    assert texts == {notices.sms_text(language="fr", code_word=CODE_WORD)}
    (text,) = texts
    assert CODE_WORD in text
    lowered = text.lower()
    for word in (*NARRATIVE_WORDS, "tribunal", "fès", "audience", "protection", "http"):
        assert word not in lowered


def test_the_sms_reads_naturally_in_french_and_arabic() -> None:
    skip_without_catalogue()
    assert notices.sms_text(language="fr", code_word="jasmin") == (
        "Vous avez un nouveau message. Mot de code : jasmin"
    )
    assert notices.sms_text(language="ar") == "لديك رسالة جديدة."


def test_the_sms_is_in_her_language_and_without_a_code_word_when_she_has_none(
    outbox: Path,
) -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now(), language="ary", code_word=None)
    notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    notices.deliver_due()
    (sent,) = _outbox(outbox)
    assert sent["text"] == notices.sms_text(language="ar")
    assert CODE_WORD not in sent["text"]


def test_a_call_task_is_made_for_the_officer_when_she_asked_to_be_called() -> None:
    unit = make_unit()
    officer = make_actor(Role.UNIT_OFFICER, unit)
    window, start = _window_later(hours=3)
    case = case_with(officer, channel="phone_call", safe_times=window, sms=None, phone_consent=True)
    (notice,) = notices.notify(
        case=case,
        event=NoticeEvent.HEARING_SET,
        dedupe_key="h",
        params={"place": "Tribunal de Fès"},
    )
    assert notice.channel == NoticeChannel.CALL
    assert notice.state == NoticeState.SENT
    assert notice.send_after is not None
    assert timezone.localtime(notice.send_after, MOROCCO).hour == start
    task = Task.objects.get(case=case)
    assert task.due_on == timezone.localtime(notice.send_after, MOROCCO).date()
    assert "Fès" not in task.description
    assert "Tribunal" not in task.description
    case.refresh_from_db()
    assert case.next_due_on is not None
    assert case.next_due_on <= task.due_on


def test_no_call_task_without_her_phone_consent() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, channel="phone_call", sms=None, phone_consent=False)
    (notice,) = notices.notify(case=case, event=NoticeEvent.HEARING_SET, dedupe_key="h")
    assert notice.channel == NoticeChannel.CALL
    assert notice.state == NoticeState.WITHHELD
    assert not Task.objects.filter(case=case).exists()


def test_only_in_person_means_nothing_is_sent_but_the_unit_sees_it() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, channel="in_person", phone_consent=True)
    (notice,) = notices.notify(case=case, event=NoticeEvent.CASE_CLOSED, dedupe_key="c")
    assert notice.state == NoticeState.WITHHELD


def test_an_online_case_gets_a_portal_notice_at_once() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, channel="in_person", first_contact=Channel.ONLINE)
    found = _by_channel(notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a"))
    assert found[NoticeChannel.PORTAL].state == NoticeState.SENT
    assert found[NoticeChannel.PORTAL].sent_at is not None


def test_the_portal_flag_in_her_safe_contact_opens_the_portal_channel() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, channel="in_person", portal=True)
    found = _by_channel(notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a"))
    assert NoticeChannel.PORTAL in found


def test_a_walk_in_case_without_the_flag_has_no_portal_notice() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now())
    found = _by_channel(notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a"))
    assert NoticeChannel.PORTAL not in found


def test_params_are_sealed_and_limited_to_known_keys() -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, first_contact=Channel.ONLINE)
    with pytest.raises(ValueError, match="params"):
        notices.notify(
            case=case, event=NoticeEvent.HEARING_SET, dedupe_key="h", params={"narrative": "x"}
        )
    with pytest.raises(ValueError, match="message_to_her"):
        notices.notify(case=case, event=NoticeEvent.MESSAGE, dedupe_key="m")
    notices.notify(
        case=case, event=NoticeEvent.HEARING_SET, dedupe_key="h", params={"place": "Fès"}
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT params FROM cases_notice WHERE case_id = %s", [case.pk.hex])
        rows = cursor.fetchall()
    if not rows:  # PostgreSQL stores UUIDs natively
        with connection.cursor() as cursor:
            cursor.execute("SELECT params FROM cases_notice WHERE case_id = %s", [str(case.pk)])
            rows = cursor.fetchall()
    assert rows
    assert all("Fès" not in str(row[0]) for row in rows)


def test_nothing_is_stored_or_sent_for_a_survivor_who_was_erased(outbox: Path) -> None:
    from himaya.core.shredding import data_key_shred

    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now())
    window_notice = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    data_key_shred(actor=officer, data_key=case.survivor.data_key, reason="Her erasure request")
    assert notices.notify(case=case, event=NoticeEvent.CASE_CLOSED, dedupe_key="c") == []
    assert notices.deliver_due() == 0
    (queued,) = window_notice
    queued.refresh_from_db()
    assert queued.state == NoticeState.WITHHELD
    assert _outbox(outbox) == []


def test_delivery_works_in_bounded_batches(outbox: Path) -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now())
    for i in range(3):
        notices.notify(case=case, event=NoticeEvent.HEARING_SET, dedupe_key=f"h{i}")
    assert notices.deliver_due(batch=2) == 2
    assert notices.deliver_due(batch=2) == 1
    assert notices.deliver_due(batch=2) == 0
    assert len(_outbox(outbox)) == 3


def test_the_delivery_job_is_registered_with_the_schedule() -> None:
    from himaya.core import schedule

    job = next(j for j in schedule.jobs() if j.name == "cases.deliver_notices")
    assert job.run is notices.deliver_due
    assert job.every <= timedelta(minutes=5)


def test_an_sms_due_now_leaves_as_soon_as_the_step_commits(
    outbox: Path, django_capture_on_commit_callbacks: Any
) -> None:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    case = case_with(officer, safe_times=_window_now())
    with django_capture_on_commit_callbacks(execute=True):
        (notice,) = notices.notify(case=case, event=NoticeEvent.CASE_ACCEPTED, dedupe_key="a")
    notice.refresh_from_db()
    assert notice.state == NoticeState.SENT
    assert len(_outbox(outbox)) == 1
