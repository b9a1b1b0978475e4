"""ASGI entry point: HTTP through Django, WebSocket through Channels, in one process."""

import os

from django.core.asgi import get_asgi_application
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "himaya.settings")


def _django_application() -> ASGIHandler:
    """Django's ASGI handler, or a clean exit naming what is misconfigured.

    uvicorn would print a traceback for a bad setting, and it runs no system checks (runserver
    and every manage.py command do). A production server that cannot open survivors' files --
    no master key, say -- must refuse to start, not join the load balancer and answer 500s.
    """
    try:
        application = get_asgi_application()
    except ImproperlyConfigured as exc:
        raise SystemExit(f"Himaya is not configured: {exc}") from None
    from django.conf import settings

    if settings.PRODUCTION:
        serious = [message for message in run_checks() if message.is_serious()]
        if serious:
            details = " ".join(" ".join(str(message).split()) for message in serious)
            raise SystemExit(f"Himaya is not configured: {details}")
    return application


django_asgi_app = _django_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from himaya.accounts.ws import StaffWebSocketGate  # noqa: E402
from himaya.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(StaffWebSocketGate(URLRouter(websocket_urlpatterns)))
        ),
    }
)
