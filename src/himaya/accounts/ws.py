"""The staff gate for WebSockets: the same rules as ``StaffAccessMiddleware`` for pages.

Channels' ``AuthMiddlewareStack`` only loads the session's user. A WebSocket must not be a way
around the second factor or the session timeouts, so this middleware, placed inside it, keeps
the user only when the session is fresh (idle and absolute timeouts) and bound to a confirmed
TOTP device of that user; otherwise the consumer sees an anonymous user and refuses.
"""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from himaya.accounts import session_keys


def _session_is_fresh(session: Any) -> bool:
    now = time.time()
    auth_at = session.get(session_keys.AUTH_AT)
    seen_at = session.get(session_keys.SEEN_AT)
    return (
        isinstance(auth_at, int | float)
        and isinstance(seen_at, int | float)
        and now - seen_at <= int(settings.SESSION_IDLE_SECONDS)
        and now - auth_at <= int(settings.SESSION_ABSOLUTE_SECONDS)
    )


def _verified_device(user: Any, session: Any) -> bool:
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return bool(
        device is not None
        and getattr(device, "user_id", None) == user.pk
        and getattr(device, "confirmed", False)
    )


@database_sync_to_async  # type: ignore[untyped-decorator]
def _gate(scope: dict[str, Any]) -> None:
    user = scope.get("user")
    session = scope.get("session")
    if user is None or not user.is_authenticated or session is None:
        return
    if not (user.is_active and _session_is_fresh(session) and _verified_device(user, session)):
        scope["user"] = AnonymousUser()


class StaffWebSocketGate:
    """ASGI middleware: runs the gate on every WebSocket connection before the consumer."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") == "websocket":
            scope = dict(scope)
            await _gate(scope)
        return await self.inner(scope, receive, send)
