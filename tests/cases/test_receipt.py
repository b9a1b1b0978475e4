"""Her complaint receipt: a printable page and a PDF (WeasyPrint, system fonts), offered to
her and never carrying her name or her account."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from himaya.accounts.roles import Role
from himaya.cases import receipts, services
from himaya.cases.intake import SurvivorData
from himaya.cases.models import CaseFile, ConsentPurpose
from himaya.network.models import Agency, AgencyKind
from tests.accounts.helpers import make_agency
from tests.cases.helpers import Staff, make_unit, open_case
from tests.cases.pages_helpers import body, signed_in, signed_staff, title

pytestmark = pytest.mark.django_db

NAME = "Meryem Chraibi"
NARRATIVE = "He broke my arm on Friday."

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
    reason="poppler-utils (pdftotext, pdffonts) is not installed",
)


@pytest.fixture
def unit() -> Agency:
    agency = make_unit()
    agency.phone = "+212522000000"
    agency.save()
    return agency


@pytest.fixture
def officer(unit: Agency) -> Staff:
    return signed_staff(Role.UNIT_OFFICER, unit)


@pytest.fixture
def case(officer: Staff) -> CaseFile:
    return open_case(
        officer.actor,
        survivor=SurvivorData(full_name=NAME, phone="0698765432", preferred_language="fr"),
        narrative=NARRATIVE,
    )


def pdf_of(officer: Staff, case: CaseFile, lang: str, tmp_path: Path) -> tuple[Path, object]:
    response = signed_in(officer).get(reverse("cases:receipt_pdf", args=[case.pk]), {"lang": lang})
    assert response.status_code == 200
    path = tmp_path / f"receipt-{lang}.pdf"
    path.write_bytes(response.content)
    return path, response


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdf_fonts(path: Path) -> str:
    return subprocess.run(
        ["pdffonts", str(path)], check=True, capture_output=True, text=True
    ).stdout


@needs_poppler
@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_pdf_is_a_real_pdf_with_her_reference_and_nothing_about_her(
    officer: Staff, case: CaseFile, lang: str, tmp_path: Path
) -> None:
    path, _response = pdf_of(officer, case, lang, tmp_path)
    assert path.read_bytes().startswith(b"%PDF-")
    text = pdf_text(path)
    assert case.reference in text
    assert "+212522000000" in text
    for secret in ("Meryem", "Chraibi", "0698765432", "698765432", NARRATIVE):
        assert secret not in text


@needs_poppler
def test_the_arabic_pdf_embeds_an_arabic_system_font(
    officer: Staff, case: CaseFile, tmp_path: Path
) -> None:
    path, _response = pdf_of(officer, case, "ar", tmp_path)
    fonts = pdf_fonts(path).replace("-", "")
    assert "NotoNaskhArabic" in fonts or "NotoSansArabic" in fonts
    # The unit's Arabic name comes out as Arabic letters, not boxes or question marks.
    assert "وحدة" in pdf_text(path)


def test_the_pdf_is_a_download_with_a_neutral_name_that_is_not_kept(
    officer: Staff, case: CaseFile, tmp_path: Path
) -> None:
    _path, response = pdf_of(officer, case, "fr", tmp_path)
    assert response["Content-Type"] == "application/pdf"  # type: ignore[index]
    disposition = response["Content-Disposition"]  # type: ignore[index]
    assert disposition.startswith("attachment;")
    assert f'filename="{receipts.PDF_FILENAME}"' in disposition
    assert case.reference not in disposition
    assert "no-store" in response["Cache-Control"]  # type: ignore[index]


def test_the_printable_page_has_the_print_stylesheet(officer: Staff, case: CaseFile) -> None:
    response = signed_in(officer).get(reverse("cases:receipt", args=[case.pk]), {"lang": "fr"})
    page = body(response)
    assert response.status_code == 200
    assert '<meta charset="utf-8">' in page
    assert '<html lang="fr" dir="ltr">' in page
    assert 'rel="stylesheet" href="/static/cases/receipt.css"' in page
    stylesheet = finders.find("cases/receipt.css")
    assert isinstance(stylesheet, str)
    css = Path(stylesheet).read_text(encoding="utf-8")
    assert "@media print" in css
    assert "@page" in css
    assert case.reference in page
    for secret in ("Meryem", "Chraibi", "698765432", NARRATIVE):
        assert secret not in page
    assert "Meryem" not in title(response)


def test_the_receipt_is_in_her_language_unless_another_is_chosen(
    officer: Staff, case: CaseFile
) -> None:
    client = signed_in(officer)
    url = reverse("cases:receipt", args=[case.pk])
    assert '<html lang="fr" dir="ltr">' in body(client.get(url))  # her preferred language
    assert '<html lang="ar" dir="rtl">' in body(client.get(url, {"lang": "ar"}))
    assert '<html lang="fr" dir="ltr">' in body(client.get(url, {"lang": "xx"}))


def test_the_case_page_offers_the_receipt_as_her_choice(officer: Staff, case: CaseFile) -> None:
    page = body(signed_in(officer).get(reverse("cases:case_detail", args=[case.pk])))
    section = page.split('id="receipt"', 1)[1].split("</section>", 1)[0]
    assert reverse("cases:receipt", args=[case.pk]) in section
    assert reverse("cases:receipt_pdf", args=[case.pk]) in section
    assert "message--warning" in section  # she may decline to take it home


def test_only_the_holding_unit_prints_her_receipt(officer: Staff, case: CaseFile) -> None:
    shelter = make_agency(AgencyKind.SHELTER)
    chief = signed_staff(Role.UNIT_CHIEF, Agency.objects.get(pk=case.unit_id))
    services.consent_record(
        actor=chief.actor,
        case_id=case.pk,
        purpose=ConsentPurpose.SHARE_SHELTER,
        granted=True,
        scope=["incidents"],
    )
    services.case_share(
        actor=chief.actor, case_id=case.pk, agency_id=shelter.pk, scope=["incidents"]
    )
    grantee = signed_in(signed_staff(Role.SERVICE_PROVIDER, shelter))
    assert grantee.get(reverse("cases:case_detail", args=[case.pk])).status_code == 200
    for name in ("receipt", "receipt_pdf"):
        assert grantee.get(reverse(f"cases:{name}", args=[case.pk])).status_code == 404
    other_unit = signed_in(signed_staff(Role.UNIT_OFFICER, make_unit()))
    assert other_unit.get(reverse("cases:receipt_pdf", args=[case.pk])).status_code == 404


def test_the_direction_of_a_name_or_address_follows_its_own_script() -> None:
    assert receipts.text_direction("12 rue de la Liberté") == "ltr"
    assert receipts.text_direction("12 شارع الحرية") == "rtl"
    assert receipts.text_direction("") == "ltr"
