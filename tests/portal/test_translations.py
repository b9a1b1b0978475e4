"""All four languages complete: every message the portal shows (templates and code) has a
non-empty translation in the Arabic, French and Amazigh catalogues; English is the source.
A portal page with one untranslated sentence would show a survivor a language she may not
read, at the worst moment."""

from __future__ import annotations

from pathlib import Path

import pytest

from himaya.core.pofile import read_po
from tests.portal.msgids import SRC, portal_msgids

LOCALES = ("ar", "fr", "zgh")


def translations(lang: str) -> dict[str, str]:
    catalog = read_po(Path(SRC / "locale" / lang / "LC_MESSAGES" / "django.po"))
    return {
        e.msgid: e.msgstr.get(0, "")
        for e in catalog.messages()
        if e.msgctxt is None and not e.fuzzy
    }


def test_the_extractor_finds_the_portal_messages() -> None:
    found = portal_msgids()
    assert "Quick exit" in found
    assert "Step %(n)s of %(total)s" in found  # a blocktranslate with variables
    assert "This codename was not found. Check it and try again." in found  # from Python
    assert len(found) > 150


@pytest.mark.parametrize("lang", LOCALES)
def test_every_portal_message_is_translated(lang: str) -> None:
    known = translations(lang)
    missing = sorted(m for m in portal_msgids() if not known.get(m, "").strip())
    assert not missing, f"{len(missing)} portal messages untranslated in {lang}: {missing[:10]}"
