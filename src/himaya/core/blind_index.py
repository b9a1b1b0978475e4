"""Blind indexes: exact search over sealed values without storing them.

A blind index digest is ``HMAC-SHA256(purpose key, normalized value)`` truncated to 16 bytes.
Each purpose (phone, CIN, name key...) has its own key, derived from the blind-index root key
that lives with the master key outside the database, so a digest of a phone number cannot be
compared with a digest of a CIN, and nobody holding only the database can test guesses.

Digests are stored in ``core.BlindIndexEntry`` rows (purpose, digest, subject's data key,
record). Finding records is one equality lookup on the ``(purpose, digest, content type)``
index::

    PHONE = BlindIndex("phone", normalize=normalize_phone)
    index_replace(index=PHONE, obj=survivor, data_key_id=survivor.data_key_id,
                  values=[survivor.phone])          # in the service that saves her
    Survivor.objects.filter(pk__in=index_lookup(index=PHONE, value=typed, model=Survivor))

Shredding a subject deletes her entries (``himaya.core.shredding``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import phonenumbers
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.db.models.functions import Cast

from himaya.core import names
from himaya.core.keystore import derived_key
from himaya.core.models import BlindIndexEntry
from himaya.core.rows import insert_sql

__all__ = [
    "CIN",
    "NAME",
    "NAME_TOKEN",
    "PHONE",
    "BlindIndex",
    "index_clear",
    "index_lookup",
    "index_new",
    "index_replace",
    "normalize_cin",
    "normalize_phone",
    "normalize_text",
]

DIGEST_BYTES = 16
_PURPOSE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_registry: dict[str, BlindIndex] = {}


class BlindIndex:
    """One purpose of blind index, with its normalization.

    ``normalize`` maps a raw value to its canonical form (empty string: nothing to index).
    ``expand``, when given, maps a raw value to several canonical terms instead (e.g. one
    phonetic key per name token), each indexed on its own.
    """

    def __init__(
        self,
        purpose: str,
        *,
        normalize: Callable[[str], str] | None = None,
        expand: Callable[[str], Iterable[str]] | None = None,
    ) -> None:
        if not _PURPOSE.match(purpose):
            raise ValueError(f"Blind index purpose {purpose!r} must be a short snake_case name")
        if purpose in _registry:
            raise ValueError(f"Blind index purpose {purpose!r} is already defined")
        self.purpose = purpose
        self.normalize = normalize or normalize_text
        self.expand = expand
        _registry[purpose] = self

    def __repr__(self) -> str:
        return f"BlindIndex({self.purpose!r})"

    def terms(self, value: str) -> list[str]:
        """The canonical terms of ``value`` (deduplicated, empty ones dropped)."""
        raw = self.expand(value) if self.expand is not None else [self.normalize(value)]
        return sorted({term for term in raw if term})

    def digest_term(self, term: str) -> bytes:
        key = derived_key(f"blind-index:{self.purpose}")
        return hmac.new(key, term.encode("utf-8"), hashlib.sha256).digest()[:DIGEST_BYTES]

    def digests(self, value: str) -> list[bytes]:
        return [self.digest_term(term) for term in self.terms(value)]


def get_index(purpose: str) -> BlindIndex:
    return _registry[purpose]


# --- normalizers --------------------------------------------------------------------------


def normalize_text(value: str) -> str:
    """Case-folded, accents removed, Arabic diacritics (harakat, tatweel) removed, single
    spaces: the same text typed twice indexes the same."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(
        ch
        for ch in text
        if not unicodedata.combining(ch) and ch != "\u0640"  # tatweel
    )
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def normalize_phone(value: str, region: str = "MA") -> str:
    """E.164 (``+212612345678``); Moroccan numbers may be typed nationally (``0612...``).
    A value that is not a possible phone number is indexed by its digits, so a typo still
    finds the record it was typed into."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return re.sub(r"\D", "", value)


def normalize_cin(value: str) -> str:
    return names.normalize_cin(value)


PHONE = BlindIndex("phone", normalize=normalize_phone)
CIN = BlindIndex("cin", normalize=normalize_cin)
#: Whole-name phonetic key (token order does not matter; Arabic and Latin spellings meet).
NAME = BlindIndex("name", normalize=names.full_name_key)
#: One phonetic key per significant name token, for partial-name candidates.
NAME_TOKEN = BlindIndex("name_token", expand=names.token_keys)


# --- storage ------------------------------------------------------------------------------


def _object_ref(obj: models.Model) -> tuple[ContentType, str]:
    if obj.pk is None:
        raise ValueError("Save the record before indexing it.")
    return ContentType.objects.get_for_model(obj, for_concrete_model=True), str(obj.pk)


def index_replace(
    *,
    index: BlindIndex,
    obj: models.Model,
    data_key_id: uuid.UUID,
    values: Iterable[str | None],
) -> int:
    """Make ``obj``'s entries for this purpose exactly the digests of ``values``.

    Called by the service that saves the record, inside its transaction. Returns how many
    entries the record now has for this purpose.
    """
    content_type, object_id = _object_ref(obj)
    digests = sorted({d for value in values if value for d in index.digests(value)})
    BlindIndexEntry.objects.filter(
        purpose=index.purpose, content_type=content_type, object_id=object_id
    ).delete()
    BlindIndexEntry.objects.bulk_create(
        BlindIndexEntry(
            purpose=index.purpose,
            digest=digest,
            data_key_id=data_key_id,
            content_type=content_type,
            object_id=object_id,
        )
        for digest in digests
    )
    return len(digests)


def index_replace_all(
    *,
    obj: models.Model,
    data_key_id: uuid.UUID,
    values: Mapping[BlindIndex, Iterable[str | None]],
) -> int:
    """``index_replace`` for several purposes of one record at once: the same entries, in
    two statements (one DELETE, one INSERT) instead of two per purpose — an intake indexes
    her and him under four purposes each. Returns how many entries were written."""
    content_type, object_id = _object_ref(obj)
    BlindIndexEntry.objects.filter(
        purpose__in=[index.purpose for index in values],
        content_type=content_type,
        object_id=object_id,
    ).delete()
    entries = [
        BlindIndexEntry(
            purpose=index.purpose,
            digest=digest,
            data_key_id=data_key_id,
            content_type=content_type,
            object_id=object_id,
        )
        for index, terms in values.items()
        for digest in sorted({d for value in terms if value for d in index.digests(value)})
    ]
    BlindIndexEntry.objects.bulk_create(entries)
    return len(entries)


def index_new(
    records: Iterable[tuple[models.Model, uuid.UUID, Mapping[BlindIndex, Iterable[str | None]]]],
) -> int:
    """The entries of records created in this transaction, which have none yet: for each
    ``(record, its data key id, {purpose: values})``, what ``index_replace_all`` would
    write, for every record in ONE insert and without the DELETE (an intake indexes her and
    each man she names). Returns how many entries were written."""
    rows: list[tuple[str, bytes, uuid.UUID, int, str]] = []
    for obj, data_key_id, values in records:
        content_type, object_id = _object_ref(obj)
        rows.extend(
            (index.purpose, digest, data_key_id, content_type.pk, object_id)
            for index, terms in values.items()
            for digest in sorted({d for value in terms if value for d in index.digests(value)})
        )
    for start in range(0, len(rows), _INSERT_ROWS):
        _insert(rows[start : start + _INSERT_ROWS])
    return len(rows)


#: Entries per INSERT statement (5 parameters each, far below SQLite's limit).
_INSERT_ROWS = 200
_INSERT_COLUMNS = ("purpose", "digest", "data_key", "content_type", "object_id")


def _insert(rows: list[tuple[str, bytes, uuid.UUID, int, str]]) -> None:
    """One multi-row INSERT of entries, each value prepared by its own field as the ORM
    would: the statement ``bulk_create`` writes, built once (``core.rows``), from tuples
    rather than model instances (an intake writes a few dozen entries)."""
    if not rows:
        return
    by_name = {f.name: f for f in BlindIndexEntry._meta.concrete_fields}
    fields = [by_name[name] for name in _INSERT_COLUMNS]
    params = [
        field.get_db_prep_save(value, connection)
        for entry in rows
        for field, value in zip(fields, entry, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(insert_sql(BlindIndexEntry, fields, len(rows)), params)


def index_clear(*, obj: models.Model) -> None:
    """Remove every entry of ``obj`` (all purposes), e.g. when the record is deleted."""
    content_type, object_id = _object_ref(obj)
    BlindIndexEntry.objects.filter(content_type=content_type, object_id=object_id).delete()


def index_lookup(
    *, index: BlindIndex, value: str, model: type[models.Model] | None = None
) -> models.QuerySet[BlindIndexEntry, Any]:
    """The primary keys of records with an entry matching ``value``.

    With ``model``, the keys come cast to that model's primary key type, ready for
    ``Model.objects.filter(pk__in=index_lookup(...))``: the database walks the
    ``(purpose, digest, content type)`` index once, then the primary key index. Without
    ``model``, the keys of every kind of record are strings. An expanded index matches
    records sharing any term.
    """
    entries = BlindIndexEntry.objects.filter(purpose=index.purpose, digest__in=index.digests(value))
    if model is None:
        return entries.values_list("object_id", flat=True)
    pk = model._meta.pk
    if pk is None:
        raise TypeError(f"{model.__name__} has no primary key to look up")
    target = pk.target_field if isinstance(pk, models.ForeignKey) else pk
    return (
        entries.filter(
            content_type=ContentType.objects.get_for_model(model, for_concrete_model=True)
        )
        .annotate(record_pk=Cast("object_id", output_field=target.clone()))
        .values_list("record_pk", flat=True)
    )
