"""Folding names for search: "Fès" finds "Fes", "أكادير" finds "اكادير"."""

from __future__ import annotations

import re
import unicodedata

# Arabic short vowels, shadda, sukun, tanween, superscript alef and tatweel: spelling noise.
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})
_SPACES = re.compile(r"[\s\-'’_.,]+")


def fold(text: str) -> str:
    """Lower case, no Latin accents, no Arabic diacritics, unified alef/ta marbuta/ya, and
    runs of spaces or punctuation collapsed to one space."""
    text = _ARABIC_MARKS.sub("", text).translate(_ARABIC_FOLD)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(
        ch for ch in decomposed if not (unicodedata.combining(ch) and ord(ch) < 0x0600)
    )
    return _SPACES.sub(" ", unicodedata.normalize("NFC", stripped)).strip()
