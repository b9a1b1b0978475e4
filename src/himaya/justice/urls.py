"""Pages of the justice app."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "justice"

urlpatterns: list[URLPattern | URLResolver] = []
