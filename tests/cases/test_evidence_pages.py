"""Evidence through the staff pages: the upload form (multipart, CSRF, clear messages for
refused files, never a 500), the list, and downloads that are attachments with a neutral
name, not cached and not sniffed. Staff sign in through the real pages (password + TOTP)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import (
    InMemoryUploadedFile,
    SimpleUploadedFile,
    TemporaryUploadedFile,
)
from django.core.handlers.asgi import ASGIHandler
from django.test import Client, RequestFactory
from django.test.client import encode_multipart
from django.urls import reverse
from django.utils import translation

from himaya.accounts.roles import Role
from himaya.cases import evidence, services
from himaya.cases.models import CaseFile, ConsentPurpose, Evidence, EvidenceKind
from himaya.cases.policies import FieldGroup
from himaya.core.crypto import clear_data_key_cache
from himaya.core.models import AuditEvent
from himaya.core.shredding import data_key_shred
from himaya.network.models import AgencyKind
from tests.cases import evidence_files as files
from tests.cases.helpers import Staff, make_unit, open_case
from tests.cases.pages_helpers import body, case_url, signed_in, signed_staff, title

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer() -> Staff:
    return signed_staff(Role.UNIT_OFFICER, make_unit())


@pytest.fixture
def case(officer: Staff) -> CaseFile:
    return open_case(officer.actor)


@pytest.fixture
def client(officer: Staff) -> Client:
    return english(signed_in(officer))


def english(client: Client) -> Client:
    client.cookies["himaya_lang"] = "en"
    return client


def page(response: Any) -> str:
    return body(response)


def add_url(case: CaseFile) -> str:
    return reverse("cases:evidence_add", args=[case.pk])


def post_file(
    client: Client,
    case: CaseFile,
    data: bytes,
    *,
    name: str = "photo.jpg",
    kind: str = EvidenceKind.INJURY_PHOTO,
    description: str = "",
) -> Any:
    return client.post(
        add_url(case),
        {"kind": kind, "description": description, "file": SimpleUploadedFile(name, data)},
    )


def added(officer: Staff, case: CaseFile, data: bytes | None = None) -> Evidence:
    return evidence.evidence_add(
        actor=officer.actor,
        case_id=case.pk,
        kind=EvidenceKind.INJURY_PHOTO,
        upload=SimpleUploadedFile("photo.jpg", data or files.jpeg_with_gps()),
        description="",
    )


def test_the_upload_form_is_a_multipart_form_with_a_neutral_title(
    client: Client, case: CaseFile
) -> None:
    response = client.get(add_url(case))
    assert response.status_code == 200
    html = page(response)
    assert 'enctype="multipart/form-data"' in html
    assert "at most 20 MB" in html
    assert title(response).startswith("Add evidence")
    assert "Amina" not in title(response)


def test_an_uploaded_photo_is_stored_and_the_officer_goes_back_to_the_case(
    client: Client, case: CaseFile
) -> None:
    original = files.jpeg_with_gps()
    response = post_file(client, case, original, description="Bruises, left arm")
    assert response.status_code == 302
    assert response["Location"] == f"{case_url(case.pk)}#evidence"
    item = Evidence.objects.get()
    assert item.sha256_received == hashlib.sha256(original).hexdigest()


def test_the_case_timeline_names_the_upload_in_words(client: Client, case: CaseFile) -> None:
    """Every step on the case's timeline is named in the reader's language, never by its
    stored kind ("evidence_added")."""
    assert post_file(client, case, files.jpeg_with_gps()).status_code == 302
    html = page(client.get(case_url(case.pk)))
    assert "Evidence added" in html
    assert "evidence_added" not in html


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (files.SVG_WITH_SCRIPT, "injury.svg", "This type of file is not accepted"),
        (files.HTML_AS_JPEG, "injury.jpg", "This type of file is not accepted"),
        (files.zip_bomb(8 * 1024 * 1024), "photos.zip", "archives"),
        (files.png_bomb(20_000), "injury.png", "too many pixels"),
        (files.jpeg_with_gps()[:300], "injury.jpg", "damaged"),
    ],
)
def test_a_hostile_upload_gets_the_form_again_with_a_clear_message(
    client: Client, case: CaseFile, data: bytes, name: str, message: str
) -> None:
    response = post_file(client, case, data, name=name)
    assert response.status_code == 422
    assert message in page(response)
    assert not Evidence.objects.exists()


def test_a_file_over_the_limit_is_refused_with_a_message_not_a_500(
    client: Client, case: CaseFile, settings: object, tmp_path: Path
) -> None:
    settings.HIMAYA_EVIDENCE_MAX_BYTES = 1024 * 1024  # type: ignore[attr-defined]
    response = post_file(client, case, files.noisy_jpeg(3 * 1024 * 1024))
    assert response.status_code == 422
    assert "This file is too large. The limit is 1 MB." in page(response)
    assert not Evidence.objects.exists()


def test_a_large_upload_never_spills_to_a_temporary_file(
    client: Client, case: CaseFile, settings: object, tmp_path: Path
) -> None:
    # Django's own handlers write any file over FILE_UPLOAD_MAX_MEMORY_SIZE to
    # FILE_UPLOAD_TEMP_DIR: make that 1 MB and a directory that does not exist, so a spill
    # would fail the request.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # type: ignore[attr-defined]
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "no-such-directory")  # type: ignore[attr-defined]
    pdf = files.pdf_with_text(padding=3 * 1024 * 1024)
    assert len(pdf) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE  # type: ignore[attr-defined]
    response = post_file(client, case, pdf, name="c.pdf", kind=EvidenceKind.DOCUMENT)
    assert response.status_code == 302
    # Stored whole (rewritten without its metadata, so a few bytes differ).
    assert Evidence.objects.get().size > 3 * 1024 * 1024


def test_the_upload_handler_keeps_one_file_in_memory_and_bounds_it(settings: object) -> None:
    settings.HIMAYA_EVIDENCE_MAX_BYTES = 4 * 1024 * 1024  # type: ignore[attr-defined]
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # type: ignore[attr-defined]
    big = b"%" * (3 * 1024 * 1024)

    def parsed(data: dict[str, object], *, ours: bool) -> Any:
        fields = {
            key: SimpleUploadedFile(f"{key}.bin", value) if isinstance(value, bytes) else value
            for key, value in data.items()
        }
        request = RequestFactory().post(
            "/",
            encode_multipart("BoUnDaRy", fields),
            content_type="multipart/form-data; boundary=BoUnDaRy",
        )
        if ours:
            evidence.use_evidence_upload_handler(request)
        return request.FILES

    # Control: without it, Django writes a file this size to a temporary file.
    assert isinstance(parsed({"file": big}, ours=False)["file"], TemporaryUploadedFile)
    kept = parsed({"file": big, "other": b"x" * 10, "kind": "audio"}, ours=True)
    assert isinstance(kept["file"], InMemoryUploadedFile)
    assert kept["file"].size == len(big)
    assert "other" not in kept
    settings.HIMAYA_EVIDENCE_MAX_BYTES = 1024 * 1024  # type: ignore[attr-defined]
    over = parsed({"file": big}, ours=True)["file"]
    assert isinstance(over, evidence.OversizedUpload)
    assert over.read() == b""


def test_the_upload_still_checks_the_csrf_token(officer: Staff, case: CaseFile) -> None:
    signed = signed_in(officer)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = signed.cookies
    # Control: the same client reaches the form, so a 403 below is the CSRF check.
    assert strict.get(add_url(case)).status_code == 200
    response = strict.post(
        add_url(case),
        {"kind": "injury_photo", "file": SimpleUploadedFile("a.jpg", files.jpeg_with_gps())},
    )
    assert response.status_code == 403
    assert not Evidence.objects.exists()


def test_another_unit_cannot_open_the_upload_form_or_post_to_it(case: CaseFile) -> None:
    stranger = signed_in(signed_staff(Role.UNIT_OFFICER, make_unit()))
    assert stranger.get(add_url(case)).status_code == 404
    assert post_file(stranger, case, files.jpeg_with_gps()).status_code == 404
    assert not Evidence.objects.exists()


def test_a_download_is_an_attachment_with_a_neutral_name_not_cached_not_sniffed(
    client: Client, officer: Staff, case: CaseFile
) -> None:
    item = added(officer, case)
    response = client.get(reverse("cases:evidence_download", args=[item.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == (
        f'attachment; filename="evidence-{item.pk.hex[:12]}.jpg"'
    )
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert hashlib.sha256(response.content).hexdigest() == item.sha256_stored
    assert AuditEvent.objects.filter(action="evidence.download").count() == 1


def test_another_unit_and_a_grant_without_evidence_get_404_on_download(
    officer: Staff, case: CaseFile
) -> None:
    item = added(officer, case)
    download = reverse("cases:evidence_download", args=[item.pk])
    listing = reverse("cases:evidence_list", args=[case.pk])
    stranger = signed_in(signed_staff(Role.UNIT_CHIEF, make_unit()))
    services.consent_record(
        actor=officer.actor,
        case_id=case.pk,
        purpose=ConsentPurpose.SHARE_SHELTER,
        granted=True,
        scope=[FieldGroup.IDENTITY],
    )
    shelter = make_unit(AgencyKind.SHELTER)
    services.case_share(
        actor=officer.actor, case_id=case.pk, agency_id=shelter.pk, scope=[FieldGroup.IDENTITY]
    )
    grantee = signed_in(signed_staff(Role.SERVICE_PROVIDER, shelter))
    for reader in (stranger, grantee):
        assert reader.get(download).status_code == 404
        assert reader.get(listing).status_code == 404
    assert not AuditEvent.objects.filter(action="evidence.download").exists()


def test_the_list_shows_both_digests_and_escapes_the_file_name(
    client: Client, officer: Staff, case: CaseFile
) -> None:
    response = post_file(
        client, case, files.jpeg_with_gps(), name="<img src=x onerror=alert(1)>.jpg"
    )
    assert response.status_code == 302
    item = Evidence.objects.get()
    html = page(client.get(reverse("cases:evidence_list", args=[case.pk])))
    assert item.sha256_stored in html
    assert item.sha256_received in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in html
    assert reverse("cases:evidence_download", args=[item.pk]) in html
    assert reverse("cases:evidence_add", args=[case.pk]) in html


def test_the_download_of_an_erased_survivors_evidence_says_erased(
    client: Client, officer: Staff, case: CaseFile
) -> None:
    item = added(officer, case)
    data_key_shred(
        actor=officer.actor, data_key=case.survivor.data_key, reason="She asked to be erased."
    )
    clear_data_key_cache()
    download = reverse("cases:evidence_download", args=[item.pk])
    response = client.get(download)
    assert response.status_code == 410
    assert "This information has been erased." in page(response)
    assert response["Content-Type"].startswith("text/html")
    client.cookies["himaya_lang"] = "ar"
    with translation.override("ar"):
        arabic = translation.gettext("This information has been erased.")
    assert arabic != "This information has been erased."
    assert arabic in page(client.get(download))


def test_under_asgi_the_largest_body_the_proxy_admits_stays_in_memory(settings: object) -> None:
    """Django's ASGI handler spools each request body to a temporary file past
    FILE_UPLOAD_MAX_MEMORY_SIZE, before any view runs: an evidence upload, even one over the
    limit that will be refused, must not reach the disk in plaintext that way."""
    limit: int = settings.HIMAYA_EVIDENCE_MAX_BYTES  # type: ignore[attr-defined]
    proxy_limit = 25_000_000  # deploy/Caddyfile: request_body max_size 25MB
    chunks = [b"x" * (1024 * 1024)] * (proxy_limit // (1024 * 1024))
    assert sum(map(len, chunks)) > limit

    async def receive() -> dict[str, object]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(), "more_body": bool(chunks)}
        return {"type": "http.request", "body": b"", "more_body": False}

    body_file = asyncio.run(ASGIHandler().read_body(receive))
    try:
        assert getattr(body_file, "_rolled", None) is False
    finally:
        body_file.close()
