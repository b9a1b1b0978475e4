"""The append-only, hash-chained audit log (see himaya.core.audit for how it is written).

Three tables:

- ``AuditEvent``: one row per audited action, chained by ``prev_hash``/``hash``. Rows are
  never updated or deleted by the application: ``save()`` on an existing row, ``delete()``
  and the queryset's ``update()``/``delete()``/``bulk_*`` all raise. On PostgreSQL, triggers
  (``himaya.core.audit.install_append_only_triggers``) refuse UPDATE and DELETE as well.
- ``AuditChainHead``: a single row holding the sequence number and hash of the newest event.
  Appenders lock it, so concurrent writers queue up instead of forking the chain, and
  append cost stays constant (nothing else of the table is read).
- ``AuditCheckpoint``: a periodic Ed25519 signature over the head, with a key kept outside
  the database, so that rewriting the whole chain (recomputing every hash) is detected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, NoReturn

from django.db import models

__all__ = [
    "GENESIS_HASH",
    "AppendOnlyError",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
]

#: ``prev_hash`` of the first event: 32 zero bytes, hex.
GENESIS_HASH = "0" * 64

# Only the chain writer in himaya.core.audit may insert rows: an event created any other way
# would carry a hash that does not follow from its predecessor.
_chain_writer: ContextVar[bool] = ContextVar("himaya_audit_chain_writer", default=False)


@contextmanager
def chain_writer() -> Iterator[None]:
    """Allows inserting audit rows for the duration of the block (himaya.core.audit only)."""
    token = _chain_writer.set(True)
    try:
        yield
    finally:
        _chain_writer.reset(token)


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to change or remove audit rows, or to add them off-chain."""


def _refuse(model: str, operation: str) -> NoReturn:
    raise AppendOnlyError(f"{model} is append-only: {operation} is not allowed.")


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """A queryset that can read and nothing else: bulk writes would bypass the chain."""

    def update(self, **kwargs: Any) -> int:
        _refuse(self.model.__name__, "update")

    def delete(self) -> tuple[int, dict[str, int]]:
        _refuse(self.model.__name__, "delete")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        _refuse(self.model.__name__, "bulk_update")

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[Any]:
        _refuse(self.model.__name__, "bulk_create")

    def update_or_create(self, *args: Any, **kwargs: Any) -> tuple[Any, bool]:
        _refuse(self.model.__name__, "update_or_create")


class AppendOnlyModel(models.Model):
    """Rows are inserted once, by the chain writer, and never changed afterwards."""

    objects: ClassVar[models.Manager[Any]] = models.Manager.from_queryset(AppendOnlyQuerySet)()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse(type(self).__name__, "changing a saved row")
        if not _chain_writer.get():
            _refuse(type(self).__name__, "inserting outside himaya.core.audit")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        _refuse(type(self).__name__, "delete")


class AuditEvent(AppendOnlyModel):
    """Who did what to which record, when, in which request — never the protected values.

    The fields hashed into the chain are exactly those listed in
    ``himaya.core.audit.canonical_event``; ``id`` is a storage detail and is not hashed.
    """

    sequence = models.PositiveBigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150)
    actor_role = models.CharField(max_length=32, blank=True)
    agency_id = models.BigIntegerField(null=True, blank=True)
    membership_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    # Unique: the verifier finds an event's recorded predecessor by hash to tell a reordering
    # from an edit, and a replayed (duplicated) event cannot be inserted.
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        db_table = "core_auditevent"
        indexes = [
            # Keyset pagination of a record's trail and of a person's trail, newest first.
            models.Index(fields=["target_type", "target_id", "-sequence"], name="audit_target_idx"),
            models.Index(fields=["actor_user_id", "-sequence"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"


class AuditChainHead(models.Model):
    """The newest event's sequence and hash: one row (id 1), locked by every append."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        db_table = "core_auditchainhead"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single")]

    def __str__(self) -> str:
        return f"head #{self.sequence}"


class AuditCheckpoint(AppendOnlyModel):
    """A signed statement "the chain at ``sequence`` ends in ``head_hash``".

    ``signature`` is Ed25519 over ``himaya.core.audit.checkpoint_message`` with the key named
    by ``key_id`` (first 16 hex digits of SHA-256 of the raw public key).
    """

    sequence = models.PositiveBigIntegerField(unique=True)
    head_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=128)

    class Meta:
        db_table = "core_auditcheckpoint"

    def __str__(self) -> str:
        return f"checkpoint #{self.sequence}"
