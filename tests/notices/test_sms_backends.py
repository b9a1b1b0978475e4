"""The SMS providers: the development outbox, and the HTTP adapter against a real socket."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from himaya.accounts.roles import Role
from himaya.cases import notices, sms
from himaya.cases.models import Notice, NoticeEvent, NoticeState
from tests.cases.helpers import make_actor, make_unit
from tests.notices.helpers import CODE_WORD, MOROCCO, PHONE_E164, case_with


class Provider:
    """A tiny SMS provider on a local port: records requests, answers as told."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 202
        self.delay = 0.0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                provider.requests.append(
                    {
                        "headers": dict(self.headers),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                if provider.delay:
                    time.sleep(provider.delay)
                try:
                    self.send_response(provider.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"id": "p-1"}')
                except OSError:
                    pass  # the client gave up (the timeout test)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(settings: Any) -> Iterator[Provider]:
    running = Provider()
    settings.HIMAYA_SMS_BACKEND = "http"
    settings.HIMAYA_SMS_URL = running.url
    settings.HIMAYA_SMS_TOKEN = "test-token-synthetic"
    settings.HIMAYA_SMS_TIMEOUT = 1
    settings.HIMAYA_SMS_SENDER = "Info"
    try:
        yield running
    finally:
        running.close()


def _queued_now() -> Notice:
    officer = make_actor(Role.UNIT_OFFICER, make_unit())
    here = timezone.localtime(timezone.now(), MOROCCO)
    case = case_with(officer, safe_times=f"{here.hour:02d}:00-{(here.hour + 2) % 24:02d}:00")
    (notice,) = notices.notify(case=case, event=NoticeEvent.HEARING_SET, dedupe_key="h")
    return notice


def test_the_file_backend_appends_one_private_line_per_message(tmp_path: Path) -> None:
    path = tmp_path / "out" / "sms.jsonl"
    backend = sms.FileBackend(path)
    backend.send(to="+212600000001", text="Un", reference="r1")
    backend.send(to="+212600000002", text="Deux", reference="r2")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["reference"] for line in lines] == ["r1", "r2"]
    assert path.stat().st_mode & 0o077 == 0


def test_the_file_backend_logs_neither_the_number_nor_the_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        sms.FileBackend(tmp_path / "o.jsonl").send(
            to="+212611112222", text="Code word: jasmin", reference="r1"
        )
    assert "212611112222" not in caplog.text
    assert "jasmin" not in caplog.text


@pytest.mark.django_db
def test_the_http_adapter_posts_json_with_the_token(provider: Provider) -> None:
    notice = _queued_now()
    assert notices.deliver_due() == 1
    notice.refresh_from_db()
    assert notice.state == NoticeState.SENT
    (request,) = provider.requests
    assert request["headers"]["Authorization"] == "Bearer test-token-synthetic"
    assert request["body"] == {
        "to": PHONE_E164,
        "text": notices.sms_text(language="fr", code_word=CODE_WORD),
        "reference": str(notice.pk),
        "sender": "Info",
    }


@pytest.mark.django_db
def test_a_refusing_provider_is_retried_minutes_later_then_failed(
    provider: Provider, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.HIMAYA_SMS_MAX_ATTEMPTS = 2
    provider.status = 500
    notice = _queued_now()
    with caplog.at_level(logging.DEBUG):
        assert notices.deliver_due() == 0
    notice.refresh_from_db()
    assert notice.state == NoticeState.QUEUED
    assert notice.attempts == 1
    assert notice.send_after is not None
    assert notice.send_after > timezone.now() + timedelta(minutes=4)
    # Not again at once: no retry storm.
    assert notices.deliver_due() == 0
    assert len(provider.requests) == 1
    later = notice.send_after + timedelta(seconds=1)
    # Her window may have closed by then: keep the test about failure, not about hours.
    case = notice.case
    case.survivor.safe_contact = {**case.survivor.safe_contact, "safe_times": "00:00-24:00"}
    case.survivor.save(update_fields=["safe_contact"])
    assert notices.deliver_due(now=later) == 0
    notice.refresh_from_db()
    assert notice.state == NoticeState.FAILED
    assert notice.attempts == 2
    assert PHONE_E164 not in caplog.text
    assert CODE_WORD not in caplog.text


@pytest.mark.django_db
def test_a_provider_that_does_not_answer_in_time_fails_the_notice(
    provider: Provider, settings: Any
) -> None:
    settings.HIMAYA_SMS_MAX_ATTEMPTS = 1
    provider.delay = 2.5
    notice = _queued_now()
    started = time.monotonic()
    assert notices.deliver_due() == 0
    assert time.monotonic() - started < 2.4
    notice.refresh_from_db()
    assert notice.state == NoticeState.FAILED


@pytest.mark.django_db
def test_an_unreachable_provider_fails_the_notice(settings: Any) -> None:
    settings.HIMAYA_SMS_BACKEND = "http"
    settings.HIMAYA_SMS_URL = "http://127.0.0.1:9/nothing-listens-here"
    settings.HIMAYA_SMS_TOKEN = "t"
    settings.HIMAYA_SMS_MAX_ATTEMPTS = 1
    notice = _queued_now()
    assert notices.deliver_due() == 0
    notice.refresh_from_db()
    assert notice.state == NoticeState.FAILED


@pytest.mark.django_db
def test_without_a_configured_provider_nothing_is_sent_and_it_shows(settings: Any) -> None:
    settings.HIMAYA_SMS_BACKEND = "none"
    settings.HIMAYA_SMS_MAX_ATTEMPTS = 1
    notice = _queued_now()
    assert notices.deliver_due() == 0
    notice.refresh_from_db()
    assert notice.state == NoticeState.FAILED


def test_the_sms_error_never_carries_the_number() -> None:
    with pytest.raises(sms.SmsError) as caught:
        sms.NoBackend().send(to="+212600000009", text="x", reference="r")
    assert "212600000009" not in str(caught.value)
