"""WebSocket routes (Channels). Apps add theirs here as they land."""

from __future__ import annotations

from django.urls import path

from himaya.core.consumers import PingConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
]
