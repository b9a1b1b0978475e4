"""The WebSocket side of the ASGI application, and the Redis channel layer.

An ASGI communicator drives the real ``himaya.asgi.application`` (origin check, session
auth, URL routing, consumer) without a network. It is asgiref's ``ApplicationCommunicator``,
the base of ``channels.testing.WebsocketCommunicator``: importing ``channels.testing`` pulls in
daphne, which Himaya does not use (uvicorn serves it). The Redis test talks to a real Redis.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from himaya.accounts import session_keys
from himaya.accounts.roles import Role
from himaya.asgi import application
from tests.accounts.helpers import login_staff, make_staff

IN_MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
ORIGIN = (b"origin", b"http://testserver")


def _connect(headers: list[tuple[bytes, bytes]]) -> tuple[bool, Any, Any]:
    """Open /ws/ping/, send a ping if accepted, and return (accepted, close code, reply)."""
    scope = {
        "type": "websocket",
        "path": "/ws/ping/",
        "query_string": b"",
        "headers": headers,
        "subprotocols": [],
    }

    async def scenario() -> tuple[bool, Any, Any]:
        communicator: Any = ApplicationCommunicator(application, scope)  # type: ignore[no-untyped-call]
        await communicator.send_input({"type": "websocket.connect"})
        answer = await communicator.receive_output(timeout=5)
        if answer["type"] == "websocket.close":
            # The server side answers a refusal with a disconnect; the consumer then ends.
            await communicator.send_input({"type": "websocket.disconnect", "code": 1006})
            await communicator.wait(timeout=5)
            return False, answer.get("code", 1000), None
        assert answer["type"] == "websocket.accept"
        await communicator.send_input(
            {"type": "websocket.receive", "text": json.dumps({"type": "ping"})}
        )
        reply = await communicator.receive_output(timeout=5)
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await communicator.wait(timeout=5)
        return True, None, json.loads(reply["text"])

    return async_to_sync(scenario)()


# database_sync_to_async (session and user lookups) closes "obsolete" connections: inside a
# test transaction that would poison it, so these tests commit for real.
@pytest.mark.django_db(transaction=True)
@override_settings(CHANNEL_LAYERS=IN_MEMORY_LAYER)
def test_an_anonymous_websocket_is_refused_by_the_consumer() -> None:
    accepted, close_code, _ = _connect([ORIGIN])
    assert accepted is False
    assert close_code == 4401


@pytest.mark.django_db(transaction=True)
@override_settings(CHANNEL_LAYERS=IN_MEMORY_LAYER)
def test_a_signed_in_staff_member_gets_pong_for_ping() -> None:
    client = Client()
    login_staff(client, make_staff(Role.UNIT_OFFICER, username="ops-ws"))
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode())

    accepted, _, reply = _connect([ORIGIN, cookie])

    assert accepted is True
    assert reply == {"type": "pong"}


@pytest.mark.django_db(transaction=True)
@override_settings(CHANNEL_LAYERS=IN_MEMORY_LAYER)
def test_a_websocket_from_a_foreign_origin_is_refused_even_when_signed_in() -> None:
    client = Client()
    login_staff(client, make_staff(Role.UNIT_OFFICER, username="ops-ws2"))
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode())

    accepted, _, _ = _connect([(b"origin", b"https://evil.example"), cookie])

    assert accepted is False


@pytest.mark.django_db(transaction=True)
@override_settings(CHANNEL_LAYERS=IN_MEMORY_LAYER)
def test_a_session_without_the_second_factor_is_refused() -> None:
    """The staff gate applies to WebSockets too: a password-only session (no verified TOTP
    device bound to it) gets the anonymous refusal, as it would get the sign-in page."""
    user = get_user_model().objects.create_user(username="ops-ws3", password="not-used-here-1")
    client = Client()
    client.force_login(user)
    session = client.session
    # Fresh timestamps, so only the missing second factor can be the reason for refusal.
    session[session_keys.AUTH_AT] = session[session_keys.SEEN_AT] = time.time()
    session.save()
    cookie = (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session.session_key}".encode())

    accepted, close_code, _ = _connect([ORIGIN, cookie])

    assert accepted is False
    assert close_code == 4401


@pytest.mark.django_db(transaction=True)
@override_settings(CHANNEL_LAYERS=IN_MEMORY_LAYER)
def test_an_idle_session_is_refused() -> None:
    client = Client()
    login_staff(client, make_staff(Role.UNIT_OFFICER, username="ops-ws4"))
    session = client.session
    session[session_keys.SEEN_AT] = (
        session[session_keys.SEEN_AT] - settings.SESSION_IDLE_SECONDS - 5
    )
    session.save()
    cookie = (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session.session_key}".encode())

    accepted, _, _ = _connect([ORIGIN, cookie])

    assert accepted is False


def test_two_processes_exchange_a_group_message_through_the_redis_layer() -> None:
    """Two layer instances share nothing but Redis, like two uvicorn workers."""
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        pytest.skip("REDIS_URL is not set: the Redis channel layer test needs a Redis server")
    from channels_redis.core import RedisChannelLayer

    # The same CONFIG shape settings.CHANNEL_LAYERS builds from REDIS_URL, with a prefix of
    # its own so parallel runs and a shared Redis never see each other's messages.
    config = {"hosts": [redis_url], "prefix": f"himaya-test-{uuid.uuid4().hex}"}
    group = "ops-broadcast"

    async def scenario() -> dict[str, Any]:
        sender = RedisChannelLayer(**config)
        receiver = RedisChannelLayer(**config)
        try:
            channel = await receiver.new_channel()
            await receiver.group_add(group, channel)
            await sender.group_send(group, {"type": "ops.hello", "text": "salam"})
            message: dict[str, Any] = await asyncio.wait_for(receiver.receive(channel), 5)
            await receiver.group_discard(group, channel)
            return message
        finally:
            await receiver.flush()
            await sender.close_pools()
            await receiver.close_pools()

    message = async_to_sync(scenario)()
    assert message == {"type": "ops.hello", "text": "salam"}
