"""SMS providers behind one small interface (docs/architecture/notices.md).

``HIMAYA_SMS_BACKEND`` chooses:

* ``file`` (development and tests): appends one JSON line per message to
  ``HIMAYA_SMS_FILE`` (default ``var/sms/outbox.jsonl``, created mode 0600). The file holds
  the number and the text, so it is for synthetic data only; the log only says that a
  message for a notice was written.
* ``http``: one JSON ``POST`` per message to ``HIMAYA_SMS_URL`` with
  ``Authorization: Bearer HIMAYA_SMS_TOKEN`` and ``{"to", "text", "reference", "sender"}``;
  any 2xx is success; a timeout (``HIMAYA_SMS_TIMEOUT`` seconds), a refused connection or
  another status is an ``SmsError``. One attempt per call: retries are the notices' job,
  minutes apart, never a loop here.
* ``none`` (the default in production until a provider is configured): every send fails,
  so queued notices end FAILED and the unit sees they were not sent.

Neither the number nor the text is ever logged, nor put in an exception message.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

BACKENDS = ("file", "http", "none")


class SmsError(Exception):
    """Sending failed. The message names the kind of failure, never the number or text."""


class SmsBackend(Protocol):
    def send(self, *, to: str, text: str, reference: str) -> None:
        """Hand one message to the provider; raise ``SmsError`` if it was not accepted."""


class FileBackend:
    """Development and tests: one JSON line per message in a private file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, *, to: str, text: str, reference: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.write(
                    json.dumps({"to": to, "text": text, "reference": reference}, ensure_ascii=False)
                    + "\n"
                )
        except OSError as exc:
            raise SmsError("outbox not writable") from exc
        logger.info("sms for notice %s written to the development outbox", reference)


class HttpBackend:
    """A generic JSON-over-HTTPS provider: POST, bearer token, short timeout, one attempt."""

    def __init__(self, *, url: str, token: str, timeout: float, sender: str = "") -> None:
        if not url.startswith(("https://", "http://")):
            raise ImproperlyConfigured("HIMAYA_SMS_URL must be an http(s) URL.")
        self.url = url
        self.token = token
        self.timeout = timeout
        self.sender = sender

    def send(self, *, to: str, text: str, reference: str) -> None:
        payload = {"to": to, "text": text, "reference": reference}
        if self.sender:
            payload["sender"] = self.sender
        request = urllib.request.Request(  # noqa: S310 -- the scheme is checked above
            self.url,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": reference,
            },
        )
        try:
            # The scheme is checked in __init__ (http or https only).
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310
                status = response.status
                response.read(4096)
        except urllib.error.HTTPError as exc:
            raise SmsError(f"provider answered {exc.code}") from None
        except TimeoutError:
            raise SmsError("provider timed out") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            kind = "timed out" if isinstance(reason, TimeoutError) else "unreachable"
            raise SmsError(f"provider {kind}") from None
        if not 200 <= status < 300:
            raise SmsError(f"provider answered {status}")


class NoBackend:
    """No provider configured: nothing can be sent, and that is visible, not silent."""

    def send(self, *, to: str, text: str, reference: str) -> None:
        raise SmsError("no SMS provider configured")


def get_backend() -> SmsBackend:
    """The backend the settings choose (read each time, so tests can override settings)."""
    name = getattr(settings, "HIMAYA_SMS_BACKEND", "file")
    if name == "file":
        default = Path(settings.VAR_DIR) / "sms" / "outbox.jsonl"
        return FileBackend(Path(getattr(settings, "HIMAYA_SMS_FILE", "") or default))
    if name == "http":
        return HttpBackend(
            url=settings.HIMAYA_SMS_URL,
            token=settings.HIMAYA_SMS_TOKEN,
            timeout=float(getattr(settings, "HIMAYA_SMS_TIMEOUT", 10)),
            sender=getattr(settings, "HIMAYA_SMS_SENDER", ""),
        )
    if name == "none":
        return NoBackend()
    raise ImproperlyConfigured(f"HIMAYA_SMS_BACKEND must be one of {', '.join(BACKENDS)}.")
