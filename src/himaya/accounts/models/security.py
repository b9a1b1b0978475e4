"""Login throttling and the server-side register of open staff sessions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["LoginThrottle", "UserSession"]


class LoginThrottle(models.Model):
    """Failed sign-in attempts for one account name or one client address.

    Kept in the database, not in a per-process cache, so that every web process behind the
    load balancer sees the same count. The key is a keyed HMAC of the normalised username
    (or address): the table never holds what someone typed, which may be a mistyped password.
    Unknown usernames get a row exactly like real ones, so a lockout reveals nothing.
    """

    class Scope(models.TextChoices):
        ACCOUNT = "account", _("account")
        ADDRESS = "address", _("client address")

    scope = models.CharField(max_length=16, choices=Scope.choices)
    key_digest = models.CharField(max_length=64)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key_digest"], name="login_throttle_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key_digest[:8]}"


class UserSession(models.Model):
    """Which session keys belong to which user, written at sign-in.

    Disabling a user must end every session at once; with this table that is a look-up by
    user instead of decoding every row of the session store.
    """

    session_key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="open_sessions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session of user {self.user_id}"
