"""Phonetic keys for Moroccan names written in Arabic or Latin script.

The same woman is فاطمة in her CIN, *Fatima* in a police report typed in French, *Fatema* at
the hospital and *Fadma* (the Amazigh form) at an NGO. Finding her again must not depend on how a
clerk spelled her name, and must not store the name itself: these keys are fed to a blind index
(keyed HMAC), never stored in clear.

The key of a name token is its consonant skeleton after folding both scripts into one alphabet:

* Arabic letters map to Latin classes (ف→f, ط/ت/د/ض/ذ/ث→t, ص/س→s, ظ/ز→z, ق/ك/خ→k, غ→g …);
* Latin digraphs fold the way French transcription writes Arabic sounds (ch/sh→S, kh→k, gh→g,
  ou→w, dj→j …);
* vowels, ``ع``, hamza, long-vowel carriers (ا و ي inside a word) and ``ة`` are dropped: they are
  exactly where spellings of the same name disagree;
* ``d`` folds into ``t`` (Fatima/Fadma), ``p`` into ``b``, ``v`` into ``f``; doubled letters
  collapse.

Particles (al-/el-, Ben, Bent, Bint, Ibn, Ould, Oulad, Ait/Aït and their Arabic forms) are
removed, so "Ben Ali" and "Benali" agree. A full-name key sorts the token keys, so the order in
which given and family names were written does not matter.

The keys are deliberately coarse: they produce *candidates* that are then narrowed by date of
birth (or age range) and commune, and shown to a person who decides. They never merge records.
"""

from __future__ import annotations

import re
import unicodedata

_ARABIC_MAP = {
    "ب": "b",
    "ت": "t",
    "ث": "t",
    "ج": "j",
    "ح": "h",
    "خ": "k",
    "د": "t",
    "ذ": "t",
    "ر": "r",
    "ز": "z",
    "س": "s",
    "ش": "S",
    "ص": "s",
    "ض": "t",
    "ط": "t",
    "ظ": "z",
    "غ": "g",
    "ف": "f",
    "ڤ": "f",
    "ق": "k",
    "ك": "k",
    "ڭ": "g",
    "گ": "g",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ه": "h",
    "و": "w",
    "ي": "y",
    "ى": "",
    "ا": "",
    "أ": "",
    "إ": "",
    "آ": "",
    "ء": "",
    "ؤ": "",
    "ئ": "",
    "ع": "",
    "ة": "",
    "ـ": "",  # tatweel
}

# Latin folding, applied in order (longest patterns first).
_LATIN_RULES: tuple[tuple[str, str], ...] = (
    ("dj", "j"),
    ("tch", "S"),
    ("sch", "S"),
    ("ch", "S"),
    ("sh", "S"),
    ("kh", "k"),
    ("gh", "g"),
    ("th", "t"),
    ("dh", "t"),
    ("ph", "f"),
    ("ou", "w"),
    ("oo", "w"),
    ("ck", "k"),
    ("qu", "k"),
    ("q", "k"),
    ("x", "ks"),
    ("ce", "se"),
    ("ci", "si"),
    ("cy", "sy"),
    ("c", "k"),
    ("d", "t"),
    ("p", "b"),
    ("v", "f"),
    ("u", "w"),
    ("'", ""),
)

_PARTICLES_LATIN = {
    "al",
    "el",
    "ben",
    "bent",
    "bint",
    "bin",
    "ibn",
    "ould",
    "oulad",
    "ouled",
    "ait",
    "bel",
    "la",
    "le",
    "de",
}
# Particles glued to a name in Latin script, with the shortest remainder that is still a name.
# "al" is not here: French transcription writes العلوي as "Alaoui", where the "al" is the
# article fused with the name's own ع and stripping it would lose the name's first consonant.
_PREFIX_PARTICLES_LATIN = (("bent", 3), ("ben", 3), ("ait", 3), ("el", 4))
_PARTICLES_ARABIC = {"بن", "بنت", "ابن", "إبن", "ولد", "أولاد", "اولاد", "آيت", "أيت", "ايت"}
_ARABIC_ARTICLE = "ال"
_VOWELS_AND_GLIDES = set("aeiouy" + "w")
_TOKEN_SPLIT = re.compile(r"[\s\-_.,'’/]+")
_ARABIC_RANGE = re.compile(r"[\u0600-\u06FF]")
_ARABIC_DIACRITICS = re.compile(r"[\u064B-\u065F\u0670]")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _squeeze(skeleton: str) -> str:
    out: list[str] = []
    for ch in skeleton:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def _arabic_skeleton(token: str) -> str:
    token = _ARABIC_DIACRITICS.sub("", token)
    if token.startswith(_ARABIC_ARTICLE) and len(token) > 3:
        token = token[2:]
    letters: list[str] = []
    for index, ch in enumerate(token):
        mapped = _ARABIC_MAP.get(ch)
        if mapped is None:
            continue
        # و and ي are consonants only at the start of a word (Wafae, Youssef); inside a word
        # they mostly carry long vowels that Latin spellings write as o/ou/i/e or omit.
        if mapped in {"w", "y"} and index > 0:
            continue
        letters.append(mapped)
    return _squeeze("".join(letters))


def _latin_skeleton(token: str) -> str:
    token = _strip_accents(token).lower()
    for prefix, shortest_rest in _PREFIX_PARTICLES_LATIN:
        # "Benali", "Elidrissi", "Aitbaha": a particle glued to a long enough name.
        if token.startswith(prefix) and len(token) - len(prefix) >= shortest_rest:
            token = token[len(prefix) :]
            break
    token = re.sub(r"[^a-z']", "", token)
    for pattern, replacement in _LATIN_RULES:
        token = token.replace(pattern, replacement)
    letters: list[str] = []
    for index, ch in enumerate(token):
        if ch in _VOWELS_AND_GLIDES:
            # Glides count only at the start of a word, as in the Arabic rule above.
            if ch in {"w", "y"} and index == 0 and len(token) > 1:
                letters.append(ch)
            continue
        letters.append(ch)
    return _squeeze("".join(letters))


def token_keys(name: str) -> list[str]:
    """Phonetic keys of the significant tokens of ``name`` (particles removed), in order."""
    keys: list[str] = []
    for raw in _TOKEN_SPLIT.split(name.strip()):
        if not raw:
            continue
        if _ARABIC_RANGE.search(raw):
            if raw in _PARTICLES_ARABIC:
                continue
            key = _arabic_skeleton(raw)
        else:
            if _strip_accents(raw).lower() in _PARTICLES_LATIN:
                continue
            key = _latin_skeleton(raw)
        if key:
            keys.append(key)
    return keys


def full_name_key(name: str) -> str:
    """One key for the whole name, independent of the order the tokens were written in."""
    return "-".join(sorted(token_keys(name)))


def normalize_cin(value: str) -> str:
    """Moroccan national ID (CIN): one or two letters then digits, e.g. ``BE123456``."""
    return re.sub(r"[\s\-]", "", value).upper()


CIN_PATTERN = re.compile(r"^[A-Z]{1,2}\d{1,6}$")


def is_valid_cin(value: str) -> bool:
    return bool(CIN_PATTERN.match(normalize_cin(value)))
