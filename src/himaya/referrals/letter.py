"""The referral letter: a printable page and a PDF carrying only what her consent allows.

It names the service, the reason and urgency, the referring unit, the case reference, and
then only the field groups of the referral's grant (identity, contact, …), read through the
same case selector as every other read (audited). Her account is printed only when the
narrative is in scope. The PDF is made by WeasyPrint from the same template with the
system's fonts (Arabic shaped, Tifinagh drawn); nothing is fetched while rendering.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import weasyprint
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language_bidi

from himaya.cases.forms import FIELD_GROUP_LABELS
from himaya.cases.policies import FieldGroup
from himaya.cases.receipts import text_direction
from himaya.core.i18n import localized_name
from himaya.referrals.models import Need, Urgency
from himaya.referrals.selectors import ReferralView

PDF_FILENAME = "document.pdf"
STYLESHEET = "referrals/letter.css"


class _NoFetch(weasyprint.URLFetcher):  # type: ignore[misc]
    """Refuses every URL: the letter is self-contained."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise ValueError("the letter loads nothing")


@cache
def _stylesheet_path() -> Path:
    found = finders.find(STYLESHEET)
    if not isinstance(found, str):
        raise LookupError(STYLESHEET)
    return Path(found)


def letter_context(view: ReferralView) -> dict[str, Any]:
    """What the letter shows: only the grant's groups, and only while it lives."""
    referral = view.referral
    received = view.received
    groups = set(received.groups) if received is not None and received.live else set()
    details = view.case
    case = details.case if details is not None else None
    survivor = case.survivor if case is not None else None
    sees = groups.__contains__
    to_name = localized_name(referral.to_agency)
    from_name = localized_name(referral.from_agency)
    return {
        "bidi": get_language_bidi(),
        "referral": referral,
        "to_name": to_name,
        "to_dir": text_direction(to_name),
        "from_name": from_name,
        "from_dir": text_direction(from_name),
        "from_phone": referral.from_agency.phone,
        "reference": case.reference if case is not None else "",
        "need": dict(Need.choices).get(referral.need, ""),
        "urgency": dict(Urgency.choices).get(referral.urgency, ""),
        "message": str(referral.message or ""),
        "groups": [FIELD_GROUP_LABELS[FieldGroup(g)] for g in sorted(groups)],
        "live": bool(groups),
        "identity": survivor is not None and sees(FieldGroup.IDENTITY),
        "contact": survivor is not None and sees(FieldGroup.CONTACT),
        "narrative": case is not None and sees(FieldGroup.NARRATIVE),
        "survivor": survivor,
        "case": case,
        "dependants": details.dependants if details is not None else [],
        "printed_on": date_format(timezone.localtime(), "DATE_FORMAT"),
    }


def render_letter_html(view: ReferralView, *, for_pdf: bool) -> str:
    context = letter_context(view)
    context["for_pdf"] = for_pdf
    return render_to_string("referrals/letter.html", context)


def render_letter_pdf(view: ReferralView) -> bytes:
    html = render_letter_html(view, for_pdf=True)
    path = _stylesheet_path()
    stylesheet = weasyprint.CSS(
        string=path.read_text(encoding="utf-8"), base_url=str(path.parent), url_fetcher=_NoFetch()
    )
    document = weasyprint.HTML(string=html, base_url=str(path.parent), url_fetcher=_NoFetch())
    pdf = document.write_pdf(stylesheets=[stylesheet])
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf without a target
        raise TypeError("WeasyPrint returned no bytes")
    return pdf
