"""Recordings lose their tags (title, artist, owner, device, software, dates, the recording
location) before they are sealed, and keep their sound byte for byte: MP3, M4A, Ogg Opus and
WAV, each made on the spot with the tags phones and editors write, uploaded through the
service and read back decrypted. A recording whose container cannot be read is refused as
damaged, and nothing of it is stored."""

from __future__ import annotations

import hashlib
import importlib
import io
import struct
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mutagen
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from himaya.accounts.roles import Role
from himaya.cases import evidence
from himaya.cases.models import CaseFile, Evidence, EvidenceKind
from himaya.core.errors import InvalidInput
from himaya.core.models import AuditEvent
from tests.cases import evidence_files as files
from tests.cases.helpers import Staff, make_person, make_unit, open_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def officer() -> Staff:
    return make_person(Role.UNIT_OFFICER, make_unit())


@pytest.fixture
def case(officer: Staff) -> CaseFile:
    return open_case(officer.actor)


def add(officer: Staff, case: CaseFile, data: bytes, name: str = "recording") -> Evidence:
    return evidence.evidence_add(
        actor=officer.actor,
        case_id=case.pk,
        kind=EvidenceKind.AUDIO,
        upload=SimpleUploadedFile(name, data, content_type="audio/mpeg"),
        description="",
    )


def stored(officer: Staff, item: Evidence) -> bytes:
    _, content = evidence.evidence_open(actor=officer.actor, evidence_id=item.pk)
    return content


def tags_of(data: bytes) -> dict[str, object]:
    """Every tag mutagen finds in ``data`` (ID3, APEv2, iTunes, Vorbis comments), by key."""
    found = mutagen.File(io.BytesIO(data))
    assert found is not None
    return dict(found.tags or {})


def riff_chunks(data: bytes) -> list[bytes]:
    names, pos = [], 12
    while pos + 8 <= len(data):
        names.append(data[pos : pos + 4])
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + size % 2
    return names


def mp4_boxes(
    data: bytes, start: int = 0, end: int | None = None
) -> Iterator[tuple[bytes, int, int]]:
    end = len(data) if end is None else end
    while start + 8 <= end:
        size = int.from_bytes(data[start : start + 4], "big")
        assert 8 <= size <= end - start
        yield data[start + 4 : start + 8], start + 8, start + size
        start += size


def mp4_box(data: bytes, *path: bytes) -> tuple[int, int]:
    start, end = 0, len(data)
    for kind in path:
        start, end = next((b, e) for k, b, e in mp4_boxes(data, start, end) if k == kind)
        if kind == b"meta" and data[start : start + 4] == b"\x00" * 4:
            start += 4  # the iTunes ``meta`` is a full box: version and flags first
    return start, end


def ogg_packets(data: bytes) -> list[bytes]:
    page_type: Any = importlib.import_module("mutagen.ogg").OggPage
    pages = []
    source = io.BytesIO(data)
    while source.tell() < len(data):
        pages.append(page_type(source))
    return list(page_type.to_packets(pages))


# --- each format: tags gone, sound kept -----------------------------------------------------


def check_wav(original: bytes, content: bytes) -> None:
    assert riff_chunks(original) == [b"fmt ", b"LIST", b"bext", b"data", b"id3 "]
    assert riff_chunks(content) == [b"fmt ", b"data"]
    with wave.open(io.BytesIO(content)) as recording:
        assert (recording.getframerate(), recording.getnchannels()) == (8000, 1)
        assert recording.readframes(recording.getnframes()) == files.wav_frames()


def check_mp3(original: bytes, content: bytes) -> None:
    assert original.startswith(b"ID3")
    assert b"APETAGEX" in original
    assert original[-128:].startswith(b"TAG")
    # The frames, every one of them in its place, and nothing else.
    assert content == files.mp3_recording()


def check_ogg(original: bytes, content: bytes) -> None:
    head, opus_tags, *audio = ogg_packets(content)
    assert head.startswith(b"OpusHead")
    # The comment packet is still there (the format needs it), with no comment in it.
    vendor = int.from_bytes(opus_tags[8:12], "little")
    assert opus_tags[12 + vendor : 16 + vendor] == b"\x00\x00\x00\x00"
    assert audio == files.OPUS_PACKETS
    assert ogg_packets(original)[2:] == files.OPUS_PACKETS


def check_m4a(original: bytes, content: bytes) -> None:
    # The location, QuickTime keys and iTunes tags of the original are where phones put them.
    assert mp4_box(original, b"moov", b"udta", b"\xa9xyz")
    assert mp4_box(original, b"moov", b"meta", b"keys")
    assert mp4_box(original, b"moov", b"udta", b"meta", b"ilst")
    assert struct.pack(">I", files.M4A_DATE) in original
    for kind in (b"udta", b"meta", b"keys", b"ilst", b"\xa9xyz", b"\xa9nam"):
        assert kind not in content
    # Nothing moved: same length, and the sample table still points at the same sound.
    assert len(content) == len(original)
    stco = mp4_box(content, b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stco")
    offset = int.from_bytes(content[stco[0] + 8 : stco[0] + 12], "big")
    samples = b"".join(files.M4A_SAMPLES)
    assert content[offset : offset + len(samples)] == samples
    # The dates of the movie, track and media headers are gone.
    assert struct.pack(">I", files.M4A_DATE) not in content
    reread = mutagen.File(io.BytesIO(content))
    assert reread is not None
    assert round(reread.info.length, 2) == round(1024 * 6 / 8000, 2)


FORMATS: list[tuple[str, Callable[[], bytes], str, Callable[[bytes, bytes], None]]] = [
    ("wav", files.tagged_wav, "audio/wav", check_wav),
    ("mp3", files.tagged_mp3, "audio/mpeg", check_mp3),
    ("ogg", files.tagged_ogg_opus, "audio/ogg", check_ogg),
    ("m4a", lambda: files.m4a_recording(tagged=True), "audio/mp4", check_m4a),
]


@pytest.mark.parametrize(
    ("make", "content_type", "check"),
    [pytest.param(make, ct, check, id=name) for name, make, ct, check in FORMATS],
)
def test_a_recording_loses_its_tags_and_keeps_its_sound(
    officer: Staff,
    case: CaseFile,
    make: Callable[[], bytes],
    content_type: str,
    check: Callable[[bytes, bytes], None],
) -> None:
    original = make()
    # The test file really carries what must go: tags mutagen reads, and every canary.
    assert tags_of(original)
    for canary in files.AUDIO_CANARIES:
        assert canary in original

    item = add(officer, case, original)
    content = stored(officer, item)

    assert item.content_type == content_type
    for canary in files.AUDIO_CANARIES:
        assert canary not in content
    assert tags_of(content) == {}
    check(original, content)
    assert evidence.sniff(content).value == content_type
    # Chain of custody, as for images and PDFs: what was received, and what is served.
    assert item.sha256_received == hashlib.sha256(original).hexdigest()
    assert item.sha256_stored == hashlib.sha256(content).hexdigest()
    assert item.sha256_received != item.sha256_stored
    event = AuditEvent.objects.get(action="evidence.add")
    assert event.metadata["sha256_received"] == item.sha256_received
    assert event.metadata["size_received"] == len(original)
    assert event.metadata["size_stored"] == len(content)


@pytest.mark.parametrize("make", [make for _, make, _, _ in FORMATS])
def test_the_same_recording_is_stripped_to_the_same_bytes(make: Callable[[], bytes]) -> None:
    first = evidence.prepare_file(make(), kind=EvidenceKind.AUDIO)
    second = evidence.prepare_file(make(), kind=EvidenceKind.AUDIO)
    assert first.sha256_stored == second.sha256_stored


def test_every_tag_block_an_mp3_can_end_with_is_cut_off() -> None:
    frames = files.mp3_recording()
    lyrics = b"LYRICSBEGININD00002" + b"10EAL00024CANARY-AUDIO-Fatima-Tazi"
    lyrics3 = lyrics + f"{len(lyrics):06d}".encode() + b"LYRICS200"
    tag_body = b"TIT2\x00\x00\x00\x19\x00\x00\x03CANARY-AUDIO-Fatima-Tazi"
    size = len(tag_body).to_bytes(4, "big")  # below 128: the same in syncsafe form
    appended = b"ID3\x04\x00\x10" + size + tag_body + b"3DI\x04\x00\x10" + size
    two_in_front = b"ID3\x04\x00\x00" + size + tag_body + b"ID3\x03\x00\x00" + size + tag_body
    data = two_in_front + frames + appended + lyrics3 + b"TAG" + b"CANARY-AUDIO".ljust(125)

    prepared = evidence.prepare_file(data, kind=EvidenceKind.AUDIO)

    assert prepared.content == frames


def test_a_wav_cut_short_keeps_the_samples_that_arrived() -> None:
    whole = files.wav_recording()
    cut = whole[: len(whole) - 1000]
    prepared = evidence.prepare_file(cut, kind=EvidenceKind.AUDIO)
    with wave.open(io.BytesIO(prepared.content)) as recording:
        assert recording.getnframes() == (len(cut) - 44) // 2
        assert recording.readframes(recording.getnframes()) == cut[44:]


def test_bytes_after_the_last_box_of_an_m4a_are_blanked() -> None:
    original = files.m4a_recording() + b"SEFT" + files.CANARY_AUDIO.encode()
    prepared = evidence.prepare_file(original, kind=EvidenceKind.AUDIO)
    assert files.CANARY_AUDIO.encode() not in prepared.content
    assert prepared.content[: -len(files.CANARY_AUDIO) - 4] == files.m4a_recording()


# --- damaged recordings ---------------------------------------------------------------------


def _ape_footer_larger_than_the_file() -> bytes:
    footer = b"APETAGEX" + struct.pack("<IIII", 2000, 10**6, 1, 0) + b"\x00" * 8
    return files.mp3_recording() + footer


DAMAGED = [
    pytest.param(_ape_footer_larger_than_the_file(), id="mp3-tag-larger-than-file"),
    pytest.param(files.wav_recording()[:40], id="wav-without-samples"),
    pytest.param(
        files.wav_recording()[:12] + b"LIST" + struct.pack("<I", 10**6) + b"INFO",
        id="wav-chunk-past-the-end",
    ),
    pytest.param(files.ogg_opus_recording()[:47] + b"\x00" * 64, id="ogg-without-comment-page"),
    pytest.param(files.mp4_file(b"soun"), id="m4a-without-headers"),
]


@pytest.mark.parametrize("data", DAMAGED)
def test_a_recording_that_cannot_be_read_is_refused_and_nothing_is_stored(
    officer: Staff, case: CaseFile, data: bytes
) -> None:
    with pytest.raises(InvalidInput) as caught:
        add(officer, case, data)
    (message,) = caught.value.fields["file"]
    assert str(message) == "This file is damaged or incomplete and cannot be opened. Send it again."
    assert not Evidence.objects.exists()
    assert not AuditEvent.objects.filter(action="evidence.add").exists()
    evidence_root = Path(settings.MEDIA_ROOT) / "evidence"
    assert not evidence_root.exists() or not any(p.is_file() for p in evidence_root.rglob("*"))


def test_the_damaged_message_is_in_her_language(officer: Staff, case: CaseFile) -> None:
    with pytest.raises(InvalidInput) as caught:
        add(officer, case, files.mp4_file(b"soun"))
    (message,) = caught.value.fields["file"]
    with translation.override("ar"):
        arabic = str(message)
    assert arabic != "This file is damaged or incomplete and cannot be opened. Send it again."
    assert any("\u0600" <= ch <= "\u06ff" for ch in arabic)
