"""Envelope encryption: AES-256-GCM data keys, wrapped by the master key, cached per process.

Formats (all integers big-endian; see docs/architecture/encryption.md):

* wrapped data key: ``01 | master key id (4) | nonce (12) | AES-GCM(master, data key)``,
  AAD = ``"himaya/data-key/v1" | header | data key uuid`` -- a wrapped key only unwraps as the
  row it was made for.
* sealed value: ``01 | data key uuid (16) | nonce (12) | AES-GCM(data key, padded plaintext)``,
  AAD = ``header | 00 | "<table>.<column>"`` -- a value only opens in the column it was sealed
  for and under the subject whose key is in its header (the field checks that key is the one
  its row points at). Plaintext is padded to a multiple of 16 bytes so a name's ciphertext
  does not give away its exact length.

Nothing here logs or raises with a plaintext, a key or a ciphertext in the message.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from himaya.core import audit
from himaya.core.actor import Actor
from himaya.core.errors import HimayaError, InvalidInput, KeyUnavailable
from himaya.core.keystore import Keyring, MasterKey, get_keyring, reload_keyring
from himaya.core.models import DataKey
from himaya.core.rows import insert as insert_rows

logger = logging.getLogger(__name__)

SEAL_VERSION = 0x01
WRAP_VERSION = 0x01
NONCE_BYTES = 12
TAG_BYTES = 16
DATA_KEY_BYTES = 32
SEAL_HEADER_BYTES = 1 + 16
WRAP_HEADER_BYTES = 1 + 4
_WRAP_LABEL = b"himaya/data-key/v1"
_PAD_BLOCK = 16


class SealedIntegrityError(HimayaError):
    """A sealed value failed authentication: altered, or moved from another row or column.

    This is not erasure (that reads as ``Erased``): it means someone wrote to the database
    behind the application's back, and the page must fail rather than show a wrong person's
    data."""

    http_status = 500
    code = "integrity"
    default_message = _("This record failed an integrity check. Contact your administrator.")


class Erased(str):
    """What a sealed field reads as once its subject's data key has been destroyed.

    It is a ``str`` holding the translated "erased" text of the language active when it was
    read, so templates and exports render it without special cases; code that must tell it
    apart uses ``isinstance(value, Erased)``, ``is_erased(value)`` or, in a template,
    ``{% if value.erased %}``.
    """

    __slots__ = ()
    erased = True

    def __new__(cls) -> Erased:
        return super().__new__(cls, str(KeyUnavailable.default_message))

    def __getnewargs__(self) -> tuple[()]:  # type: ignore[override]
        return ()

    def __repr__(self) -> str:
        return "Erased()"


def is_erased(value: object) -> bool:
    return isinstance(value, Erased)


# --- master key: wrapping data keys -------------------------------------------------------


def wrong_master_key_message(kids: Iterable[str], keyring: Keyring) -> str:
    names = ", ".join(sorted(set(kids)))
    held = ", ".join(sorted(keyring.master_keys))
    if keyring.from_environment:
        where = "HIMAYA_MASTER_KEY"
        fix = (
            "HIMAYA_MASTER_KEY is wrong for this database: set it to the key the database "
            "was created with (during a rotation, list the old key after the new one)."
        )
    else:
        where = f"the key file {keyring.source}"
        fix = (
            "The key file does not belong to this database: restore the right key file, or "
            "set HIMAYA_MASTER_KEY to the right key."
        )
    return (
        f"The database's data keys are wrapped by master key version {names}, which "
        f"{where} does not hold (it holds {held}). {fix}"
    )


def _wrap_aad(header: bytes, data_key_id: uuid.UUID) -> bytes:
    return _WRAP_LABEL + header + data_key_id.bytes


def wrap_data_key(raw: bytes, *, data_key_id: uuid.UUID, master: MasterKey) -> bytes:
    header = bytes([WRAP_VERSION]) + master.kid_bytes
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + master.aead.encrypt(nonce, raw, _wrap_aad(header, data_key_id))


def wrapped_master_key_id(wrapped: bytes) -> str:
    if len(wrapped) < WRAP_HEADER_BYTES or wrapped[0] != WRAP_VERSION:
        raise ImproperlyConfigured(
            "A data key in the database has an unknown format; the database is damaged or "
            "newer than this version of Himaya."
        )
    return wrapped[1:WRAP_HEADER_BYTES].hex()


def unwrap_data_key(wrapped: bytes, *, data_key_id: uuid.UUID) -> bytes:
    """The raw data key. A master key problem is a configuration error, said plainly."""
    kid = wrapped_master_key_id(wrapped)
    keyring = get_keyring()
    master = keyring.master_key(kid)
    if master is None:
        # rotate_keys may have added this version after the process loaded its keys.
        keyring = reload_keyring()
        master = keyring.master_key(kid)
        if master is None:
            raise ImproperlyConfigured(wrong_master_key_message([kid], keyring))
    header = wrapped[:WRAP_HEADER_BYTES]
    nonce = wrapped[WRAP_HEADER_BYTES : WRAP_HEADER_BYTES + NONCE_BYTES]
    try:
        return master.aead.decrypt(
            nonce, wrapped[WRAP_HEADER_BYTES + NONCE_BYTES :], _wrap_aad(header, data_key_id)
        )
    except InvalidTag:
        raise ImproperlyConfigured(
            f"A data key wrapped by master key version {kid} does not open with that key "
            f"from {keyring.source}: the master key or the database row is not the right one. "
            "Check HIMAYA_MASTER_KEY (or the key file) and the database you point at."
        ) from None


# --- data keys: sealing values ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenDataKey:
    """An unwrapped data key, ready to seal and open values. Never logged, never stored."""

    id: uuid.UUID
    aead: AESGCM

    def __repr__(self) -> str:
        return f"OpenDataKey({self.id})"


def _pad(data: bytes) -> bytes:
    # ISO/IEC 7816-4: one 0x80 byte then zeros up to the block size.
    padding = _PAD_BLOCK - (len(data) % _PAD_BLOCK)
    return data + b"\x80" + b"\x00" * (padding - 1)


def _unpad(data: bytes) -> bytes:
    end = data.rstrip(b"\x00")
    if not end.endswith(b"\x80"):
        raise SealedIntegrityError()
    return end[:-1]


def seal(plaintext: bytes, *, key: OpenDataKey, context: bytes) -> bytes:
    header = bytes([SEAL_VERSION]) + key.id.bytes
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + key.aead.encrypt(nonce, _pad(plaintext), header + b"\x00" + context)


def sealed_key_id(blob: bytes) -> uuid.UUID:
    """The data key a sealed value names in its header (no decryption)."""
    if len(blob) < SEAL_HEADER_BYTES + NONCE_BYTES + TAG_BYTES or blob[0] != SEAL_VERSION:
        raise SealedIntegrityError()
    return uuid.UUID(bytes=blob[1:SEAL_HEADER_BYTES])


def unseal(blob: bytes, *, key: OpenDataKey, context: bytes) -> bytes:
    if sealed_key_id(blob) != key.id:
        raise SealedIntegrityError()
    header = blob[:SEAL_HEADER_BYTES]
    nonce = blob[SEAL_HEADER_BYTES : SEAL_HEADER_BYTES + NONCE_BYTES]
    try:
        padded = key.aead.decrypt(
            nonce, blob[SEAL_HEADER_BYTES + NONCE_BYTES :], header + b"\x00" + context
        )
    except InvalidTag:
        raise SealedIntegrityError() from None
    return _unpad(padded)


# --- the per-process cache of unwrapped data keys -----------------------------------------


class _Erased:
    """Cache marker: this data key is known to be shredded."""


_ERASED = _Erased()


class _DataKeyCache:
    """A small LRU with a time-to-live.

    The TTL bounds how long another process keeps using a key after it was shredded here
    (this process forgets it at once). Entries are keyed by the data key's UUID, which is
    never reused, so a rolled-back insert or a restored backup cannot make the cache serve
    one subject's key for another.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[uuid.UUID, tuple[float, OpenDataKey | _Erased]] = OrderedDict()

    @staticmethod
    def limits() -> tuple[int, float]:
        return (
            int(getattr(settings, "HIMAYA_DATA_KEY_CACHE_SIZE", 1024)),
            float(getattr(settings, "HIMAYA_DATA_KEY_CACHE_SECONDS", 60)),
        )

    def get(self, key_id: uuid.UUID) -> OpenDataKey | _Erased | None:
        with self.lock:
            entry = self.entries.get(key_id)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self.entries[key_id]
                return None
            self.entries.move_to_end(key_id)
            return entry[1]

    def put(self, key_id: uuid.UUID, value: OpenDataKey | _Erased) -> None:
        size, ttl = self.limits()
        with self.lock:
            self.entries[key_id] = (time.monotonic() + ttl, value)
            self.entries.move_to_end(key_id)
            while len(self.entries) > size:
                self.entries.popitem(last=False)

    def forget(self, key_id: uuid.UUID) -> None:
        with self.lock:
            self.entries.pop(key_id, None)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_data_keys = _DataKeyCache()


def clear_data_key_cache() -> None:
    _data_keys.clear()


def forget_data_key(data_key_id: uuid.UUID) -> None:
    _data_keys.forget(data_key_id)


def _open_wrapped(data_key_id: uuid.UUID, wrapped: bytes | memoryview | None) -> OpenDataKey | None:
    if wrapped is None:
        _data_keys.put(data_key_id, _ERASED)
        return None
    raw = unwrap_data_key(bytes(wrapped), data_key_id=data_key_id)
    key = OpenDataKey(id=data_key_id, aead=AESGCM(raw))
    _data_keys.put(data_key_id, key)
    return key


def open_data_key(
    data_key_id: uuid.UUID, *, row: DataKey | None = None, using: str | None = None
) -> OpenDataKey | None:
    """The subject's unwrapped key, or None when it has been shredded.

    ``row`` is the DataKey already loaded with the record (``select_related``); without it a
    cache miss costs one query. A row that says "shredded" always wins over the cache.
    """
    if row is not None and row.wrapped_key is None:
        _data_keys.put(data_key_id, _ERASED)
        return None
    cached = _data_keys.get(data_key_id)
    if cached is not None:
        return None if isinstance(cached, _Erased) else cached
    if row is not None:
        return _open_wrapped(data_key_id, row.wrapped_key)
    manager = DataKey.objects.db_manager(using) if using else DataKey.objects
    found = list(manager.filter(pk=data_key_id).values_list("wrapped_key", flat=True))
    if not found:
        logger.warning("A sealed value names a data key that does not exist; shown as erased.")
    return _open_wrapped(data_key_id, found[0] if found else None)


def prefetch_data_keys(ids: Iterable[uuid.UUID], *, using: str | None = None) -> None:
    """Unwrap many subjects' keys with one query (list pages), skipping those cached."""
    missing = [key_id for key_id in set(ids) if key_id and _data_keys.get(key_id) is None]
    manager = DataKey.objects.db_manager(using) if using else DataKey.objects
    for start in range(0, len(missing), 500):
        chunk = missing[start : start + 500]
        for key_id, wrapped in manager.filter(pk__in=chunk).values_list("id", "wrapped_key"):
            _open_wrapped(key_id, wrapped)


# --- services -----------------------------------------------------------------------------


def data_key_create(*, actor: Actor, kind: str) -> DataKey:
    """Create a data subject's key, wrapped by the current master key.

    Called by the service that creates the subject, in its transaction; that service has
    already checked its policy. The raw key is not kept: the first sealed write unwraps it
    from the returned row (no query). Key ids are random UUIDs, so a key cached inside a
    transaction that later rolls back can never be served for another subject.
    """
    return data_keys_create(actor=actor, kinds=[kind])[0]


def data_keys_create(*, actor: Actor, kinds: Sequence[str]) -> list[DataKey]:
    """``data_key_create`` for several subjects at once (an intake creates her key and one
    per man she names): one INSERT for the keys and one audit append for their events,
    instead of a savepoint and four statements per key."""
    with transaction.atomic(savepoint=False):
        keys = data_keys_insert(kinds=kinds)
        if keys:
            audit.record_many(actor=actor, events=data_key_events(keys))
    return keys


def data_keys_insert(*, kinds: Sequence[str]) -> list[DataKey]:
    """The keys of ``data_keys_create``, inserted in one statement, WITHOUT their audit
    events: call it inside a transaction that appends ``data_key_events(keys)`` itself,
    together with its own events. An intake does, so that it appends to the audit chain
    once, at its end: on PostgreSQL the chain head's row lock, which every audited write of
    the country waits for, is then held from the last statement to the commit instead of
    through the whole intake."""
    if any(kind not in DataKey.Kind.values for kind in kinds):
        raise InvalidInput(_("Unknown kind of data key."))
    if not kinds:
        return []
    master = get_keyring().current
    keys: list[DataKey] = []
    for kind in kinds:
        data_key_id = uuid.uuid4()
        raw = AESGCM.generate_key(bit_length=8 * DATA_KEY_BYTES)
        keys.append(
            DataKey(
                id=data_key_id,
                kind=kind,
                master_key_id=master.kid,
                wrapped_key=wrap_data_key(raw, data_key_id=data_key_id, master=master),
            )
        )
    insert_rows(keys)
    return keys


def data_key_events(keys: Iterable[DataKey]) -> list[audit.Planned]:
    """The ``datakey.create`` audit events of keys made by ``data_keys_insert``."""
    return [
        audit.Planned(action="datakey.create", target_type="core.datakey", target_id=str(k.pk))
        for k in keys
    ]


@dataclass(frozen=True, slots=True)
class RewrapReport:
    current_kid: str
    rewrapped: int
    remaining: int


def data_keys_remaining(current_kid: str) -> int:
    """How many live data keys are still wrapped by another master key version."""
    return (
        DataKey.objects.exclude(master_key_id=current_kid).filter(wrapped_key__isnull=False).count()
    )


@transaction.atomic
def _rewrap_batch(*, actor: Actor, current: MasterKey, size: int) -> int:
    rows = list(
        DataKey.objects.select_for_update()
        .exclude(master_key_id=current.kid)
        .filter(wrapped_key__isnull=False)
        .order_by("pk")[:size]
    )
    for row in rows:
        wrapped = row.wrapped_key
        if wrapped is None:  # filtered out above and locked: cannot happen
            continue
        raw = unwrap_data_key(bytes(wrapped), data_key_id=row.pk)
        row.wrapped_key = wrap_data_key(raw, data_key_id=row.pk, master=current)
        row.master_key_id = current.kid
    if rows:
        DataKey.objects.bulk_update(rows, ["wrapped_key", "master_key_id"])
        audit.record(
            actor=actor,
            action="datakey.rewrap",
            target_type="core.masterkey",
            target_id=current.kid,
            metadata={"count": len(rows)},
        )
    return len(rows)


def data_keys_rewrap(
    *,
    actor: Actor,
    batch_size: int = 500,
    limit: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> RewrapReport:
    """Re-wrap every data key under the current master key, one transaction per batch.

    Resumable by construction: each batch picks keys still wrapped by another version, so an
    interrupted run continues where it stopped. The plain data keys never change, so sealed
    values are not touched and every field stays readable throughout.
    """
    current = reload_keyring().current
    total = data_keys_remaining(current.kid)
    if limit is not None:
        total = min(total, limit)
    done = 0
    while limit is None or done < limit:
        size = batch_size if limit is None else min(batch_size, limit - done)
        count = _rewrap_batch(actor=actor, current=current, size=size)
        if count == 0:
            break
        done += count
        if on_batch is not None:
            on_batch(done, total)
    return RewrapReport(
        current_kid=current.kid, rewrapped=done, remaining=data_keys_remaining(current.kid)
    )


def master_key_versions_in_use() -> dict[str, int]:
    """Live data keys per master key version (shredded keys need no master key)."""
    rows = (
        DataKey.objects.filter(wrapped_key__isnull=False)
        .values_list("master_key_id")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return dict(rows)


__all__ = [
    "Erased",
    "OpenDataKey",
    "RewrapReport",
    "SealedIntegrityError",
    "data_key_create",
    "data_key_events",
    "data_keys_create",
    "data_keys_insert",
    "data_keys_remaining",
    "data_keys_rewrap",
    "forget_data_key",
    "is_erased",
    "master_key_versions_in_use",
    "open_data_key",
    "prefetch_data_keys",
    "seal",
    "sealed_key_id",
    "unseal",
    "unwrap_data_key",
    "wrap_data_key",
]
