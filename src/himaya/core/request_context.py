"""The id of the request being served, for logs and audit events.

A context variable, not a thread-local: it is correct under ASGI where one thread serves
many requests.
"""

from __future__ import annotations

from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("himaya_request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> object:
    return _request_id.set(value)
