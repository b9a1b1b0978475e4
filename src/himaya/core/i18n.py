"""Language metadata Django does not ship: Standard Moroccan Amazigh (Tifinagh, ``zgh``)."""

from __future__ import annotations

from django.conf import locale

ZGH_INFO = {
    "bidi": False,
    "code": "zgh",
    "name": "Standard Moroccan Amazigh",
    "name_local": "ⵜⴰⵎⴰⵣⵉⵖⵜ",
}


def register_languages() -> None:
    locale.LANG_INFO.setdefault("zgh", ZGH_INFO)
