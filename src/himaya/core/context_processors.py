"""Template context shared by every staff page.

Nothing here touches the database: the 500 page renders without context processors, but
every other page must still render when only the shell itself works.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from himaya.core import navigation
from himaya.core.actor import Actor
from himaya.core.i18n import language_choices


def acting(request: HttpRequest) -> Actor | None:
    """The ``Actor`` the accounts middleware attached to the request, if any."""
    actor = getattr(request, "actor", None)
    return actor if isinstance(actor, Actor) else None


def shell_context() -> dict[str, Any]:
    """The part of the shell context that needs no request (the 500 page uses it too)."""
    return {
        "HIMAYA_ENV": settings.HIMAYA_ENV,
        "shell_demo": settings.HIMAYA_ENV != "production",
        "shell_languages": language_choices(),
    }


def shell(request: HttpRequest) -> dict[str, Any]:
    return {**shell_context(), "shell_nav": navigation.links_for(acting(request))}
