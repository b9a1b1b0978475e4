"""Evidence files lose what identifies who made them, keep what they show, and both digests
(as received, as stored) are recorded: PDFs lose their document information dictionary and
every XMP stream (recordings: test_evidence_audio.py)."""

from __future__ import annotations

import hashlib
import io

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from himaya.accounts.roles import Role
from himaya.cases import evidence
from himaya.cases.models import CaseFile, EvidenceKind
from himaya.core.errors import InvalidInput
from tests.cases import evidence_files as files
from tests.cases.helpers import Staff, make_person, make_unit, open_case

pytestmark = pytest.mark.django_db

CANARY_AUTHOR = "CANARY-AUTHOR-Fatima-Tazi"
CANARY_TITLE = "CANARY-TITLE-certificat-Fatima"
CANARY_XMP_CREATOR = "CANARY-XMP-CREATOR-Fatima"
CANARY_IMAGE_XMP = b"CANARY-IMAGE-XMP-Fatima"
CANARY_OLD_AUTHOR = "CANARY-OLD-REVISION-Fatima"


@pytest.fixture(autouse=True)
def _english() -> object:
    with translation.override("en"):
        yield


@pytest.fixture
def officer() -> Staff:
    return make_person(Role.UNIT_OFFICER, make_unit())


@pytest.fixture
def case(officer: Staff) -> CaseFile:
    return open_case(officer.actor)


def pdf_with_metadata(*, incremental: bool = False) -> bytes:
    """The canary PDF with an Info dictionary, catalogue XMP and an XMP stream on a page
    object; ``incremental`` appends a second revision, so the first revision's Info (with
    its own canary) is still in the bytes but no longer referenced."""
    with pikepdf.open(io.BytesIO(files.pdf_with_text())) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            meta["dc:creator"] = [CANARY_XMP_CREATOR]
        pdf.docinfo["/Author"] = CANARY_OLD_AUTHOR if incremental else CANARY_AUTHOR
        pdf.docinfo["/Title"] = CANARY_TITLE
        page_xmp = pikepdf.Stream(pdf, b"<x:xmpmeta>" + CANARY_IMAGE_XMP + b"</x:xmpmeta>")
        page_xmp["/Type"] = pikepdf.Name("/Metadata")
        page_xmp["/Subtype"] = pikepdf.Name("/XML")
        pdf.pages[0].obj["/Metadata"] = pdf.make_indirect(page_xmp)
        out = io.BytesIO()
        pdf.save(out, compress_streams=False)
    data = out.getvalue()
    if not incremental:
        return data
    # A second revision appended by hand, as a PDF editor saving "incrementally" does.
    with pikepdf.open(io.BytesIO(data)) as pdf:
        info_ref = pdf.trailer["/Info"].objgen[0]
        size = int(pdf.trailer["/Size"])
        root = pdf.Root.objgen[0]
    body = f"{info_ref} 0 obj\n<< /Author ({CANARY_AUTHOR}) >>\nendobj\n".encode()
    previous = int(data.rsplit(b"startxref", 1)[1].split()[0])
    offset = len(data)
    xref = offset + len(body)
    tail = (
        f"xref\n{info_ref} 1\n{offset:010d} 00000 n \n"
        f"trailer\n<< /Size {size} /Root {root} 0 R /Info {info_ref} 0 R /Prev {previous} >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return data + body + tail


def test_a_pdf_loses_its_info_dictionary_and_every_xmp_stream(
    officer: Staff, case: CaseFile
) -> None:
    original = pdf_with_metadata()
    for canary in (CANARY_AUTHOR, CANARY_TITLE, CANARY_XMP_CREATOR):
        assert canary.encode() in original
    assert CANARY_IMAGE_XMP in original

    item = evidence.evidence_add(
        actor=officer.actor,
        case_id=case.pk,
        kind=EvidenceKind.MEDICAL_CERTIFICATE,
        upload=_upload(original),
        description="",
    )
    _, stored = evidence.evidence_open(actor=officer.actor, evidence_id=item.pk)

    assert b"CANARY-AUTHOR" not in stored
    assert b"CANARY-TITLE" not in stored
    assert b"CANARY-XMP" not in stored
    assert CANARY_IMAGE_XMP not in stored
    # What the page shows is evidence: kept.
    assert files.CANARY_PDF in stored
    with pikepdf.open(io.BytesIO(stored)) as pdf:
        assert "/Info" not in pdf.trailer
        assert "/Metadata" not in pdf.Root
        assert "/Metadata" not in pdf.pages[0].obj
        assert len(pdf.pages) == 1
    # Chain of custody: the digest of what was received, and of what a download returns.
    assert item.sha256_received == hashlib.sha256(original).hexdigest()
    assert item.sha256_stored == hashlib.sha256(stored).hexdigest()
    assert item.sha256_received != item.sha256_stored


def test_an_older_revision_of_an_incrementally_saved_pdf_is_dropped_too() -> None:
    original = pdf_with_metadata(incremental=True)
    assert CANARY_OLD_AUTHOR.encode() in original
    with pikepdf.open(io.BytesIO(original)) as pdf:
        assert str(pdf.docinfo["/Author"]) == CANARY_AUTHOR

    prepared = evidence.prepare_file(original, kind=EvidenceKind.DOCUMENT)

    assert b"CANARY-OLD-REVISION" not in prepared.content
    assert b"CANARY-AUTHOR" not in prepared.content
    assert prepared.sha256_received == hashlib.sha256(original).hexdigest()
    assert prepared.sha256_stored == hashlib.sha256(prepared.content).hexdigest()


def test_the_same_pdf_is_stripped_to_the_same_bytes() -> None:
    original = pdf_with_metadata()
    first = evidence.prepare_file(original, kind=EvidenceKind.DOCUMENT)
    second = evidence.prepare_file(original, kind=EvidenceKind.DOCUMENT)
    assert first.sha256_stored == second.sha256_stored


def test_a_pdf_the_parser_cannot_read_is_refused_as_damaged() -> None:
    broken = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\n" + b"\x00" * 64
    broken += b"\nstartxref\n999999\n%%EOF\n"
    with pytest.raises(InvalidInput) as caught:
        evidence.prepare_file(broken, kind=EvidenceKind.DOCUMENT)
    assert "damaged" in " ".join(str(m) for m in caught.value.fields["file"])


def test_a_pdf_locked_by_a_password_is_refused_with_what_to_do() -> None:
    with pikepdf.open(io.BytesIO(files.pdf_with_text())) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(user="her-secret", owner="owner"))
    with pytest.raises(InvalidInput) as caught:
        evidence.prepare_file(out.getvalue(), kind=EvidenceKind.MEDICAL_CERTIFICATE)
    assert "protected by a password" in " ".join(str(m) for m in caught.value.fields["file"])


def _upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("certificat.pdf", data, content_type="application/pdf")
