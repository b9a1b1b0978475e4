"""Data keys for envelope encryption, and blind-index entries (see docs/architecture/encryption.md).

A ``DataKey`` is one data subject's AES-256 key (a survivor, or an agency for its shelter
address), stored only *wrapped* by a master key that lives outside the database. Sealed fields
(``himaya.core.fields``) point at it through a foreign key. Shredding sets ``wrapped_key`` to
NULL: the row stays (so foreign keys hold and the record of the erasure remains) but nothing
sealed under it can ever be opened again.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["BlindIndexEntry", "DataKey"]


class DataKey(models.Model):
    """One data subject's wrapped data key.

    The primary key is a random UUID, never a sequence: a sequence restarts at an old value
    after a backup is restored (PostgreSQL) or after a rolled-back insert (SQLite reuses the
    highest rowid), and a reused id would point the shred ledger, the per-process key cache
    and the sealed values' headers at the wrong woman.
    """

    class Kind(models.TextChoices):
        SURVIVOR = "survivor", _("survivor")
        PERSON = "person", _("other person")
        AGENCY = "agency", _("agency")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    #: Which master key version wraps ``wrapped_key`` (also inside the blob's header); indexed
    #: so rotation and the start-up check find keys by version without a full scan.
    master_key_id = models.CharField(_("master key version"), max_length=16, db_index=True)
    #: version byte, master key id, nonce, AES-GCM(data key). NULL once shredded.
    wrapped_key = models.BinaryField(null=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    shredded_at = models.DateTimeField(_("erased"), null=True, blank=True)

    class Meta:
        verbose_name = _("data key")
        verbose_name_plural = _("data keys")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(wrapped_key__isnull=True) | models.Q(shredded_at__isnull=True),
                name="datakey_shredded_has_no_key",
            )
        ]

    def __str__(self) -> str:
        return f"DataKey {self.pk}"

    @property
    def is_shredded(self) -> bool:
        return self.wrapped_key is None


class BlindIndexEntry(models.Model):
    """One searchable digest of one value of one record (see ``himaya.core.blind_index``).

    Search is a single equality lookup on the ``(purpose, digest, content_type)`` index; the
    entry names the record by content type and primary key. ``data_key`` names the subject,
    so shredding deletes every entry of hers in one statement.
    """

    purpose = models.CharField(max_length=32)
    digest = models.BinaryField(max_length=32)
    data_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="blind_index_entries"
    )
    content_type = models.ForeignKey(
        "contenttypes.ContentType",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # blindindex_object starts with it
    )
    object_id = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("blind index entry")
        verbose_name_plural = _("blind index entries")
        indexes = [
            # Equality on the first three: a search touches only the matching entries. The
            # record's id rides along so searches read the index alone: a common name's
            # token in a big unit matches thousands of entries, and fetching each table row
            # made duplicate detection take 0.1-3 s at a million cases (bench/README.md).
            models.Index(
                fields=["purpose", "digest", "content_type", "object_id"],
                name="blindindex_lookup_cover",
            ),
            models.Index(fields=["content_type", "object_id"], name="blindindex_object"),
        ]

    def __str__(self) -> str:
        return f"BlindIndexEntry {self.pk} ({self.purpose})"


# The key and shred-ledger system checks live with the code they check; importing the module
# here registers them as soon as the app registry loads models, without editing apps.py.
from himaya.core import key_checks as _key_checks  # noqa: E402

del _key_checks
