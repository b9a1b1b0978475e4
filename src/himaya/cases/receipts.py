"""Her complaint receipt: a printable page and a PDF she may take home, or decline.

Only what she may safely carry: the unit, how to reach it, the reference, the date, what
happens next and her rights. Never her name, her words, the alleged perpetrator or anything
else from the file: a paper found at home by the man she is fleeing must tell him as little
as possible. The reference lets the unit find her file and says nothing about her.

The PDF is made by WeasyPrint from the same template, with the system's Noto fonts so that
Arabic is shaped and laid out right to left and Tifinagh is drawn. Nothing is fetched while
rendering (no network at run time, no file outside the one stylesheet handed over here).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import weasyprint
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language_bidi

from himaya.cases.models import CaseFile

#: The name her phone or computer shows for the download: nothing about a police case.
PDF_FILENAME = "document.pdf"
STYLESHEET = "cases/receipt.css"


class _NoFetch(weasyprint.URLFetcher):  # type: ignore[misc]
    """Refuses every URL: the receipt is self-contained, and a template bug must never
    make the server reach the network or read a file."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise ValueError("the receipt loads nothing")


@cache
def _stylesheet_path() -> Path:
    found = finders.find(STYLESHEET)
    if not isinstance(found, str):
        raise LookupError(STYLESHEET)
    return Path(found)


def _stylesheet() -> weasyprint.CSS:
    path = _stylesheet_path()
    return weasyprint.CSS(
        string=path.read_text(encoding="utf-8"),
        base_url=str(path.parent),
        url_fetcher=_NoFetch(),
    )


def text_direction(text: str) -> str:
    """``rtl`` or ``ltr`` from the first strongly directional character (the Unicode
    "first strong" rule): a French address on an Arabic receipt keeps its own order, which
    WeasyPrint does not work out from ``dir="auto"``."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def _unit_name(case: CaseFile, language: str) -> str:
    unit = case.unit
    if language.startswith("ar"):
        return unit.name_ar or unit.name_fr
    return unit.name_fr or unit.name_ar


def receipt_context(case: CaseFile, *, language: str) -> dict[str, Any]:
    """What the receipt shows. Call inside ``translation.override(language)``."""
    opened: datetime = timezone.localtime(case.created_at)
    unit_name = _unit_name(case, language)
    return {
        "language": language,
        "bidi": get_language_bidi(),
        "unit_name": unit_name,
        "unit_name_dir": text_direction(unit_name),
        "unit_phone": case.unit.phone,
        "unit_address": case.unit.address,
        "unit_address_dir": text_direction(case.unit.address),
        "reference": case.reference,
        "opened_on": date_format(opened, "DATE_FORMAT"),
        "printed_on": date_format(timezone.localtime(), "DATE_FORMAT"),
    }


def render_receipt_html(case: CaseFile, *, language: str, for_pdf: bool) -> str:
    """The receipt as HTML: for the browser (linked print stylesheet and a toolbar that is
    not printed) or for WeasyPrint (no link, no toolbar: the stylesheet is passed in)."""
    context = receipt_context(case, language=language)
    context["for_pdf"] = for_pdf
    context["case_id"] = case.pk
    return render_to_string("cases/receipt.html", context)


def render_receipt_pdf(case: CaseFile, *, language: str) -> bytes:
    html = render_receipt_html(case, language=language, for_pdf=True)
    document = weasyprint.HTML(
        string=html, base_url=str(_stylesheet_path().parent), url_fetcher=_NoFetch()
    )
    pdf = document.write_pdf(stylesheets=[_stylesheet()])
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf without a target
        raise TypeError("WeasyPrint returned no bytes")
    return pdf
