"""The Django admin, for system administrators only: accounts, memberships, agencies.

Reaching any /admin/ URL already needs a verified sign-in (the staff gate). On top of that
the site opens only to someone acting as a system administrator, and it has no sign-in form
of its own: its login page would otherwise be a password check without the second factor
and without the lockout. Case content is never registered here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from himaya.accounts import policies
from himaya.accounts.actors import actor_from_request
from himaya.core.errors import HimayaError


class HimayaAdminSite(admin.AdminSite):
    site_header = _("Himaya administration")
    site_title = _("Himaya administration")
    index_title = _("Accounts and reference data")
    # The header's "view site" link points to the staff home page.
    site_url = "/"

    def has_permission(self, request: HttpRequest) -> bool:
        try:
            actor = actor_from_request(request)
        except HimayaError:
            return False
        return not actor.is_system and policies.can_manage_accounts(actor)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        if request.user.is_authenticated:
            # Signed in, but not acting as a system administrator.
            raise PermissionDenied
        return redirect_to_login(request.get_full_path(), reverse("accounts:login"))

    def logout(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return redirect("accounts:logout")

    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        # Passwords are set through the accounts services (which also end sessions).
        raise Http404

    def password_change_done(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        raise Http404
