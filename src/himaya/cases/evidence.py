"""Evidence: photos of injuries, medical certificates, screenshots, recordings.

What happens to a file, in order (``evidence_add``):

1. **Policy first.** Only the holding unit may add evidence to an open case
   (``Action.ADD_EVIDENCE``); an outsider gets ``NotFound`` before a byte is looked at.
2. **Size.** Uploads are read into memory by ``EvidenceUploadHandler`` up to
   ``HIMAYA_EVIDENCE_MAX_BYTES`` (20 MB by default) and never spill to a temporary file: her
   photo is never written to disk in plaintext, not even for a second. A bigger file is
   drained from the request and discarded, and answered with a translated "too large".
3. **Type by content.** The first bytes decide (``sniff``): JPEG, PNG, WebP, PDF, MP3, M4A,
   Ogg (Opus, Vorbis, FLAC) and WAV, each checked beyond its magic number. The file's name
   and the browser's ``Content-Type`` are never trusted. SVG, HTML, archives, executables
   and anything else are refused.
4. **Images are decoded and re-encoded** (Pillow): dimensions are checked against a pixel
   cap before any pixel is decoded (decompression bombs), the orientation is applied, and
   the new file carries no EXIF (GPS, camera, owner), XMP, IPTC, comments or text chunks.
   The colour profile is kept: the colour of a bruise is evidence. JPEGs keep their own
   quantisation tables, so the re-encoding costs as little quality as possible.
   **PDFs are rewritten** (qpdf, through pikepdf) without their document information
   dictionary or any XMP stream, earlier revisions included. **Recordings lose their tags**
   (ID3, APEv2, iTunes atoms and the ``©xyz`` location, Vorbis comments, RIFF INFO): tag
   blocks are cut off or blanked, the sound itself is never re-encoded.
5. **Chain of custody.** ``sha256_received`` is the digest of the bytes as received (before
   stripping), ``sha256_stored`` that of the bytes a download returns; a download checks it.
6. **Encrypted at rest** with her data key (AES-256-GCM, ``core.crypto.seal``), bound to the
   evidence id, under ``MEDIA_ROOT/evidence/<2 hex>/<64 random hex>``: the path says nothing
   about her, and a blob moved to another evidence row does not open.
7. **Durable and consistent.** The blob is written to a temporary name, fsynced, renamed and
   its directory fsynced *before* the row is inserted; if the transaction fails the blob is
   removed. A committed row therefore always has its file. A crash between the two, or an
   outer transaction rolled back after this one returned, leaves only an unreferenced
   encrypted blob, which nothing shows and ``evidence_sweep_orphans`` removes.

Reads: ``evidence_list`` (audited ``evidence.list``) and ``evidence_open`` (audited
``evidence.download``), visible to the holding unit and to agencies whose live grant includes
the ``evidence`` field group; anyone else gets ``NotFound``, as for evidence that does not
exist. Once her key is shredded a download raises ``KeyUnavailable`` (410, "erased").
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import secrets
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, JpegImagePlugin

from himaya.cases import policies
from himaya.cases.models import CaseFile, Evidence, EvidenceKind, TimelineEntry
from himaya.cases.policies import Action
from himaya.core import audit
from himaya.core.actor import Actor, person_id
from himaya.core.crypto import SealedIntegrityError, open_data_key, seal, unseal
from himaya.core.errors import HimayaError, InvalidInput, KeyUnavailable, NotFound

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "EvidenceFileMissing",
    "EvidenceListing",
    "EvidenceUploadHandler",
    "FileType",
    "OversizedUpload",
    "download_name",
    "evidence_add",
    "evidence_list",
    "evidence_listing",
    "evidence_open",
    "evidence_sweep_orphans",
    "evidence_upload_case",
    "max_bytes",
    "max_pixels",
    "prepare_file",
    "sanitize_name",
    "sniff",
    "use_evidence_upload_handler",
]

logger = logging.getLogger(__name__)

TARGET = "cases.case"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000
MAX_DESCRIPTION = 2_000
MAX_ORIGINAL_NAME = 255
#: A case holds a handful of attachments; the list is capped rather than paginated.
LIST_LIMIT = 200
_BLOB_NAME = re.compile(r"^[0-9a-f]{64}$")
_TMP_PREFIX = ".tmp-"


def max_bytes() -> int:
    return int(getattr(settings, "HIMAYA_EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_pixels() -> int:
    """Our own cap, never looser than Pillow's global decompression-bomb limit."""
    cap = int(getattr(settings, "HIMAYA_EVIDENCE_MAX_PIXELS", DEFAULT_MAX_PIXELS))
    pillow_cap = Image.MAX_IMAGE_PIXELS
    return min(cap, int(pillow_cap)) if pillow_cap else cap


class EvidenceFileMissing(HimayaError):
    """The row exists but its encrypted file does not (a restore without the media folder,
    a disk fault). Not her erasure: the administrator must restore the file."""

    http_status = 500
    code = "evidence_missing"
    default_message = _(
        "The file of this evidence is missing from storage. Contact your administrator."
    )


# --- messages -----------------------------------------------------------------------------

_NOT_ACCEPTED = _(
    "This type of file is not accepted. Send a photo (JPEG, PNG or WebP), a PDF document or "
    "a sound recording (MP3, M4A, OGG or WAV)."
)
_ARCHIVE = _("Compressed archives (such as ZIP) are not accepted. Send each file on its own.")
_HEIC = _(
    "HEIC and AVIF photos are not accepted. On the phone, share the photo as JPEG "
    "(“Most compatible”) and send it again."
)
_DAMAGED = _("This file is damaged or incomplete and cannot be opened. Send it again.")
_EMPTY = _("This file is empty.")
_PDF_PASSWORD = _(
    "This PDF is protected by a password. Open it, save or print it again without the "
    "password, and send that copy."
)
_ANIMATED = _("Animated images are not accepted. Send a still image.")
_REQUIRED = _("This field is required.")


def _too_large() -> str:
    limit = max(1, max_bytes() // (1024 * 1024))
    return gettext("This file is too large. The limit is %(limit)s MB.") % {"limit": limit}


def _too_many_pixels() -> str:
    return gettext("This image has too many pixels. The limit is %(limit)s megapixels.") % {
        "limit": max(1, max_pixels() // 1_000_000)
    }


def _refuse(message: object) -> InvalidInput:
    return InvalidInput(fields={"file": [message]})


# --- content sniffing ---------------------------------------------------------------------


class FileType(StrEnum):
    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    PDF = "application/pdf"
    MP3 = "audio/mpeg"
    M4A = "audio/mp4"
    OGG = "audio/ogg"
    WAV = "audio/wav"

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self]

    @property
    def is_image(self) -> bool:
        return self in (FileType.JPEG, FileType.PNG, FileType.WEBP)

    @property
    def is_audio(self) -> bool:
        return self in (FileType.MP3, FileType.M4A, FileType.OGG, FileType.WAV)


_EXTENSIONS = {
    FileType.JPEG: "jpg",
    FileType.PNG: "png",
    FileType.WEBP: "webp",
    FileType.PDF: "pdf",
    FileType.MP3: "mp3",
    FileType.M4A: "m4a",
    FileType.OGG: "ogg",
    FileType.WAV: "wav",
}

_ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"PK\x07\x08",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"MSCF",  # cabinet
)
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
)

# MPEG audio Layer III frame header tables (kbit/s, Hz), by version.
_MP3_BITRATES = {
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2
    0: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2.5
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frame_length(data: bytes, pos: int) -> int | None:
    """Length of a valid MPEG Layer III frame starting at ``pos``, or None."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version = (data[pos + 1] >> 3) & 0b11
    layer = (data[pos + 1] >> 1) & 0b11
    bitrate_index = data[pos + 2] >> 4
    rate_index = (data[pos + 2] >> 2) & 0b11
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrate = _MP3_BITRATES[version][bitrate_index] * 1000
    rate = _MP3_RATES[version][rate_index]
    padding = (data[pos + 2] >> 1) & 1
    return (144 if version == 3 else 72) * bitrate // rate + padding


def _is_mp3(data: bytes) -> bool:
    pos = 0
    # ID3v2 tags in front; an editor that does not read the old one may stack a new one.
    while data.startswith(b"ID3", pos):
        tag = data[pos : pos + 10]
        if len(tag) < 10 or tag[3] not in (2, 3, 4) or any(b & 0x80 for b in tag[6:10]):
            return False
        size = (tag[6] << 21) | (tag[7] << 14) | (tag[8] << 7) | tag[9]
        pos += 10 + size + (10 if tag[5] & 0x10 else 0)
    first = _mp3_frame_length(data, pos)
    if first is None:
        return False
    following = pos + first
    # The first frame is whole, and followed by another frame, an ID3v1 tag or the end of
    # the file: random bytes that happen to look like one frame header do not pass.
    if following > len(data):
        return False
    return (
        following == len(data)
        or data[following : following + 3] == b"TAG"
        or _mp3_frame_length(data, following) is not None
    )


def _boxes(data: memoryview, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """ISO base media boxes between ``start`` and ``end``: (type, body start, box end)."""
    pos = start
    while pos + 8 <= end:
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = bytes(data[pos + 4 : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _child(data: memoryview, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for found, body, box_end in _boxes(data, start, end):
        if found == kind:
            return body, box_end
    return None


def _mp4_handlers(data: bytes) -> set[bytes]:
    """The handler types (``soun``, ``vide``…) of every track of an MP4/M4A file."""
    view = memoryview(data)
    moov = _child(view, 0, len(data), b"moov")
    if moov is None:
        return set()
    handlers: set[bytes] = set()
    for kind, body, box_end in _boxes(view, *moov):
        if kind != b"trak":
            continue
        mdia = _child(view, body, box_end, b"mdia")
        hdlr = _child(view, *mdia, b"hdlr") if mdia else None
        if hdlr is not None and hdlr[0] + 12 <= hdlr[1]:
            handlers.add(bytes(view[hdlr[0] + 8 : hdlr[0] + 12]))
    return handlers


def _is_ogg_audio(data: bytes) -> bool:
    if len(data) < 28:
        return False
    packet = 27 + data[26]
    head = data[packet : packet + 8]
    return head.startswith((b"OpusHead", b"\x01vorbis", b"\x7fFLAC"))


def _is_pdf(data: bytes) -> bool:
    tail = data[-2048:]
    return (
        data.startswith((b"%PDF-1.", b"%PDF-2."))
        and b"%%EOF" in tail[-1024:]
        and b"startxref" in tail
    )


def _sniff_container(data: bytes) -> FileType | None:
    """RIFF, ISO base media and Ogg files: the container alone does not say what is inside."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return FileType.WEBP
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return FileType.WAV
    if data.startswith(b"OggS") and _is_ogg_audio(data):
        return FileType.OGG
    if data[4:8] == b"ftyp":
        if data[8:12] in _HEIF_BRANDS:
            raise _refuse(_HEIC)
        handlers = _mp4_handlers(data)
        # Sound only: a video (or a file whose structure cannot be read) is refused.
        if b"soun" in handlers and b"vide" not in handlers:
            return FileType.M4A
        raise _refuse(_NOT_ACCEPTED)
    return None


def sniff(data: bytes) -> FileType:
    """The file's type, decided by its content alone. Raises ``InvalidInput`` on ``file``."""
    if not data:
        raise _refuse(_EMPTY)
    if data.startswith(b"\xff\xd8\xff"):
        return FileType.JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileType.PNG
    if data.startswith(b"%PDF-"):
        if _is_pdf(data):
            return FileType.PDF
        raise _refuse(_DAMAGED)
    container = _sniff_container(data)
    if container is not None:
        return container
    if _is_mp3(data):
        return FileType.MP3
    if data.startswith(_ARCHIVE_MAGIC) or data[257:262] == b"ustar":
        raise _refuse(_ARCHIVE)
    raise _refuse(_NOT_ACCEPTED)


# --- images: decode, check, re-encode without metadata -------------------------------------

_PILLOW_FORMATS = {FileType.JPEG: "JPEG", FileType.PNG: "PNG", FileType.WEBP: "WEBP"}


def _check_dimensions(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise _refuse(_DAMAGED)
    if width * height > max_pixels():
        raise _refuse(_too_many_pixels())


def _open_checked(data: bytes, file_type: FileType) -> Image.Image:
    """The image, fully decoded, once its header, size and structure have been checked."""
    formats = [_PILLOW_FORMATS[file_type]]
    with Image.open(io.BytesIO(data), formats=formats) as probe:
        # Only the header has been read: refuse a bomb before a single pixel is decoded.
        _check_dimensions(probe)
        # A JPEG with a depth map or preview opens as MPO: its first picture is the photo.
        if getattr(probe, "n_frames", 1) > 1 and probe.format != "MPO":
            raise _refuse(_ANIMATED)
        probe.verify()
    image = Image.open(io.BytesIO(data), formats=formats)
    _check_dimensions(image)
    image.load()
    return image


def _reencode(image: Image.Image, file_type: FileType) -> bytes:
    icc_profile = image.info.get("icc_profile")
    transparency = image.info.get("transparency")
    save_options: dict[str, Any] = {}
    if file_type is FileType.JPEG:
        # Reuse the photo's own quantisation tables and chroma subsampling: re-encoding then
        # loses as little detail as a JPEG re-encoding can.
        quantization = getattr(image, "quantization", None)
        if quantization:
            save_options["qtables"] = quantization
        else:
            save_options["quality"] = 95
        sampling = JpegImagePlugin.get_sampling(image)
        if sampling != -1:
            save_options["subsampling"] = sampling
    elif file_type is FileType.WEBP:
        save_options.update(quality=95, method=4, exif=b"", xmp=b"")
    upright = ImageOps.exif_transpose(image) or image
    # Nothing of the original's metadata is carried over: EXIF (GPS, camera, owner), XMP,
    # IPTC, comments, text chunks. Only what the picture needs to look the same is kept.
    upright.info = {}
    if transparency is not None and file_type is FileType.PNG:
        save_options["transparency"] = transparency
    if icc_profile:
        save_options["icc_profile"] = icc_profile
    out = io.BytesIO()
    upright.save(out, format=_PILLOW_FORMATS[file_type], **save_options)
    return out.getvalue()


def _clean_image(data: bytes, file_type: FileType) -> bytes:
    try:
        image = _open_checked(data, file_type)
        try:
            return _reencode(image, file_type)
        finally:
            image.close()
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit, met at open (the warning is an error where warnings are).
        raise _refuse(_too_many_pixels()) from None
    except MemoryError:
        raise
    except Exception as exc:  # hostile input: any decoder failure means "damaged"
        # The exception text may quote bytes of the file: log its type only.
        logger.info("An evidence image was refused by the decoder: %s", type(exc).__name__)
        raise _refuse(_DAMAGED) from None


# --- PDF: the document information dictionary and XMP are removed ------------------------

#: Catalogue entries that carry who made the document and with what, never its content.
_PDF_CATALOG_METADATA = ("/Metadata", "/PieceInfo")
#: Page and object entries of the same kind (an image's own XMP, application private data).
_PDF_OBJECT_METADATA = ("/Metadata", "/PieceInfo", "/LastModified")


def _clean_pdf(data: bytes) -> bytes:
    """The PDF rewritten whole (qpdf, through pikepdf) without its document information
    dictionary (author, creator, producer, title, dates) or any XMP metadata stream: in
    the catalogue, on pages and on objects such as images. Rewriting keeps only reachable
    objects, so earlier revisions of an incrementally saved file (with their own, older
    metadata) are dropped too. Content is untouched; a digital signature no longer
    verifies on the stored copy, which ``sha256_received`` still ties to the original."""
    # Imported here: qpdf loads only when a PDF arrives, and its import-time log line stays
    # out of every management command's output.
    import pikepdf

    try:
        opened = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise _refuse(_PDF_PASSWORD) from None
    except MemoryError:
        raise
    except Exception as exc:  # hostile input: any parser failure means "damaged"
        logger.info("An evidence PDF was refused by the parser: %s", type(exc).__name__)
        raise _refuse(_DAMAGED) from None
    try:
        with opened as pdf:
            if "/Info" in pdf.trailer:
                del pdf.trailer["/Info"]
            for key in _PDF_CATALOG_METADATA:
                if key in pdf.Root:
                    del pdf.Root[key]
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                    for key in _PDF_OBJECT_METADATA:
                        if key in obj:
                            del obj[key]
            out = io.BytesIO()
            pdf.save(
                out,
                deterministic_id=True,
                fix_metadata_version=False,
                # Streams stay as they came (compressed or not): the content is evidence.
                compress_streams=False,
            )
            return out.getvalue()
    except MemoryError:
        raise
    except Exception as exc:  # hostile input: any parser failure means "damaged"
        logger.info("An evidence PDF was refused by the parser: %s", type(exc).__name__)
        raise _refuse(_DAMAGED) from None


# --- audio: tags removed, the sound left byte for byte -------------------------------------


class _DamagedAudio(Exception):
    """The recording does not have the structure its container claims."""


def _syncsafe(data: bytes) -> int:
    return (data[0] << 21) | (data[1] << 14) | (data[2] << 7) | data[3]


def _mp3_trailing_tag(data: bytes, start: int, end: int) -> int:
    """Length of the tag that ends at ``end`` (ID3v1, APEv2, Lyrics3, an appended ID3v2),
    or 0 when the file ends with sound."""
    room = end - start
    if room >= 128 and data[end - 128 : end - 125] == b"TAG":
        # ID3v1, with the 227 bytes of an "enhanced" TAG+ block in front when present.
        return 355 if room >= 355 and data[end - 355 : end - 351] == b"TAG+" else 128
    if room >= 32 and data[end - 32 : end - 24] == b"APETAGEX":
        size = int.from_bytes(data[end - 20 : end - 16], "little")
        has_header = bool(int.from_bytes(data[end - 12 : end - 8], "little") & 0x80000000)
        length = size + (32 if has_header else 0)
    elif room >= 15 and data[end - 9 : end] == b"LYRICS200":
        digits = data[end - 15 : end - 9]
        if not digits.isdigit():
            raise _DamagedAudio
        length = int(digits) + 15
    elif room >= 9 and data[end - 9 : end] == b"LYRICSEND":
        # Lyrics3 v1: no size, at most 5100 bytes after its opening marker.
        found = data.rfind(b"LYRICSBEGIN", max(start, end - 5120), end)
        if found < 0:
            raise _DamagedAudio
        length = end - found
    elif room >= 20 and data[end - 10 : end - 7] == b"3DI":
        length = _syncsafe(data[end - 4 : end]) + 20
    else:
        return 0
    if not 0 < length <= room:
        raise _DamagedAudio
    return length


def _strip_mp3(data: bytes) -> bytes:
    """The MPEG frames alone: every ID3v2 tag in front (they can be stacked), and ID3v1,
    APEv2, Lyrics3 and appended ID3v2 tags at the end, are cut off. The frames themselves,
    the encoder's Xing/LAME header frame included, are kept as they are."""
    start = 0
    while data.startswith(b"ID3", start):
        header = data[start : start + 10]
        if len(header) < 10 or any(b & 0x80 for b in header[6:10]):
            raise _DamagedAudio
        start += 10 + _syncsafe(header[6:10]) + (10 if header[5] & 0x10 else 0)
    end = len(data)
    while (length := _mp3_trailing_tag(data, start, end)) > 0:
        end -= length
    if _mp3_frame_length(data, start) is None:
        raise _DamagedAudio
    return data[start:end]


#: The boxes an M4A needs to play, by parent (b"" is the file itself). Any other box is
#: blanked: ``udta`` (the ``©xyz`` location, iTunes ``ilst`` tags: title, artist, date,
#: encoder), ``meta`` (QuickTime ``keys``: make, model, location), ``uuid`` (XMP), and
#: ``free``/``skip`` space, where an editor may have left the metadata it replaced.
_MP4_KEEP: dict[bytes, frozenset[bytes]] = {
    b"": frozenset({b"ftyp", b"moov", b"mdat", b"moof", b"mfra", b"sidx", b"ssix", b"styp"}),
    b"moov": frozenset({b"mvhd", b"trak", b"mvex", b"iods", b"pssh"}),
    b"trak": frozenset({b"tkhd", b"mdia", b"edts", b"tref"}),
    b"mdia": frozenset({b"mdhd", b"hdlr", b"minf", b"elng"}),
    b"minf": frozenset({b"smhd", b"nmhd", b"gmhd", b"sthd", b"hdlr", b"dinf", b"stbl"}),
}
#: Headers that carry a creation and a modification date (seconds since 1904).
_MP4_DATED = frozenset({b"mvhd", b"tkhd", b"mdhd"})


def _blank_mp4_boxes(out: bytearray, view: memoryview, start: int, end: int, parent: bytes) -> None:
    keep = _MP4_KEEP[parent]
    pos = start
    for kind, body, box_end in _boxes(view, start, end):
        if kind not in keep:
            # Blanked in place rather than removed: nothing moves, so the sample offsets
            # (stco/co64) stay right and the sound is not touched.
            out[pos + 4 : pos + 8] = b"free"
            out[body:box_end] = bytes(box_end - body)
        elif kind in _MP4_KEEP:
            _blank_mp4_boxes(out, view, body, box_end, kind)
        elif kind in _MP4_DATED:
            width = 8 if view[body] == 1 else 4
            if body + 4 + 2 * width > box_end:
                raise _DamagedAudio
            out[body + 4 : body + 4 + 2 * width] = bytes(2 * width)
        pos = box_end
    if pos == end:
        return
    if parent != b"":
        raise _DamagedAudio
    if bytes(view[pos + 4 : pos + 8]) == b"mdat":
        return  # a recording cut short: its media data runs past the end, kept as it is
    # Bytes after the last box that are no box (a vendor's trailer): nothing needs them.
    out[pos:end] = bytes(end - pos)


def _strip_mp4(data: bytes) -> bytes:
    """The M4A with every box that is not needed to play it blanked (see ``_MP4_KEEP``)
    and the dates of its movie, track and media headers set to zero."""
    out = bytearray(data)
    with memoryview(data) as view:
        _blank_mp4_boxes(out, view, 0, len(data), b"")
    return bytes(out)


def _ogg_type(data: bytes) -> type[Any]:
    from mutagen.oggflac import OggFLAC
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis

    packet = 27 + data[26]
    head = data[packet : packet + 8]
    if head.startswith(b"OpusHead"):
        return OggOpus
    if head.startswith(b"\x01vorbis"):
        return OggVorbis
    return OggFLAC


def _strip_ogg(data: bytes) -> bytes:
    """Opus, Vorbis or FLAC in Ogg, its comment packet emptied (mutagen rewrites the pages
    that held it). The encoder's vendor string stays: it names a library, not a person."""
    buffer = io.BytesIO(data)
    recording = _ogg_type(data)(buffer)
    buffer.seek(0)
    recording.delete(buffer)
    return buffer.getvalue()


#: The chunks a WAV needs to play; LIST/INFO (title, artist, software, date), id3, bext
#: (originator, date, time), iXML and everything else are dropped.
_WAV_KEEP = frozenset({b"fmt ", b"fact", b"data"})


def _strip_wav(data: bytes) -> bytes:
    """The WAV rebuilt from its format, fact and data chunks alone, in their order."""
    chunks: list[bytes] = []
    found: set[bytes] = set()
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = pos + 8
        if body + size > len(data):
            if kind != b"data":
                raise _DamagedAudio
            # A recording cut short (or still "streaming" when it was sent): the samples
            # that arrived are kept, and the chunk says how many there are.
            size = len(data) - body
        if kind in _WAV_KEEP:
            payload = data[body : body + size]
            pad = b"\x00" if size % 2 else b""
            chunks.append(kind + size.to_bytes(4, "little") + payload + pad)
            found.add(kind)
        pos = body + size + size % 2
    if not {b"fmt ", b"data"} <= found:
        raise _DamagedAudio
    riff = b"WAVE" + b"".join(chunks)
    return b"RIFF" + len(riff).to_bytes(4, "little") + riff


_AUDIO_STRIPPERS = {
    FileType.MP3: _strip_mp3,
    FileType.M4A: _strip_mp4,
    FileType.OGG: _strip_ogg,
    FileType.WAV: _strip_wav,
}


def _reopen_audio(content: bytes, file_type: FileType) -> None:
    """Raise unless the stripped recording is still what it was: the same type by content
    and a file mutagen reads (its stream information parsed)."""
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4
    from mutagen.wave import WAVE

    if sniff(content) is not file_type:
        raise _DamagedAudio
    reader: type[Any]
    if file_type is FileType.MP3:
        reader = MP3
    elif file_type is FileType.M4A:
        reader = MP4
    elif file_type is FileType.OGG:
        reader = _ogg_type(content)
    else:
        reader = WAVE
    reader(io.BytesIO(content))


def _clean_audio(data: bytes, file_type: FileType) -> bytes:
    """The recording without its tags (artist, title, owner, device, software, dates,
    ``©xyz`` location), the sound itself untouched: tag blocks are cut off or blanked, never
    decoded and re-encoded. A container that cannot be read is refused as damaged.

    What may remain (docs/architecture/cases.md, "Evidence metadata"): the encoder's name
    (Xing/LAME frame, Ogg vendor string, M4A ``hdlr`` names), the comments of a second,
    chained Ogg stream, and the samples of a non-sound M4A track (chapter titles)."""
    try:
        content = _AUDIO_STRIPPERS[file_type](data)
        _reopen_audio(content, file_type)
    except MemoryError:
        raise
    except Exception as exc:  # hostile input: any parser failure means "damaged"
        logger.info("An evidence recording was refused by the parser: %s", type(exc).__name__)
        raise _refuse(_DAMAGED) from None
    return content


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """A file checked and ready to seal: ``content`` is what downloads will return."""

    file_type: FileType
    content: bytes
    sha256_received: str
    sha256_stored: str
    size_received: int


def _kind_rules() -> dict[str, tuple[frozenset[FileType], Any]]:
    images = frozenset({FileType.JPEG, FileType.PNG, FileType.WEBP})
    documents = images | {FileType.PDF}
    audio = frozenset({FileType.MP3, FileType.M4A, FileType.OGG, FileType.WAV})
    image_message = _("A photo must be an image file (JPEG, PNG or WebP).")
    document_message = _("This kind of evidence must be an image or a PDF document.")
    audio_message = _("An audio recording must be a sound file (MP3, M4A, OGG or WAV).")
    return {
        EvidenceKind.INJURY_PHOTO: (images, image_message),
        EvidenceKind.SCREENSHOT: (documents, document_message),
        EvidenceKind.MEDICAL_CERTIFICATE: (documents, document_message),
        EvidenceKind.DOCUMENT: (documents, document_message),
        EvidenceKind.AUDIO: (audio, audio_message),
    }


def prepare_file(data: bytes, *, kind: str) -> PreparedFile:
    """Check ``data`` by content and strip its metadata (images, PDFs, recordings).
    Raises ``InvalidInput`` on ``file`` with a translated message; pure (no database, no
    disk)."""
    if len(data) > max_bytes():
        raise _refuse(_too_large())
    file_type = sniff(data)
    accepted, message = _kind_rules()[kind]
    if file_type not in accepted:
        raise _refuse(message)
    if file_type.is_image:
        content = _clean_image(data, file_type)
    elif file_type is FileType.PDF:
        content = _clean_pdf(data)
    else:
        content = _clean_audio(data, file_type)
    return PreparedFile(
        file_type=file_type,
        content=content,
        sha256_received=hashlib.sha256(data).hexdigest(),
        sha256_stored=hashlib.sha256(content).hexdigest(),
        size_received=len(data),
    )


def sanitize_name(name: str | None) -> str:
    """The name she or the officer gave the file, safe to show: no directories, no control
    or formatting characters (bidi overrides that disguise an extension), no leading dots.
    Shown on the page only; never used to store or to name a download."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(
        ch for ch in text if unicodedata.category(ch)[0] != "C" and ch not in "\u2028\u2029"
    )
    text = text.strip().lstrip(".").strip()
    if len(text) > MAX_ORIGINAL_NAME:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            text = stem[: MAX_ORIGINAL_NAME - len(extension) - 1] + "." + extension
        else:
            text = text[:MAX_ORIGINAL_NAME]
    return text


def download_name(evidence: Evidence) -> str:
    """A neutral file name for downloads: it lands in a Downloads folder, so it says
    nothing about her (not the original name, not the kind)."""
    extension = _extension_for(evidence.content_type)
    return f"evidence-{evidence.pk.hex[:12]}.{extension}"


def _extension_for(content_type: str) -> str:
    try:
        return FileType(content_type).extension
    except ValueError:
        return "bin"


# --- uploads: in memory, bounded ----------------------------------------------------------


class OversizedUpload(UploadedFile[bytes]):
    """Stands in for a file that went over the limit: its bytes were read and discarded."""

    def __init__(self, *, name: str | None, size: int) -> None:
        super().__init__(file=io.BytesIO(b""), name=name, content_type=None, size=size)


class EvidenceUploadHandler(FileUploadHandler):
    """Keeps ONE uploaded file in memory, up to ``HIMAYA_EVIDENCE_MAX_BYTES``.

    Django's default handlers spill any upload over 2.5 MB to a temporary file in the
    system's temporary directory, in plaintext; evidence must never touch a disk before it
    is sealed. Past the limit the bytes are discarded as they arrive (memory stays bounded)
    and the file is replaced by an ``OversizedUpload`` so the page can say "too large"
    instead of "missing". Any further file in the same request is skipped unread.
    Set it before the request body is read: ``use_evidence_upload_handler(request)``.
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = max_bytes()
        self.files_seen = 0
        self.buffer = io.BytesIO()
        self.over_limit = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.files_seen += 1
        if self.files_seen > 1:
            raise SkipFile
        self.buffer = io.BytesIO()
        self.over_limit = self.content_length is not None and self.content_length > self.limit

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if not self.over_limit:
            if start + len(raw_data) > self.limit:
                self.over_limit = True
                self.buffer = io.BytesIO()
            else:
                self.buffer.write(raw_data)

    def file_complete(self, file_size: int) -> UploadedFile[Any]:
        if self.over_limit:
            return OversizedUpload(name=self.file_name, size=file_size)
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )


def use_evidence_upload_handler(request: HttpRequest) -> None:
    """Make ``request`` read its files with ``EvidenceUploadHandler`` (call it before
    anything reads ``request.POST``/``FILES``, CSRF included)."""
    request.upload_handlers = [EvidenceUploadHandler(request)]


def _read_upload(upload: UploadedFile[Any]) -> bytes:
    limit = max_bytes()
    if isinstance(upload, OversizedUpload) or (upload.size or 0) > limit:
        raise _refuse(_too_large())
    buffer = bytearray()
    upload.seek(0)
    for chunk in upload.chunks():
        buffer += chunk
        if len(buffer) > limit:
            raise _refuse(_too_large())
    return bytes(buffer)


# --- storage ------------------------------------------------------------------------------


def _storage_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "evidence"


def _blob_path(blob_name: str) -> Path:
    # The name comes from the database: never let it point anywhere else on the disk.
    if not _BLOB_NAME.fullmatch(blob_name):
        raise SealedIntegrityError()
    return _storage_root() / blob_name[:2] / blob_name


def _seal_context(evidence_id: uuid.UUID) -> bytes:
    # Bound to the evidence id: a blob copied under another evidence row does not open.
    return f"{Evidence._meta.db_table}.file:{evidence_id}".encode()


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_blob(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path`` atomically and durably, readable by this user only."""
    directory = path.parent
    created = not directory.exists()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if created:
        _fsync_directory(directory.parent)
    temporary = directory / f"{_TMP_PREFIX}{secrets.token_hex(8)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)


def _remove_blob(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        # Left behind encrypted and unreferenced: evidence_sweep_orphans removes it.
        logger.warning("An evidence blob could not be removed after a failed upload.")


def evidence_sweep_orphans(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Remove encrypted blobs that no evidence row names (a crash between writing the file
    and committing its row, an enclosing transaction rolled back, a deleted case) and
    temporary files left by a crash. Only files older than ``older_than`` are touched, so an
    upload in progress is never removed. Returns how many files were removed."""
    root = _storage_root()
    if not root.is_dir():
        return 0
    cutoff = (timezone.now() - older_than).timestamp()
    removed = 0
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        candidates: dict[str, Path] = {}
        for path in directory.iterdir():
            if not path.is_file() or path.stat().st_mtime > cutoff:
                continue
            if path.name.startswith(_TMP_PREFIX):
                path.unlink(missing_ok=True)
                removed += 1
            elif _BLOB_NAME.fullmatch(path.name):
                candidates[path.name] = path
        names = list(candidates)
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            known = set(
                Evidence.objects.filter(blob_name__in=chunk).values_list("blob_name", flat=True)
            )
            for name in chunk:
                if name not in known:
                    candidates[name].unlink(missing_ok=True)
                    removed += 1
    return removed


# --- services -----------------------------------------------------------------------------


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound from None


def _case_query() -> QuerySet[CaseFile]:
    return CaseFile.objects.select_related("survivor", "survivor__data_key")


def _clean_fields(
    kind: str, description: str, upload: UploadedFile[Any] | None
) -> tuple[str, UploadedFile[Any]]:
    errors: dict[str, list[object]] = {}
    if kind not in EvidenceKind.values:
        errors["kind"] = [_("Select a valid choice.")]
    text = (description or "").strip()
    if len(text) > MAX_DESCRIPTION:
        errors["description"] = [_("This is too long.")]
    if upload is None:
        errors["file"] = [_REQUIRED]
    if errors or upload is None:
        raise InvalidInput(fields=errors)
    return text, upload


def evidence_add(
    *,
    actor: Actor,
    case_id: uuid.UUID | str,
    kind: str,
    upload: UploadedFile[Any] | None,
    description: str = "",
) -> Evidence:
    """Attach a file to the case: checked, stripped, sealed with her key, hashed, audited.

    Holding unit only, on a case that is not closed (``Action.ADD_EVIDENCE``). Raises
    ``NotFound`` for a case the actor may not see, ``InvalidInput`` (fields ``kind``,
    ``description``, ``file``) for a refused file, ``KeyUnavailable`` if her key was shredded.

    Not one ``@transaction.atomic`` like the other services, on purpose: decoding a photo
    and writing 20 MB with fsync must not happen while the case row (and, on SQLite, the
    whole database) is write-locked. The policy is checked first without a lock (so an
    outsider costs nothing), the file is prepared and written, and the row is inserted in a
    short transaction that locks the case and checks the policy again.
    """
    case = _case_query().filter(pk=_uuid(case_id)).first()
    if case is None:
        raise NotFound
    policies.require(actor, Action.ADD_EVIDENCE, case)
    key = open_data_key(case.survivor.data_key_id, row=case.survivor.data_key)
    if key is None:
        raise KeyUnavailable
    text, upload = _clean_fields(kind, description, upload)
    prepared = prepare_file(_read_upload(upload), kind=kind)
    evidence_id = uuid.uuid4()
    blob_name = secrets.token_hex(32)
    path = _blob_path(blob_name)
    _write_blob(path, seal(prepared.content, key=key, context=_seal_context(evidence_id)))
    try:
        with transaction.atomic():
            locked = _case_query().select_for_update(of=("self",)).filter(pk=case.pk).first()
            if locked is None:
                raise NotFound
            # The case may have been closed (or her key shredded) while the file was read.
            policies.require(actor, Action.ADD_EVIDENCE, locked)
            evidence = Evidence(
                id=evidence_id,
                case=locked,
                kind=kind,
                description=text,
                original_name=sanitize_name(upload.name),
                content_type=prepared.file_type.value,
                size=len(prepared.content),
                sha256_received=prepared.sha256_received,
                sha256_stored=prepared.sha256_stored,
                blob_name=blob_name,
                uploaded_by_id=person_id(actor),
            )
            evidence.save(force_insert=True)
            TimelineEntry.objects.create(
                case=locked,
                actor_id=actor.user_id,
                kind="evidence_added",
                metadata={"evidence": str(evidence_id), "kind": kind},
            )
            audit.record(
                actor=actor,
                action="evidence.add",
                target_type=TARGET,
                target_id=str(locked.pk),
                metadata={
                    "evidence": str(evidence_id),
                    "kind": kind,
                    "content_type": prepared.file_type.value,
                    "size_received": prepared.size_received,
                    "size_stored": len(prepared.content),
                    "sha256_received": prepared.sha256_received,
                    "sha256_stored": prepared.sha256_stored,
                },
            )
    except BaseException:
        _remove_blob(path)
        raise
    return evidence


def _visible_case(actor: Actor, case_id: uuid.UUID | str) -> CaseFile:
    """The case, once the actor may see its evidence; ``NotFound`` (audited) otherwise.

    A grant without the ``evidence`` field group hides evidence entirely: for that agency
    the evidence does not exist, the same answer as for a case it cannot see."""
    case = _case_query().filter(pk=_uuid(case_id)).first()
    if case is None:
        raise NotFound
    _require_evidence_access(actor, case)
    return case


def _require_evidence_access(actor: Actor, case: CaseFile) -> None:
    try:
        policies.require(actor, Action.DOWNLOAD_EVIDENCE, case)
    except HimayaError:
        audit.record(
            actor=actor,
            action="evidence.read_denied",
            target_type=TARGET,
            target_id=str(case.pk),
        )
        raise NotFound from None


def _listed(case: CaseFile) -> list[Evidence]:
    rows = list(
        Evidence.objects.filter(case=case)
        .select_related("uploaded_by")
        .order_by("uploaded_at", "id")[:LIST_LIMIT]
    )
    for row in rows:
        # Her key comes with the case: opening descriptions and names costs no query.
        row.case = case
    return rows


@dataclass(frozen=True, slots=True)
class EvidenceListing:
    case: CaseFile
    items: list[Evidence]
    #: Whether the actor may add evidence to this case (the policy's answer, for a button).
    can_add: bool


def evidence_listing(*, actor: Actor, case_id: uuid.UUID | str) -> EvidenceListing:
    """The case's evidence, oldest first (at most ``LIST_LIMIT``, uploader joined); an
    audited ``evidence.list``. Visible to whoever may download it
    (``Action.DOWNLOAD_EVIDENCE``: the holding unit, or a live grant with the ``evidence``
    group); anyone else gets ``NotFound``. Sealed fields read as ``Erased`` once her key is
    gone."""
    case = _visible_case(actor, case_id)
    rows = _listed(case)
    audit.record(
        actor=actor,
        action="evidence.list",
        target_type=TARGET,
        target_id=str(case.pk),
        metadata={"count": len(rows)},
    )
    return EvidenceListing(
        case=case, items=rows, can_add=policies.allowed(actor, Action.ADD_EVIDENCE, case)
    )


def evidence_list(*, actor: Actor, case_id: uuid.UUID | str) -> list[Evidence]:
    """``evidence_listing(...).items``: the case's evidence, audited, fail closed."""
    return evidence_listing(actor=actor, case_id=case_id).items


def evidence_upload_case(*, actor: Actor, case_id: uuid.UUID | str) -> CaseFile:
    """The case an upload form is for, once the actor may add evidence to it: ``NotFound``
    for a case she may not see, ``PermissionDenied`` for one she may see but not add to
    (another agency, a closed case). Shows nothing of the case's content: not audited."""
    case = _case_query().filter(pk=_uuid(case_id)).first()
    if case is None:
        raise NotFound
    policies.require(actor, Action.ADD_EVIDENCE, case)
    return case


def evidence_open(
    *, actor: Actor, evidence_id: uuid.UUID | str, case_id: uuid.UUID | str | None = None
) -> tuple[Evidence, bytes]:
    """The evidence and its decrypted content, for a download; an audited
    ``evidence.download``. With ``case_id``, evidence of another case is ``NotFound``.

    Raises ``NotFound`` (missing, or not the actor's to see), ``KeyUnavailable`` (her key
    was shredded: erased), ``EvidenceFileMissing`` (storage lost the file) and
    ``SealedIntegrityError`` (the blob was altered or swapped).
    """
    evidence = (
        Evidence.objects.select_related("case", "case__survivor", "case__survivor__data_key")
        .filter(pk=_uuid(evidence_id))
        .first()
    )
    if evidence is None or (case_id is not None and evidence.case_id != _uuid(case_id)):
        raise NotFound
    case = evidence.case
    _require_evidence_access(actor, case)
    key = open_data_key(case.survivor.data_key_id, row=case.survivor.data_key)
    if key is None:
        raise KeyUnavailable
    try:
        blob = _blob_path(evidence.blob_name).read_bytes()
    except FileNotFoundError:
        logger.error("The blob of an evidence row is missing from storage.")
        raise EvidenceFileMissing from None
    content = unseal(blob, key=key, context=_seal_context(evidence.pk))
    if hashlib.sha256(content).hexdigest() != evidence.sha256_stored:
        raise SealedIntegrityError()
    audit.record(
        actor=actor,
        action="evidence.download",
        target_type=TARGET,
        target_id=str(case.pk),
        metadata={
            "evidence": str(evidence.pk),
            "sha256_stored": evidence.sha256_stored,
            "holding_unit": policies.is_unit_staff(actor, case.unit_id),
        },
    )
    return evidence, content
