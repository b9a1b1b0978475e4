"""Replaces ``django.contrib.admin`` in INSTALLED_APPS so that ``admin.site`` is ours."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class HimayaAdminConfig(AdminConfig):
    default_site = "himaya.accounts.admin_site.HimayaAdminSite"
