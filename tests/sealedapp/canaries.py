"""Canary values written through sealed fields, then searched for in the raw database bytes.

Used in-process on PostgreSQL (then ``pg_dump``) and, for SQLite, by ``canary_writer`` in a
subprocess that owns a file database (the test process's SQLite database is in memory).
"""

from __future__ import annotations

from typing import Any

from himaya.core.actor import SYSTEM
from himaya.core.blind_index import CIN, PHONE, index_replace
from himaya.core.models import BlindIndexEntry
from himaya.core.shredding import data_key_shred
from tests.sealedapp.factories import make_note, make_person

ARABIC_NAME = "فاطمة الزهراء بنعلي"
LATIN_NAME = "Khadija Ouhammou"
PHONE_E164 = "+212661234987"
PHONE_NATIONAL = "0661234987"
CIN_VALUE = "BK418273"
ADDRESS = "Derb Sidi Bouloukat 17, Marrakech"
NOTE_TEXT = "She left the house at night with her two children"
#: Written to a plain (unsealed) column: it MUST be found, or the search itself is broken.
CONTROL = "CanaryControlUnsealed7731"

SECRETS = (ARABIC_NAME, LATIN_NAME, PHONE_E164, PHONE_NATIONAL, CIN_VALUE, ADDRESS, NOTE_TEXT)


def encodings(text: str) -> list[bytes]:
    return [text.encode("utf-8"), text.encode("utf-16-le"), text.encode("utf-16-be")]


def found_in(blob: bytes, text: str) -> bool:
    return any(encoded in blob for encoded in encodings(text))


def write_canaries() -> dict[str, Any]:
    """Write the canaries (and shred one more subject first); return what to look for."""
    erased = make_person(name="Erased Subject", phone="0600000001")
    index_replace(index=PHONE, obj=erased, data_key_id=erased.data_key_id, values=[erased.phone])
    erased_digests = [
        bytes(d)
        for d in BlindIndexEntry.objects.filter(data_key_id=erased.data_key_id).values_list(
            "digest", flat=True
        )
    ]
    assert erased.data_key.wrapped_key is not None
    erased_wrapped = bytes(erased.data_key.wrapped_key)
    data_key_shred(actor=SYSTEM, data_key=erased.data_key, reason="canary test")

    arabic = make_person(name=ARABIC_NAME, label=CONTROL)
    latin = make_person(
        name=LATIN_NAME,
        phone=PHONE_E164,
        cin=CIN_VALUE,
        narrative=NOTE_TEXT,
        details={"address": ADDRESS, "phone_as_typed": PHONE_NATIONAL},
    )
    make_note(arabic, f"{ARABIC_NAME} {PHONE_NATIONAL}")
    index_replace(index=PHONE, obj=latin, data_key_id=latin.data_key_id, values=[PHONE_E164])
    index_replace(index=CIN, obj=latin, data_key_id=latin.data_key_id, values=[CIN_VALUE])
    return {
        "erased_wrapped_key": erased_wrapped.hex(),
        "erased_digests": [digest.hex() for digest in erased_digests],
        "person_ids": [arabic.pk, latin.pk],
    }
