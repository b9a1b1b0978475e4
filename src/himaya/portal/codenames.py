"""Codenames: how she comes back to her report without an account.

A codename is a diceware-style phrase of common words from the word list of her language
(``wordlists/<lang>.txt``: everyday, unambiguous, non-offensive nouns), drawn by the server
with ``secrets``, followed by a two-digit check. Enough words are drawn for at least
``TARGET_BITS`` bits of randomness whatever the size of the list (five words from a list of
a few hundred). The check is a checksum of the words: a mistyped word is caught and said so
without counting as a guess, and gives an attacker nothing (anyone can compute it).

She sees it once, on the page that acknowledges her report. It is never e-mailed, logged or
put in a URL. The database keeps:

* ``lookup``: ``HMAC-SHA256`` of the normalized codename with a key derived from the
  blind-index root key (held outside the database), to find her row in one indexed query;
* ``secret_hash``: Argon2id of the normalized codename with its own random salt, checked
  before anything opens. A stolen table alone tests no guess; with the keys too, each guess
  still costs an Argon2 computation per row found.

Typing is forgiving: case, accents, Arabic diacritics and letter variants (أ/إ/آ, ة/ه, ى/ي),
Arabic-Indic digits and any punctuation between words are folded by ``normalize``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import unicodedata
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from himaya.core.keystore import derived_key

__all__ = [
    "TARGET_BITS",
    "Parsed",
    "check_digits",
    "generate",
    "hash_secret",
    "lookup_digest",
    "normalize_word",
    "parse",
    "prefix_digest",
    "verify_secret",
    "word_count",
    "words",
]

WORDLIST_DIR = Path(__file__).resolve().parent / "wordlists"
LANGUAGES = ("ar", "fr", "zgh", "en")
TARGET_BITS = 42
MIN_WORDS = 5
#: OWASP's Argon2id floor (19 MiB, two passes): about 20 ms per check on one core.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_FOLD = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي"}
)
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_SEPARATORS = re.compile(r"[^\w\u2d30-\u2d7f]+|_")


def normalize_word(word: str) -> str:
    """One spelling per word: what she types and what the list holds meet here."""
    text = unicodedata.normalize("NFKD", word.translate(_DIGITS))
    text = "".join(ch for ch in text if not unicodedata.combining(ch) or ch >= "\u2d30")
    text = _ARABIC_MARKS.sub("", unicodedata.normalize("NFKC", text)).translate(_ARABIC_FOLD)
    return text.casefold().strip()


@cache
def words(language: str) -> tuple[str, ...]:
    """The normalized, de-duplicated word list of ``language`` (unknown: English)."""
    code = language if language in LANGUAGES else "en"
    seen: dict[str, None] = {}
    for line in (WORDLIST_DIR / f"{code}.txt").read_text(encoding="utf-8").splitlines():
        word = normalize_word(line)
        if word and " " not in word and not _SEPARATORS.search(word):
            seen.setdefault(word, None)
    return tuple(seen)


def word_count(language: str) -> int:
    """How many words reach ``TARGET_BITS`` with this list (never fewer than five)."""
    size = len(words(language))
    return max(MIN_WORDS, math.ceil(TARGET_BITS / math.log2(size)))


def check_digits(word_list: list[str]) -> str:
    """Two digits (10-99) computed from the normalized words: catches a typo."""
    return str(zlib.crc32(" ".join(word_list).encode("utf-8")) % 90 + 10)


def generate(language: str) -> str:
    """A new codename in ``language``, as she should write it down."""
    vocabulary = words(language)
    chosen = [secrets.choice(vocabulary) for _ in range(word_count(language))]
    return " ".join([*chosen, check_digits(chosen)])


@dataclass(frozen=True, slots=True)
class Parsed:
    """A typed codename, normalized. ``check_ok`` is False when the check does not match
    the words (a typo): the page says so without counting a guess."""

    words: tuple[str, ...]
    check: str
    check_ok: bool

    @property
    def canonical(self) -> str:
        return " ".join([*self.words, self.check])


def parse(text: str) -> Parsed | None:
    """``None`` when it cannot be a codename at all (too short, too long, no check)."""
    if len(text) > 400:
        return None
    tokens = [normalize_word(t) for t in _SEPARATORS.split(text.translate(_DIGITS))]
    tokens = [t for t in tokens if t]
    if len(tokens) < MIN_WORDS + 1 or len(tokens) > 12:
        return None
    *found, check = tokens
    if not check.isdigit() or any(t.isdigit() for t in found):
        return None
    return Parsed(words=tuple(found), check=check, check_ok=check_digits(found) == check)


def lookup_digest(parsed: Parsed) -> str:
    """The keyed digest that finds her row (reveals nothing without the key)."""
    key = derived_key("blind-index:portal_codename")
    return hmac.new(key, parsed.canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def prefix_digest(parsed: Parsed) -> str:
    """Keyed digest of the first two words: the per-codename guessing counter. Someone who
    glimpsed the start of her codename cannot try endless endings."""
    key = derived_key("blind-index:portal_codename_prefix")
    return hmac.new(key, " ".join(parsed.words[:2]).encode("utf-8"), hashlib.sha256).hexdigest()


def hash_secret(parsed: Parsed) -> str:
    return _HASHER.hash(parsed.canonical)


def verify_secret(stored: str, parsed: Parsed) -> bool:
    try:
        return _HASHER.verify(stored, parsed.canonical)
    except (VerificationError, InvalidHashError):
        return False
