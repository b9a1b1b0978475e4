"""What the portal keeps: codename hashes, follow-up sessions and abuse counters.

Nothing here holds anything she typed in clear. A codename is kept as a keyed lookup digest
(to find the row) and a slow salted hash (Argon2id, to verify it); a follow-up session as the
SHA-256 of its random token; a counter as a keyed digest of what it counts (a client
address, the first words of a codename).
"""

from __future__ import annotations

from django.db import models


class Codename(models.Model):
    """The one codename that opens one case file from the portal.

    ``lookup`` is ``HMAC(blind-index key, normalized codename)``: the key lives outside the
    database with the master key, so the column alone cannot be tested against guesses.
    ``secret_hash`` is Argon2id of the same normalized codename with its own salt.
    ``issued_for`` is the submission (idempotency key digest) it was issued for: a retry of
    that submission within the replay window replaces it (see ``codenames.issue``).
    """

    case = models.OneToOneField(
        "cases.CaseFile", on_delete=models.CASCADE, related_name="portal_codename"
    )
    lookup = models.CharField(max_length=64, unique=True)
    secret_hash = models.CharField(max_length=200)
    language = models.CharField(max_length=8)
    issued_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Codename {self.pk}"


class PortalSession(models.Model):
    """A follow-up session, opened by a codename; ends on idle, age, sign-out or quick exit.

    The cookie carries a random token; only its SHA-256 is stored, so a database dump opens
    no session.
    """

    token_digest = models.CharField(max_length=64, unique=True)
    case = models.ForeignKey(
        "cases.CaseFile", on_delete=models.CASCADE, related_name="portal_sessions"
    )
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["last_seen_at"], name="portal_session_seen_idx")]

    def __str__(self) -> str:
        return f"PortalSession {self.pk}"


class PortalCounter(models.Model):
    """A fixed-window counter for one abuse scope and one key (keyed digest).

    Kept in the database, like the sign-in throttle, so every web process sees the same
    count without Redis.
    """

    class Scope(models.TextChoices):
        GUESS_CODENAME = "guess_codename"
        GUESS_CLIENT = "guess_client"
        GUESS_GLOBAL = "guess_global"
        REPORT_CLIENT = "report_client"
        REPORT_GLOBAL = "report_global"

    scope = models.CharField(max_length=16, choices=Scope.choices)
    key_digest = models.CharField(max_length=64)
    count = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key_digest"], name="portal_counter_key")
        ]

    def __str__(self) -> str:
        return f"PortalCounter {self.scope}"
