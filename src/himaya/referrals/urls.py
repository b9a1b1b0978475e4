"""Pages of the referrals app."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "referrals"

urlpatterns: list[URLPattern | URLResolver] = []
