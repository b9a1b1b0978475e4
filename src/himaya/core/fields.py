"""Sealed model fields: assign a str, save, read back a str; the database only sees ciphertext.

Usage::

    class Survivor(models.Model):
        data_key = models.ForeignKey("core.DataKey", on_delete=models.PROTECT, related_name="+")
        full_name = SealedCharField(_("full name"), max_length=200, subject="data_key")
        narrative = SealedTextField(_("narrative"), blank=True, default="", subject="data_key")

    class Note(models.Model):
        survivor = models.ForeignKey(Survivor, on_delete=models.PROTECT)
        body = SealedTextField(subject="survivor.data_key")  # a path through relations

``subject`` names the foreign key to ``core.DataKey`` whose key seals the value, or a dotted
path ending in one (the last name may also be an attribute returning a ``DataKey``).

* Values are sealed in ``pre_save`` and opened lazily on first read, then kept on the
  instance: a list page pays only for the fields it shows. Use ``select_related`` on the data
  key (or ``prefetch_data_keys``) to avoid one key query per subject on a cold cache.
* A value whose subject has been crypto-shredded reads as ``Erased`` (a ``str`` holding the
  translated "erased" text); it never raises.
* A value that fails authentication (tampered, or copied from another row, column or
  subject) raises ``SealedIntegrityError``.
* Sealed fields cannot be filtered on (only ``isnull``): search goes through blind indexes.
  ``QuerySet.update()`` and ``bulk_update()`` refuse them, so no plaintext can reach the
  database by a side door. ``values()`` returns opaque ``SealedValue`` objects.
* The sealing context is ``"<db_table>.<column>"``; renaming either would make old values
  fail authentication, so pass ``seal_context="old_table.old_column"`` when renaming.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any, ClassVar

from django import forms
from django.core import checks
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import IsNull, Lookup, Transform
from django.db.models.query_utils import DeferredAttribute
from django.utils.functional import cached_property

from himaya.core.crypto import (
    Erased,
    SealedIntegrityError,
    open_data_key,
    seal,
    sealed_key_id,
    unseal,
)
from himaya.core.errors import KeyUnavailable
from himaya.core.models import DataKey

__all__ = ["SealedCharField", "SealedJSONField", "SealedTextField", "SealedValue"]

_UNSET: Any = object()


class SealedValue:
    """A sealed value as read from the database, opened on first access.

    Its ``repr``/``str`` never show the plaintext, and pickling (e.g. a cached model
    instance) keeps only the ciphertext."""

    __slots__ = ("blob", "opened_with", "plain")

    def __init__(self, blob: bytes, *, plain: Any = _UNSET, opened_with: uuid.UUID | None = None):
        self.blob = blob
        self.plain = plain
        self.opened_with = opened_with

    def __repr__(self) -> str:
        return "<SealedValue>"

    __str__ = __repr__

    def __reduce__(self) -> tuple[type[SealedValue], tuple[bytes]]:
        return (SealedValue, (self.blob,))


class _SubjectPath:
    """Finds, from an instance, the id of its subject's data key (and the loaded row, if any)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.hops = path.split(".")[:-1]
        self.last = path.rsplit(".", maxsplit=1)[-1]

    def resolve(self, instance: models.Model) -> tuple[uuid.UUID | None, DataKey | None]:
        obj: Any = instance
        for hop in self.hops:
            obj = getattr(obj, hop)
            if obj is None:
                return None, None
        try:
            fk = obj._meta.get_field(self.last)
        except (AttributeError, LookupError):
            fk = None
        if isinstance(fk, models.ForeignKey):
            row = fk.get_cached_value(obj, None)
            # getattr, not __dict__: the key column may itself be deferred (refresh_from_db).
            return getattr(obj, fk.attname), row if isinstance(row, DataKey) else None
        target = getattr(obj, self.last)
        if isinstance(target, DataKey):
            return target.pk, target
        if target is None or isinstance(target, uuid.UUID):
            return target, None
        raise TypeError(f"{self.path} must lead to a core.DataKey")


class _SealedDescriptor(DeferredAttribute):
    """A data descriptor, so every read goes through it (Django's own is a non-data
    descriptor that the instance dict shadows after the first read)."""

    field: _SealedField

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, SealedValue):
            return self.field.open_value(instance, value)
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class _SealedField(models.Field[Any, Any]):
    """Base of the sealed fields: stored as binary, sealed with the subject's data key."""

    descriptor_class = _SealedDescriptor
    #: Mutable values (JSON) are re-sealed on every save once read, since they may have been
    #: changed in place; immutable ones keep their ciphertext until reassigned.
    mutable: ClassVar[bool] = False

    def __init__(
        self, *args: Any, subject: str, seal_context: str | None = None, **kwargs: Any
    ) -> None:
        self.subject = subject
        self.seal_context = seal_context
        self.subject_path = _SubjectPath(subject)
        super().__init__(*args, **kwargs)

    # --- schema -------------------------------------------------------------------------

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["subject"] = self.subject
        if self.seal_context is not None:
            kwargs["seal_context"] = self.seal_context
        return name, path, args, kwargs

    def get_internal_type(self) -> str:
        return "BinaryField"

    def get_placeholder_sql(
        self, value: Any, compiler: Any, connection: BaseDatabaseWrapper
    ) -> Any:
        return connection.ops.binary_placeholder_sql(value, compiler)

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *self._check_subject()]

    def _check_subject(self) -> list[checks.CheckMessage]:
        first = self.subject.split(".")[0]
        try:
            field = self.model._meta.get_field(first)
        except LookupError:
            if hasattr(self.model, first):
                return []
            field = None
        # One name: the FK itself. A path: each hop is followed when the value is first used.
        single = "." not in self.subject
        if (
            field is not None
            and field.is_relation
            and (not single or field.related_model is DataKey)
        ):
            return []
        return [
            checks.Error(
                f"subject={self.subject!r} must name a ForeignKey to core.DataKey on "
                f"{self.model.__name__}, or a path through relations ending in one.",
                obj=self,
                id="himaya.E101",
            )
        ]

    @cached_property
    def context_bytes(self) -> bytes:
        return (self.seal_context or f"{self.model._meta.db_table}.{self.column}").encode()

    # --- Python value <-> plaintext bytes (per subclass) ---------------------------------

    def encode(self, value: Any) -> bytes:
        return str(value).encode("utf-8")

    def decode(self, data: bytes) -> Any:
        return data.decode("utf-8")

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        return str(value)

    # --- reading ------------------------------------------------------------------------

    def from_db_value(
        self, value: Any, expression: Any, connection: BaseDatabaseWrapper
    ) -> SealedValue | None:
        if value is None:
            return None
        return SealedValue(bytes(value))

    def _open_blob(self, instance: models.Model, blob: bytes, key_id: uuid.UUID) -> Any:
        row = None
        resolved_id, resolved_row = self.subject_path.resolve(instance)
        if resolved_id == key_id:
            row = resolved_row
        key = open_data_key(key_id, row=row, using=instance._state.db)
        if key is None:
            return Erased()
        return self.decode(unseal(blob, key=key, context=self.context_bytes))

    def open_value(self, instance: models.Model, sealed: SealedValue) -> Any:
        key_id, row = self.subject_path.resolve(instance)
        if sealed.opened_with is not None and sealed.opened_with == key_id:
            return sealed.plain
        if key_id is None:
            # A value exists but its row names no subject: it cannot be this row's value.
            raise SealedIntegrityError()
        key = open_data_key(key_id, row=row, using=instance._state.db)
        if key is None:
            return Erased()
        plain = self.decode(unseal(sealed.blob, key=key, context=self.context_bytes))
        if self.mutable:
            instance.__dict__[self.attname] = plain
        else:
            sealed.plain, sealed.opened_with = plain, key_id
        return plain

    # --- writing ------------------------------------------------------------------------

    def pre_save(self, model_instance: models.Model, add: bool) -> bytes | None:
        value = model_instance.__dict__.get(self.attname, _UNSET)
        if value is _UNSET:
            value = getattr(model_instance, self.attname)
            value = model_instance.__dict__.get(self.attname)
        if value is None:
            return None
        key_id, row = self.subject_path.resolve(model_instance)
        if isinstance(value, SealedValue):
            old_key_id = sealed_key_id(value.blob)
            if old_key_id == key_id:
                return value.blob
            # The record now belongs under another subject's key: re-seal it there.
            value = self._open_blob(model_instance, value.blob, old_key_id)
            if isinstance(value, Erased):
                raise KeyUnavailable()
        if isinstance(value, Erased):
            raise ValueError(
                f"{self.model.__name__}.{self.name}: the erased marker cannot be stored."
            )
        if key_id is None:
            raise ValueError(
                f"{self.model.__name__}.{self.name} needs a data key: set "
                f"{self.subject} before saving."
            )
        key = open_data_key(key_id, row=row, using=model_instance._state.db)
        if key is None:
            raise KeyUnavailable()
        plaintext = self.encode(value)
        blob = seal(plaintext, key=key, context=self.context_bytes)
        if self.mutable:
            model_instance.__dict__[self.attname] = value
        else:
            model_instance.__dict__[self.attname] = SealedValue(
                blob, plain=self.decode(plaintext), opened_with=key_id
            )
        return blob

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        if value is None:
            return None
        if isinstance(value, SealedValue):
            value = value.blob
        if isinstance(value, bytes | memoryview):
            # Both drivers (sqlite3, psycopg) bind bytes as BLOB/bytea.
            return bytes(value)
        # Never the value itself in the message.
        raise TypeError(
            f"{self.model.__name__}.{self.name} is sealed: assign it on an instance and "
            "save(). QuerySet.update(), bulk_update() and lookups cannot seal values."
        )

    def get_lookup(self, lookup_name: str) -> type[Lookup[Any]] | None:
        # Equality on ciphertext with a random nonce would silently match nothing.
        return IsNull if lookup_name == "isnull" else None

    def get_transform(self, lookup_name: str) -> type[Transform] | None:
        return None

    def value_to_string(self, obj: models.Model) -> str:
        """Serializers (dumpdata) get the ciphertext, never the plaintext."""
        blob = self.pre_save(obj, add=False)
        return "" if blob is None else base64.b64encode(blob).decode("ascii")


class SealedTextField(_SealedField):
    description = "Sealed text"

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(
            **{"form_class": forms.CharField, "widget": forms.Textarea, **kwargs}
        )


class SealedCharField(_SealedField):
    """Sealed short text; ``max_length`` limits the plaintext (the column is binary)."""

    description = "Sealed short text"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(MaxLengthValidator(self.max_length))

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(
            **{"form_class": forms.CharField, "max_length": self.max_length, **kwargs}
        )


class SealedJSONField(_SealedField):
    """Sealed JSON (lists, dicts, numbers...). Reads of an erased subject give ``Erased``."""

    description = "Sealed JSON"
    mutable = True

    def __init__(
        self, *args: Any, encoder: type[json.JSONEncoder] = DjangoJSONEncoder, **kwargs: Any
    ) -> None:
        self.encoder = encoder
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.encoder is not DjangoJSONEncoder:
            kwargs["encoder"] = self.encoder
        return name, path, args, kwargs

    def encode(self, value: Any) -> bytes:
        return json.dumps(
            value, cls=self.encoder, ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")

    def decode(self, data: bytes) -> Any:
        return json.loads(data)

    def to_python(self, value: Any) -> Any:
        return value

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.JSONField, **kwargs})
