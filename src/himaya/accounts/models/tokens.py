"""Personal access tokens for integrations, and the counter that slows down guessing them."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["ApiAuthThrottle", "ApiToken"]


class ApiToken(models.Model):
    """A credential an integration sends as ``Authorization: Bearer <prefix>_<secret>``.

    The plaintext is shown once, when the token is created, and never stored: the row keeps
    the public ``prefix`` (to find the row and to show in lists) and the SHA-256 digest of
    the secret part. A token acts as exactly one membership of its owner, so every policy
    applies to it as to that person on screen; its scopes can only narrow that further.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,  # a token never outlives the account it acts for
        related_name="api_tokens",
        verbose_name=_("owner"),
        db_index=False,  # apitoken_owner_created_idx starts with it
    )
    membership = models.ForeignKey(
        "accounts.Membership",
        on_delete=models.CASCADE,  # ... nor the membership it acts as
        related_name="api_tokens",
        verbose_name=_("acts as"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=32, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [
            # The owner's token list is paginated by (created_at, id), newest first.
            models.Index(fields=["owner", "-created_at", "-id"], name="apitoken_owner_created_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="apitoken_expires_after_creation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def is_usable(self, *, now: datetime | None = None) -> bool:
        moment = now or timezone.now()
        return self.revoked_at is None and self.expires_at > moment


class ApiAuthThrottle(models.Model):
    """Failed API authentications from one client address in the current window.

    In the database rather than a per-process cache so that every web process counts the
    same failures. The address is kept only as a keyed digest.
    """

    key_digest = models.CharField(max_length=64, unique=True)
    window_started_at = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"api-auth:{self.key_digest[:8]}"
