"""Template tags of the staff shell: ``{% load himaya_shell %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import translation

from himaya.core.i18n import language_choices

register = template.Library()


@register.inclusion_tag("core/_language_switch.html", takes_context=True)
def language_switch(context: template.Context) -> dict[str, Any]:
    """The language switch: one submit button per language, no JavaScript needed.

    It returns to the current page, except on error pages, which must not echo the path
    they were asked for: those return home.
    """
    request = context.get("request")
    if request is None or context.get("shell_error_page"):
        next_url = reverse("core:home")
    else:
        next_url = request.path
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "next_url": next_url,
        "current": translation.get_language(),
        "languages": language_choices(),
    }
