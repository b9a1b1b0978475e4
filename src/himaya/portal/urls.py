"""Pages of the portal app."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "portal"

urlpatterns: list[URLPattern | URLResolver] = []
