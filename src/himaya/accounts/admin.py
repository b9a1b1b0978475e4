"""Admin pages for accounts and memberships. Every change goes through the services, so
the admin writes the same audit events and ends sessions exactly like any other door."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tasks_db.models import DBTaskResult

from himaya.accounts import services
from himaya.accounts.actors import actor_from_request
from himaya.accounts.models import Membership, User
from himaya.core.errors import HimayaError
from himaya.network.models import Agency

# Django's groups and permissions are not how Himaya decides (memberships are), and TOTP
# secrets must not be readable by administrators: a lost device is reset, never viewed.
# django-tasks-db's task results need Django model permissions nobody holds here (its pages
# answered 403 even to the administrator); task health is seen with ``manage.py`` instead.
for _model in (Group, TOTPDevice, DBTaskResult):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class _SystemAdminOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    """Access follows the site's rule (acting as system administrator), not Django perms.
    Nothing is ever deleted here: accounts are disabled, memberships revoked."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.admin_site.has_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


def _passwords(cleaned: dict[str, Any], user: User | None, *, required: bool) -> str | None:
    first = cleaned.get("new_password1") or ""
    second = cleaned.get("new_password2") or ""
    if not first and not second:
        if required:
            raise forms.ValidationError(_("Enter a password."))
        return None
    if first != second:
        raise forms.ValidationError(_("The two passwords differ."))
    validate_password(first, user)
    return str(first)


class _PasswordFields(forms.ModelForm):  # type: ignore[type-arg]
    new_password1 = forms.CharField(
        label=_("New password"), required=False, strip=False, widget=forms.PasswordInput
    )
    new_password2 = forms.CharField(
        label=_("New password (again)"), required=False, strip=False, widget=forms.PasswordInput
    )
    password_required = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            cleaned["new_password"] = _passwords(
                cleaned,
                self.instance if self.instance.pk else None,
                required=self.password_required,
            )
        except forms.ValidationError as exc:
            self.add_error("new_password1", exc)
        return cleaned


class UserAddForm(_PasswordFields):
    password_required = True

    class Meta:
        model = User
        fields = ["username", "display_name", "preferred_language"]


class UserChangeForm(_PasswordFields):
    class Meta:
        model = User
        fields = ["display_name", "preferred_language", "is_active"]


@admin.register(User)
class UserAdmin(_SystemAdminOnly):
    list_display = ["username", "display_name", "is_active", "last_login"]
    list_filter = ["is_active"]
    search_fields = ["username", "display_name"]
    ordering = ["username"]
    readonly_fields = ["username", "last_login", "date_joined"]
    actions = ["disable_accounts", "reset_second_factor"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = UserChangeForm if obj is not None else UserAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [
                "username",
                "display_name",
                "preferred_language",
                "new_password1",
                "new_password2",
            ]
        return [
            "username",
            "display_name",
            "preferred_language",
            "is_active",
            "last_login",
            "date_joined",
            "new_password1",
            "new_password2",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        actor = actor_from_request(request)
        data = form.cleaned_data
        if not change:
            created = services.user_create(
                actor=actor,
                username=obj.username,
                password=data["new_password"],
                display_name=obj.display_name,
                preferred_language=obj.preferred_language,
            )
            obj.pk = created.pk
            obj._state.adding = False
            return
        stored = User.objects.get(pk=obj.pk)
        if {"display_name", "preferred_language"} & set(form.changed_data):
            services.user_update(
                actor=actor,
                user=stored,
                display_name=obj.display_name,
                preferred_language=obj.preferred_language,
            )
        if "is_active" in form.changed_data:
            if obj.is_active:
                services.user_enable(actor=actor, user=stored)
            else:
                services.user_disable(actor=actor, user=stored)
        if data.get("new_password"):
            services.user_set_password(actor=actor, user=stored, password=data["new_password"])

    @admin.action(description=_("Disable the selected accounts (ends their sessions)"))
    def disable_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = actor_from_request(request)
        for user in queryset:
            try:
                services.user_disable(actor=actor, user=user)
            except HimayaError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)

    @admin.action(description=_("Reset the second factor (the next sign-in enrols a new one)"))
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = actor_from_request(request)
        for user in queryset:
            services.totp_reset(actor=actor, user=user)


@admin.register(Membership)
class MembershipAdmin(_SystemAdminOnly):
    list_display = ["user", "role", "agency", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__username", "agency__name_fr", "agency__name_ar"]
    raw_id_fields = ["user", "agency"]
    list_select_related = ["user", "agency"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["user", "agency", "role", "created_at"] if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["user", "agency", "role"]
        return ["user", "agency", "role", "is_active", "created_at"]

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        actor = actor_from_request(request)
        if not change:
            granted = services.membership_grant(
                actor=actor, user=obj.user, agency=obj.agency, role=obj.role
            )
            obj.pk = granted.pk
            obj._state.adding = False
            return
        stored = Membership.objects.get(pk=obj.pk)
        if "is_active" in form.changed_data:
            if obj.is_active:
                services.membership_grant(
                    actor=actor, user=stored.user, agency=stored.agency, role=stored.role
                )
            else:
                services.membership_revoke(actor=actor, membership=stored)


class AgencyLookupAdmin(_SystemAdminOnly):
    """Read-only list of agencies, for finding one when granting a membership. Agencies are
    edited through the network directory's own pages and services (its rules, its audit).
    Sealed fields (a shelter's address) are never shown."""

    list_display = ["name_fr", "name_ar", "kind", "code", "is_active", "is_synthetic"]
    list_filter = ["kind", "is_active", "is_synthetic"]
    search_fields = ["name_fr", "name_ar", "code"]
    fields = ["kind", "code", "name_fr", "name_ar", "is_active", "is_synthetic"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


if not admin.site.is_registered(Agency):
    admin.site.register(Agency, AgencyLookupAdmin)
