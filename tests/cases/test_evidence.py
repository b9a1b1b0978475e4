"""Evidence through the services: checked by content, stripped of metadata, sealed with her
key, hashed for the chain of custody, visible only to those who may, every download audited,
unreadable once she is erased. Real files made on the spot (``evidence_files``); the real
database and the real media folder of the test."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import translation
from PIL import ExifTags, Image

from himaya.accounts.roles import Role
from himaya.cases import evidence, services
from himaya.cases.models import CaseFile, ConsentPurpose, Evidence, EvidenceKind, TimelineEntry
from himaya.cases.policies import FieldGroup
from himaya.core import audit
from himaya.core.crypto import SealedIntegrityError, clear_data_key_cache, is_erased
from himaya.core.errors import InvalidInput, KeyUnavailable, NotFound, PermissionDenied
from himaya.core.models import AuditEvent
from himaya.core.shredding import data_key_shred
from himaya.network.models import AgencyKind
from tests.cases import evidence_files as files
from tests.cases.helpers import Staff, make_person, make_unit, open_case

pytestmark = pytest.mark.django_db


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


def upload(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def add(
    officer: Staff,
    case: CaseFile,
    data: bytes,
    *,
    kind: str = EvidenceKind.INJURY_PHOTO,
    name: str = "photo.jpg",
    description: str = "",
) -> Evidence:
    return evidence.evidence_add(
        actor=officer.actor,
        case_id=case.pk,
        kind=kind,
        upload=upload(data, name),
        description=description,
    )


def refused(officer: Staff, case: CaseFile, data: bytes, **kwargs: str) -> str:
    """The message a refused file gets (on the ``file`` field), after checking nothing was
    stored: no row, no blob."""
    with pytest.raises(InvalidInput) as caught:
        add(officer, case, data, **kwargs)
    assert not Evidence.objects.exists()
    assert blobs() == []
    return " ".join(str(message) for message in caught.value.fields["file"])


def media_root() -> Path:
    from django.conf import settings

    return Path(settings.MEDIA_ROOT)


def blobs() -> list[Path]:
    root = media_root() / "evidence"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def stored_image(officer: Staff, item: Evidence) -> tuple[bytes, Image.Image]:
    _, content = evidence.evidence_open(actor=officer.actor, evidence_id=item.pk)
    image = Image.open(io.BytesIO(content))
    image.load()
    return content, image


# --- what is kept, and how ----------------------------------------------------------------


def test_a_photo_loses_its_gps_camera_comment_and_xmp(officer: Staff, case: CaseFile) -> None:
    original = files.jpeg_with_gps()
    # The test file really carries what must go.
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert before.getexif()[ExifTags.Base.Model] == files.CANARY_CAMERA
    item = add(officer, case, original)
    content, image = stored_image(officer, item)
    exif = image.getexif()
    assert len(exif) == 0
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert not {"exif", "xmp", "comment", "XML:com.adobe.xmp"} & set(image.info)
    for canary in files.CANARIES:
        assert canary not in content
    assert item.content_type == "image/jpeg"


def test_a_photo_keeps_its_orientation_applied(officer: Staff, case: CaseFile) -> None:
    # 64 × 48, left half red, tagged "rotate 90° clockwise to display".
    item = add(officer, case, files.jpeg_with_gps(orientation=6))
    _, image = stored_image(officer, item)
    assert image.size == (48, 64)
    rgb = image.convert("RGB")
    red, blue = rgb.getpixel((24, 5)), rgb.getpixel((24, 58))
    assert isinstance(red, tuple)
    assert isinstance(blue, tuple)
    assert red[0] > 150 > red[2]
    assert blue[2] > 150 > blue[0]


@pytest.mark.parametrize(
    ("make", "content_type"),
    [(files.png_with_metadata, "image/png"), (files.webp_with_gps, "image/webp")],
)
def test_png_and_webp_lose_their_metadata_too(
    officer: Staff, case: CaseFile, make: object, content_type: str
) -> None:
    assert callable(make)
    original: bytes = make()
    item = add(officer, case, original, kind=EvidenceKind.SCREENSHOT, name="capture.png")
    content, image = stored_image(officer, item)
    assert item.content_type == content_type
    assert len(image.getexif()) == 0
    assert not {"exif", "xmp", "Comment", "Author"} & set(image.info)
    for canary in files.CANARIES:
        assert canary not in content
    assert image.size == (64, 48)


def test_the_digest_of_the_bytes_received_is_recorded_for_the_chain_of_custody(
    officer: Staff, case: CaseFile
) -> None:
    original = files.jpeg_with_gps()
    item = add(officer, case, original)
    item.refresh_from_db()
    assert item.sha256_received == hashlib.sha256(original).hexdigest()
    _, content = evidence.evidence_open(actor=officer.actor, evidence_id=item.pk)
    assert item.sha256_stored == hashlib.sha256(content).hexdigest()
    # Stripping metadata changed the bytes: both digests are kept, and they differ.
    assert item.sha256_stored != item.sha256_received
    assert item.size == len(content)
    event = AuditEvent.objects.get(action="evidence.add")
    assert event.target_id == str(case.pk)
    assert event.metadata["sha256_received"] == item.sha256_received
    assert event.metadata["evidence"] == str(item.pk)
    assert TimelineEntry.objects.filter(case=case, kind="evidence_added").count() == 1


def test_a_pdf_keeps_its_content_and_is_never_in_plaintext_on_disk(
    officer: Staff, case: CaseFile
) -> None:
    original = files.pdf_with_text()
    item = add(
        officer,
        case,
        original,
        kind=EvidenceKind.MEDICAL_CERTIFICATE,
        name="certificat-CANARY-Fatima.pdf",
        description="CANARY description of her injuries",
    )
    _, content = evidence.evidence_open(actor=officer.actor, evidence_id=item.pk)
    # Rewritten without metadata (tests/cases/test_evidence_metadata.py), content kept.
    assert files.CANARY_PDF in content
    assert item.sha256_received == hashlib.sha256(original).hexdigest()
    assert item.sha256_stored == hashlib.sha256(content).hexdigest()
    (blob,) = blobs()
    raw = blob.read_bytes()
    assert files.CANARY_PDF in original
    assert files.CANARY_PDF not in raw
    assert b"%PDF" not in raw
    assert b"CANARY" not in raw
    # The name and description are sealed in the database too.
    with connection.cursor() as cursor:
        cursor.execute("SELECT original_name, description FROM cases_evidence")
        for column in cursor.fetchone():
            assert b"CANARY" not in bytes(column)
    again = Evidence.objects.select_related("case__survivor__data_key").get(pk=item.pk)
    assert again.original_name == "certificat-CANARY-Fatima.pdf"
    assert again.description == "CANARY description of her injuries"


def test_the_blob_is_private_randomly_named_and_bound_to_its_evidence(
    officer: Staff, case: CaseFile
) -> None:
    first = add(officer, case, files.jpeg_with_gps(), name="Fatima Tazi bruises.jpg")
    second = add(officer, case, files.png_with_metadata(), name="second.png")
    paths = blobs()
    assert len(paths) == 2
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.name in {first.blob_name, second.blob_name}
        assert "Fatima" not in str(path)
        assert path.is_relative_to(media_root() / "evidence")
    assert stat.S_IMODE(paths[0].parent.stat().st_mode) == 0o700
    # Swapping two blobs on disk (same survivor, same key) is detected, not served.
    first_path = media_root() / "evidence" / first.blob_name[:2] / first.blob_name
    second_path = media_root() / "evidence" / second.blob_name[:2] / second.blob_name
    first_bytes, second_bytes = first_path.read_bytes(), second_path.read_bytes()
    first_path.write_bytes(second_bytes)
    second_path.write_bytes(first_bytes)
    with pytest.raises(SealedIntegrityError):
        evidence.evidence_open(actor=officer.actor, evidence_id=first.pk)


def test_a_path_in_the_file_name_is_never_used_for_storage(
    officer: Staff, case: CaseFile, tmp_path: Path
) -> None:
    item = add(officer, case, files.jpeg_with_gps(), name="../../etc/passwd")
    assert item.original_name == "passwd"
    (blob,) = blobs()
    assert blob.name == item.blob_name
    assert not (media_root().parent / "etc").exists()
    assert evidence.sanitize_name("..\\..\\windows\\system32\\evil.exe") == "evil.exe"
    assert evidence.sanitize_name("photo\u202egpj.exe") == "photogpj.exe"
    assert evidence.sanitize_name("...hidden") == "hidden"


@pytest.mark.parametrize(
    ("make", "kind", "content_type"),
    [
        (files.wav_recording, EvidenceKind.AUDIO, "audio/wav"),
        (files.mp3_recording, EvidenceKind.AUDIO, "audio/mpeg"),
        (files.ogg_opus_recording, EvidenceKind.AUDIO, "audio/ogg"),
        (files.m4a_recording, EvidenceKind.AUDIO, "audio/mp4"),
        (files.pdf_with_text, EvidenceKind.DOCUMENT, "application/pdf"),
    ],
)
def test_recordings_and_documents_are_accepted_as_they_are(
    officer: Staff, case: CaseFile, make: object, kind: str, content_type: str
) -> None:
    assert callable(make)
    original: bytes = make()
    item = add(officer, case, original, kind=kind, name="recording")
    assert item.content_type == content_type
    _, content = evidence.evidence_open(actor=officer.actor, evidence_id=item.pk)
    if content_type == "application/pdf":
        # Rewritten without its metadata (test_evidence_metadata.py); the page is kept.
        assert files.CANARY_PDF in content
    else:
        # Recordings without tags come out byte for byte (tags: test_evidence_audio.py).
        assert content == original


# --- hostile and wrong files --------------------------------------------------------------

NOT_ACCEPTED = "This type of file is not accepted"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (files.SVG_WITH_SCRIPT, "injury.svg"),
        (files.HTML_AS_JPEG, "injury.jpg"),
        (files.WINDOWS_EXECUTABLE, "photo.jpg.exe"),
        (files.ELF_EXECUTABLE, "photo.jpg"),
        (b"just some text that is not a photo", "photo.jpg"),
        (files.mp4_file(b"soun", b"vide"), "voice.m4a"),
        (b"\xff\xfb\x90\x64" + b"\x17" * 40, "voice.mp3"),
    ],
)
def test_files_of_other_types_are_refused_whatever_their_name(
    officer: Staff, case: CaseFile, data: bytes, name: str
) -> None:
    assert NOT_ACCEPTED in refused(officer, case, data, name=name, kind=EvidenceKind.DOCUMENT)


def test_a_zip_bomb_is_refused_without_being_opened(officer: Staff, case: CaseFile) -> None:
    message = refused(officer, case, files.zip_bomb(), name="photos.jpg")
    assert "archives" in message


def test_an_iphone_heic_photo_is_refused_with_a_way_out(officer: Staff, case: CaseFile) -> None:
    assert "JPEG" in refused(officer, case, files.heic_photo(), name="IMG_0001.HEIC")


@pytest.mark.parametrize("side", [10_000, 20_000])
def test_a_decompression_bomb_is_refused_before_it_is_decoded(
    officer: Staff, case: CaseFile, side: int
) -> None:
    # 100 and 400 megapixels (300 MB and more once decoded) in a few kilobytes on disk.
    bomb = files.png_bomb(side)
    assert len(bomb) < 100_000
    assert "too many pixels" in refused(officer, case, bomb, name="injury.png")


def test_our_own_pixel_cap_holds_below_pillows(
    officer: Staff, case: CaseFile, settings: object
) -> None:
    settings.HIMAYA_EVIDENCE_MAX_PIXELS = 1_000_000  # type: ignore[attr-defined]
    message = refused(officer, case, files.png_bomb(2_000), name="injury.png")
    assert "too many pixels" in message
    assert "1 megapixels" in message


def test_a_file_over_the_limit_is_refused_with_the_limit(
    officer: Staff, case: CaseFile, settings: object
) -> None:
    settings.HIMAYA_EVIDENCE_MAX_BYTES = 1024 * 1024  # type: ignore[attr-defined]
    message = refused(officer, case, files.noisy_jpeg(1024 * 1024 + 1))
    assert "too large" in message
    assert "1 MB" in message


def test_a_truncated_photo_is_refused_as_damaged(officer: Staff, case: CaseFile) -> None:
    photo = files.jpeg_with_gps()
    assert "damaged" in refused(officer, case, photo[: len(photo) // 2])


def test_a_pdf_without_its_trailer_is_refused_as_damaged(officer: Staff, case: CaseFile) -> None:
    pdf = files.pdf_with_text()
    message = refused(officer, case, pdf[:-40], kind=EvidenceKind.DOCUMENT, name="c.pdf")
    assert "damaged" in message


def test_an_empty_file_is_refused(officer: Staff, case: CaseFile) -> None:
    assert "empty" in refused(officer, case, b"")


def test_the_kind_must_match_the_content(officer: Staff, case: CaseFile) -> None:
    assert "sound file" in refused(officer, case, files.jpeg_with_gps(), kind=EvidenceKind.AUDIO)
    assert "image" in refused(officer, case, files.wav_recording(), kind=EvidenceKind.INJURY_PHOTO)


def test_missing_file_and_unknown_kind_are_reported_per_field(
    officer: Staff, case: CaseFile
) -> None:
    with pytest.raises(InvalidInput) as caught:
        evidence.evidence_add(
            actor=officer.actor, case_id=case.pk, kind="selfie", upload=None, description=""
        )
    assert set(caught.value.fields) == {"kind", "file"}


# --- who may ------------------------------------------------------------------------------


def _shared(officer: Staff, case: CaseFile, scope: list[str]) -> Staff:
    services.consent_record(
        actor=officer.actor,
        case_id=case.pk,
        purpose=ConsentPurpose.SHARE_SHELTER,
        granted=True,
        scope=scope,
    )
    shelter = make_unit(AgencyKind.SHELTER)
    services.case_share(actor=officer.actor, case_id=case.pk, agency_id=shelter.pk, scope=scope)
    return make_person(Role.SERVICE_PROVIDER, shelter)


def test_another_unit_gets_not_found_for_the_evidence(officer: Staff, case: CaseFile) -> None:
    item = add(officer, case, files.jpeg_with_gps())
    stranger = make_person(Role.UNIT_CHIEF, make_unit())
    with pytest.raises(NotFound):
        evidence.evidence_open(actor=stranger.actor, evidence_id=item.pk)
    with pytest.raises(NotFound):
        evidence.evidence_list(actor=stranger.actor, case_id=case.pk)
    with pytest.raises(NotFound):
        add(stranger, case, files.jpeg_with_gps())
    assert not AuditEvent.objects.filter(action="evidence.download").exists()
    assert AuditEvent.objects.filter(action="evidence.read_denied").count() == 2


def test_a_grant_without_the_evidence_group_hides_the_evidence(
    officer: Staff, case: CaseFile
) -> None:
    item = add(officer, case, files.jpeg_with_gps())
    shelter_worker = _shared(officer, case, [FieldGroup.IDENTITY, FieldGroup.INCIDENTS])
    with pytest.raises(NotFound):
        evidence.evidence_open(actor=shelter_worker.actor, evidence_id=item.pk)
    with pytest.raises(NotFound):
        evidence.evidence_list(actor=shelter_worker.actor, case_id=case.pk)


def test_a_grant_with_the_evidence_group_may_download_but_not_add(
    officer: Staff, case: CaseFile
) -> None:
    item = add(officer, case, files.jpeg_with_gps())
    shelter_worker = _shared(officer, case, [FieldGroup.EVIDENCE])
    opened, content = evidence.evidence_open(actor=shelter_worker.actor, evidence_id=item.pk)
    assert opened.pk == item.pk
    assert content == evidence.evidence_open(actor=officer.actor, evidence_id=item.pk)[1]
    assert [e.pk for e in evidence.evidence_list(actor=shelter_worker.actor, case_id=case.pk)] == [
        item.pk
    ]
    with pytest.raises(PermissionDenied):
        add(shelter_worker, case, files.jpeg_with_gps())


def test_evidence_cannot_be_added_to_a_closed_case(officer: Staff, case: CaseFile) -> None:
    CaseFile.objects.filter(pk=case.pk).update(state="closed")
    with pytest.raises(PermissionDenied):
        add(officer, case, files.jpeg_with_gps())
    assert blobs() == []


def test_evidence_of_another_case_is_not_found_under_this_case(
    officer: Staff, case: CaseFile
) -> None:
    other_case = open_case(officer.actor)
    item = add(officer, other_case, files.jpeg_with_gps())
    with pytest.raises(NotFound):
        evidence.evidence_open(actor=officer.actor, evidence_id=item.pk, case_id=case.pk)
    with pytest.raises(NotFound):
        evidence.evidence_open(actor=officer.actor, evidence_id="not-a-uuid")


def test_each_download_writes_an_audit_event(officer: Staff, case: CaseFile) -> None:
    item = add(officer, case, files.jpeg_with_gps())
    for expected in (1, 2, 3):
        evidence.evidence_open(actor=officer.actor, evidence_id=item.pk)
        events = AuditEvent.objects.filter(action="evidence.download")
        assert events.count() == expected
    event = events.order_by("-sequence").first()
    assert event is not None
    assert event.actor_user_id == officer.user.pk
    assert event.target_id == str(case.pk)
    assert event.metadata["evidence"] == str(item.pk)
    assert audit.verify_chain().ok


def test_the_list_is_audited_and_costs_a_fixed_number_of_queries(
    officer: Staff, case: CaseFile, django_assert_max_num_queries: object
) -> None:
    for _ in range(3):
        add(officer, case, files.png_with_metadata(), description="A description")
    clear_data_key_cache()
    assert callable(django_assert_max_num_queries)
    with django_assert_max_num_queries(8):
        items = evidence.evidence_list(actor=officer.actor, case_id=case.pk)
        descriptions = [str(item.description) for item in items]
        names = [item.uploaded_by.username for item in items if item.uploaded_by]
    assert descriptions == ["A description"] * 3
    assert len(names) == 3
    assert AuditEvent.objects.filter(action="evidence.list").count() == 1


# --- erasure ------------------------------------------------------------------------------


def test_shredding_her_key_makes_the_evidence_unreadable(officer: Staff, case: CaseFile) -> None:
    item = add(officer, case, files.jpeg_with_gps(), description="bruises on her arm")
    data_key_shred(
        actor=officer.actor, data_key=case.survivor.data_key, reason="She asked to be erased."
    )
    clear_data_key_cache()
    with pytest.raises(KeyUnavailable) as caught:
        evidence.evidence_open(actor=officer.actor, evidence_id=item.pk)
    assert caught.value.http_status == 410
    assert str(caught.value.message) == "This information has been erased."
    (listed,) = evidence.evidence_list(actor=officer.actor, case_id=case.pk)
    assert is_erased(listed.description)
    # The digests remain: what was received and stored can still be attested.
    assert listed.sha256_received == item.sha256_received
    with pytest.raises(KeyUnavailable):
        add(officer, case, files.jpeg_with_gps())


# --- consistency between the row and the file ---------------------------------------------


def test_a_failed_transaction_leaves_neither_row_nor_file(
    officer: Staff, case: CaseFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    def audit_fails(**kwargs: object) -> None:
        # A fault inside the transaction, after the blob was written (disk full, say).
        raise OSError("disk full")

    monkeypatch.setattr(audit, "record", audit_fails)
    with pytest.raises(OSError, match="disk full"):
        add(officer, case, files.jpeg_with_gps())
    assert not Evidence.objects.exists()
    assert blobs() == []


def _add_then_fail(block: transaction.Atomic, officer: Staff, case: CaseFile) -> None:
    with block:
        add(officer, case, files.png_with_metadata())
        raise RuntimeError("the enclosing work failed")


def test_blobs_left_by_an_enclosing_rollback_are_swept(officer: Staff, case: CaseFile) -> None:
    kept = add(officer, case, files.jpeg_with_gps())
    rolled_back = transaction.atomic()
    with pytest.raises(RuntimeError, match="enclosing"):
        _add_then_fail(rolled_back, officer, case)
    assert len(blobs()) == 2
    stale = media_root() / "evidence" / "ab" / ".tmp-deadbeef"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half-written")
    for path in blobs():
        os.utime(path, (0, 0))
    assert evidence.evidence_sweep_orphans() == 2
    assert [p.name for p in blobs()] == [kept.blob_name]
    evidence.evidence_open(actor=officer.actor, evidence_id=kept.pk)


def test_a_row_whose_file_is_lost_says_so_instead_of_crashing(
    officer: Staff, case: CaseFile
) -> None:
    item = add(officer, case, files.jpeg_with_gps())
    for path in blobs():
        path.unlink()
    with pytest.raises(evidence.EvidenceFileMissing):
        evidence.evidence_open(actor=officer.actor, evidence_id=item.pk)
