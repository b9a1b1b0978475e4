"""Crypto-shredding, and the shred ledger that keeps it true for backups too.

Shredding a subject destroys her wrapped data key (``wrapped_key`` set to NULL) and deletes her
blind-index entries: every sealed value of hers becomes unreadable and unsearchable, while the
rows themselves (and de-identified statistics built on them) stay.

A database backup taken earlier still holds her wrapped key. So every shred is first appended
to the **shred ledger**, a file kept with the keys, outside the database:

    v1 <seq> <data key uuid> <UTC time> <previous line's MAC> <MAC>

Each line carries an HMAC-SHA256 over its content and the previous line's MAC, with a key
derived from the blind-index root key (stable across master-key rotations, unlike the master
key, so the ledger stays verifiable after old master keys are retired). Editing a line breaks
its MAC; deleting or reordering lines breaks the chain at the next line; lines cannot be forged
without the key. The ledger holds no personal data: only random key ids and times.

``manage.py restore`` re-applies the ledger to the restored database, ``manage.py
apply_shred_ledger`` does it on demand, and the ``himaya.E012`` system check
(``manage.py check --database default``, and every ``migrate``) fails while the database holds
a live key for a shredded subject.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from himaya.core import audit
from himaya.core.actor import Actor
from himaya.core.crypto import forget_data_key
from himaya.core.keystore import derived_key, ensure_keys_dir
from himaya.core.models import BlindIndexEntry, DataKey

__all__ = [
    "LedgerReading",
    "ShredReport",
    "apply_shred_ledger",
    "data_key_shred",
    "ledger_path",
    "read_ledger",
]

LEDGER_FILENAME = "shred-ledger.txt"
_LEDGER_VERSION = "v1"
_GENESIS = "0" * 64
_CHUNK = 500


def ledger_path() -> Path:
    return Path(settings.KEYS_DIR) / LEDGER_FILENAME


def _mac(body: str) -> str:
    return hmac.new(derived_key("shred-ledger"), body.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    seq: int
    data_key_id: uuid.UUID
    shredded_at: str
    mac: str


@dataclass(slots=True)
class LedgerReading:
    #: Lines whose own MAC verifies: genuine shreds, applied even if the chain is broken.
    entries: list[LedgerEntry] = field(default_factory=list)
    #: Plain descriptions of tampering (edited, forged, deleted or reordered lines).
    problems: list[str] = field(default_factory=list)

    @property
    def shredded_ids(self) -> set[uuid.UUID]:
        return {entry.data_key_id for entry in self.entries}


def _parse(lines: Iterable[str]) -> LedgerReading:
    reading = LedgerReading()
    previous_mac, previous_seq = _GENESIS, 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split(" ")
        if len(parts) != 6 or parts[0] != _LEDGER_VERSION:
            reading.problems.append(f"line {number} is malformed")
            continue
        _version, seq_text, key_text, when, prev_mac, mac = parts
        body = " ".join(parts[:5])
        if not hmac.compare_digest(_mac(body), mac):
            reading.problems.append(f"line {number} fails its MAC (edited or forged)")
            continue
        try:
            entry = LedgerEntry(
                seq=int(seq_text), data_key_id=uuid.UUID(key_text), shredded_at=when, mac=mac
            )
        except ValueError:
            reading.problems.append(f"line {number} is malformed")
            continue
        if prev_mac != previous_mac or entry.seq != previous_seq + 1:
            reading.problems.append(
                f"the chain breaks at line {number}: lines before it were deleted or reordered"
            )
        reading.entries.append(entry)
        previous_mac, previous_seq = mac, entry.seq
    return reading


def read_ledger() -> LedgerReading:
    """Every genuine entry of the ledger, and what is wrong with it. Missing file: empty."""
    try:
        text = ledger_path().read_text(encoding="ascii")
    except FileNotFoundError:
        return LedgerReading()
    return _parse(text.splitlines())


@contextlib.contextmanager
def _locked_ledger() -> Iterator[int]:
    ensure_keys_dir()
    fd = os.open(ledger_path(), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _last_line(fd: int) -> str:
    size = os.fstat(fd).st_size
    if size == 0:
        return ""
    window = min(size, 4096)
    data = os.pread(fd, window, size - window).decode("ascii", "replace")
    lines = [line for line in data.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def append_to_ledger(data_key_ids: Iterable[uuid.UUID]) -> int:
    """Append shreds to the ledger and fsync before returning (the shred waits for this)."""
    ids = list(data_key_ids)
    if not ids:
        return 0
    with _locked_ledger() as fd:
        last = _last_line(fd).split(" ")
        previous_mac, seq = (last[5], int(last[1])) if len(last) == 6 else (_GENESIS, 0)
        when = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        out = []
        for data_key_id in ids:
            seq += 1
            body = f"{_LEDGER_VERSION} {seq} {data_key_id} {when} {previous_mac}"
            previous_mac = _mac(body)
            out.append(f"{body} {previous_mac}\n")
        os.write(fd, "".join(out).encode("ascii"))
        os.fsync(fd)
    return len(ids)


def _destroy(data_key_ids: list[uuid.UUID]) -> int:
    """Null the wrapped keys and delete the blind-index entries, in the open transaction."""
    now = timezone.now()
    count = DataKey.objects.filter(pk__in=data_key_ids, wrapped_key__isnull=False).update(
        wrapped_key=None, shredded_at=now
    )
    BlindIndexEntry.objects.filter(data_key_id__in=data_key_ids).delete()
    for data_key_id in data_key_ids:
        forget_data_key(data_key_id)

    def forget_again() -> None:
        # Another thread may have re-cached the key before the commit made it disappear.
        for data_key_id in data_key_ids:
            forget_data_key(data_key_id)

    transaction.on_commit(forget_again)
    return count


def _scrub_sqlite_after_commit() -> None:
    """On SQLite, make the destroyed bytes physically go away from the database files.

    ``secure_delete`` zeroes the freed record space on the next writes; a TRUNCATE checkpoint
    copies the WAL into the database and empties the WAL, whose older frames still held the
    page with the wrapped key.
    """
    connection = connections["default"]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete = ON")

    def checkpoint() -> None:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    transaction.on_commit(checkpoint)


@transaction.atomic
def data_key_shred(*, actor: Actor, data_key: DataKey, reason: str) -> DataKey:
    """Crypto-shred one subject: her sealed values become ``Erased`` everywhere, for good.

    The caller (e.g. an erasure service of ``cases``) has already checked its policy and the
    legal basis. The ledger line is written and fsynced *before* the database changes: if
    the commit then fails, the ledger over-states the erasure and the next
    ``apply_shred_ledger`` completes it -- the safe direction. Idempotent.
    """
    locked = DataKey.objects.select_for_update().get(pk=data_key.pk)
    if locked.wrapped_key is None:
        return locked
    _scrub_sqlite_after_commit()
    append_to_ledger([locked.pk])
    _destroy([locked.pk])
    audit.record(
        actor=actor,
        action="datakey.shred",
        target_type="core.datakey",
        target_id=str(locked.pk),
        reason=reason,
    )
    locked.refresh_from_db()
    data_key.wrapped_key, data_key.shredded_at = None, locked.shredded_at
    return locked


@dataclass(frozen=True, slots=True)
class ShredReport:
    #: Keys found alive in the database although the ledger says they were shredded.
    reapplied: int
    #: Keys shredded in the database but missing from the ledger, now appended to it.
    recorded: int
    problems: tuple[str, ...]


def shredded_keys_missing_from_ledger(ledger_ids: set[uuid.UUID]) -> list[uuid.UUID]:
    """Keys shredded in the database that the ledger does not list (it was lost or is
    another machine's): a later restore would bring them back."""
    return [
        key_id
        for key_id in DataKey.objects.filter(wrapped_key__isnull=True)
        .order_by("shredded_at", "pk")
        .values_list("pk", flat=True)
        .iterator(chunk_size=2000)
        if key_id not in ledger_ids
    ]


def live_keys_in_ledger(ledger_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Ledger-listed keys that the database still holds wrapped (e.g. after a restore)."""
    ids = list(ledger_ids)
    found: list[uuid.UUID] = []
    for start in range(0, len(ids), _CHUNK):
        found.extend(
            DataKey.objects.filter(
                pk__in=ids[start : start + _CHUNK], wrapped_key__isnull=False
            ).values_list("pk", flat=True)
        )
    return found


def apply_shred_ledger(*, actor: Actor) -> ShredReport:
    """Make the database and the ledger agree, in the direction of erasure.

    1. every genuine ledger entry whose key is alive in the database is shredded again (a
       backup restored from before the shred), in batches of one transaction each;
    2. every key shredded in the database but absent from the ledger (ledger lost, or
       shredded on another machine) is appended to the ledger.
    """
    reading = read_ledger()
    ledger_ids = reading.shredded_ids
    live = live_keys_in_ledger(ledger_ids)
    reapplied = 0
    for start in range(0, len(live), _CHUNK):
        chunk = live[start : start + _CHUNK]
        with transaction.atomic():
            _scrub_sqlite_after_commit()
            reapplied += _destroy(chunk)
            for key_id in chunk:
                audit.record(
                    actor=actor,
                    action="datakey.shred_reapplied",
                    target_type="core.datakey",
                    target_id=str(key_id),
                    reason="shred ledger",
                )
    missing = shredded_keys_missing_from_ledger(ledger_ids)
    recorded = append_to_ledger(missing)
    return ShredReport(reapplied=reapplied, recorded=recorded, problems=tuple(reading.problems))
