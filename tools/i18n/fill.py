"""Fill empty (or fuzzy) entries of the ar/fr/zgh/en catalogues from JSON translation files.

Usage (after ``make messages`` has extracted the new msgids)::

    .venv/bin/python tools/i18n/fill.py translations.json [more.json ...]

Each JSON file maps a msgid (or ``"msgid||msgid_plural"``) to ``{"ar": ..., "fr": ...,
"zgh": ..., "en": ...}``; a plural entry's values are lists, one string per plural form. An
entry that already has a translation is left alone unless ``--overwrite`` is given. zgh
entries get a translator comment saying the wording awaits a native speaker's review (a fuzzy
flag would make ``compilemessages_himaya --check`` fail and hide the text). Prints what is
still missing, per language.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from himaya.core.pofile import read_po, serialize_po  # noqa: E402

LANGUAGES = ("ar", "fr", "zgh", "en")
ZGH_NOTE = "# Translators: doubtful Amazigh wording, to be checked by a native speaker."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    table: dict[str, dict[str, object]] = {}
    for path in args.files:
        table.update(json.loads(path.read_text(encoding="utf-8")))
    for language in LANGUAGES:
        po_path = ROOT / "src/himaya/locale" / language / "LC_MESSAGES/django.po"
        catalog = read_po(po_path)
        nplurals = catalog.nplurals or 2
        filled = 0
        missing: list[str] = []
        for entry in catalog.messages():
            plural = entry.msgid_plural
            key = entry.msgid if plural is None else f"{entry.msgid}||{plural}"
            done = entry.translated and not entry.fuzzy
            if done and not args.overwrite:
                continue
            value = table.get(key, {}).get(language)
            if not value:
                # English is the source language: an empty entry shows the msgid.
                if not done and language != "en":
                    missing.append(key)
                continue
            if entry.msgid_plural is None:
                entry.msgstr = {0: str(value)}
            else:
                forms = list(value) if isinstance(value, list) else [str(value)]
                forms += [forms[-1]] * (nplurals - len(forms))
                entry.msgstr = dict(enumerate(forms[:nplurals]))
            entry.flags.discard("fuzzy")
            # The previous msgid only explains a fuzzy guess: gone with it.
            entry.comments = [c for c in entry.comments if not c.startswith("#|")]
            if language == "zgh" and ZGH_NOTE not in entry.comments:
                entry.comments.insert(0, ZGH_NOTE)
            filled += 1
        po_path.write_text(serialize_po(catalog), encoding="utf-8")
        print(f"{language}: filled {filled}, still missing {len(missing)}")
        for key in missing[:20]:
            print(f"  missing: {key[:90]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
