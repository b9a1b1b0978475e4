"""Read gettext ``.po`` catalogues and write ``.mo`` files in pure Python.

A fresh machine may lack GNU gettext, and the catalogues must still compile: this is a
small ``msgfmt`` that handles contexts (``msgctxt``) and plural forms, and writes the same
bytes for the same catalogue every time, so ``compilemessages_himaya --check`` can tell a
stale ``.mo`` by comparing bytes.

Differences from GNU ``msgfmt``, on purpose: no hash table (Python's and Django's readers
never use it), and the header is written even when marked fuzzy (without it Python would
not know the catalogue is UTF-8).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    '"': '"',
    "\\": "\\",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "'": "'",
    "?": "?",
}
_ESCAPE_RE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)", re.DOTALL)
_KEYWORD_RE = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")
# %(name)s and positional %s/%d…, as Python's % operator reads them; %% is a literal.
_PERCENT_RE = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]"
)
_BRACE_RE = re.compile(r"(?<!\{)\{(?P<name>[A-Za-z_][A-Za-z0-9_]*|\d*)(?:[!:][^{}]*)?\}(?!\})")
_NPLURALS_RE = re.compile(r"nplurals\s*=\s*(\d+)")


class PoSyntaxError(ValueError):
    def __init__(self, path: Path | str, lineno: int, message: str) -> None:
        super().__init__(f"{path}:{lineno}: {message}")


@dataclass
class PoEntry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    #: msgstr, or msgstr[0], msgstr[1]… for plural entries.
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    #: Comment lines as written (``# translator``, ``#. extracted``, ``#| previous``).
    comments: list[str] = field(default_factory=list)
    lineno: int = 0

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())

    def label(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        text = self.msgid if len(self.msgid) <= 60 else self.msgid[:57] + "..."
        return f"line {self.lineno}: {context}{text!r}"


@dataclass
class PoCatalog:
    path: Path | None
    entries: list[PoEntry]

    @property
    def header(self) -> PoEntry | None:
        return next((e for e in self.entries if e.is_header), None)

    def header_field(self, name: str) -> str | None:
        header = self.header
        if header is None:
            return None
        for line in header.msgstr.get(0, "").splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == name.lower():
                return value.strip()
        return None

    @property
    def nplurals(self) -> int | None:
        forms = self.header_field("Plural-Forms")
        match = _NPLURALS_RE.search(forms or "")
        return int(match.group(1)) if match else None

    def messages(self) -> list[PoEntry]:
        return [e for e in self.entries if not e.is_header]


def _unescape(literal: str) -> str:
    body = literal[1:-1]

    def replace(match: re.Match[str]) -> str:
        token = match.group(1)
        if token[0] == "x" and len(token) > 1:
            return chr(int(token[1:], 16))
        if token[0] in "01234567":
            return chr(int(token, 8))
        return _ESCAPES.get(token, token)

    return _ESCAPE_RE.sub(replace, body)


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )


class _Parser:
    """A line-by-line reader: comments, keywords and continued strings."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.entries: list[PoEntry] = []
        self.current = PoEntry()
        self.started = False  # has the current entry seen its msgid?
        self.target: tuple[str, int] | None = None  # the field continuation lines extend

    def finish(self) -> None:
        if self.started:
            self.entries.append(self.current)
        self.current = PoEntry()
        self.started = False
        self.target = None

    def line(self, lineno: int, line: str) -> None:
        if not line:
            if self.started:
                self.finish()
        elif line.startswith("#~"):
            return  # obsolete entries are not part of the catalogue
        elif line.startswith("#"):
            self.comment(line)
        elif line.startswith('"'):
            self.continuation(lineno, line)
        else:
            self.keyword(lineno, line)

    def comment(self, line: str) -> None:
        if self.started and self.current.msgstr:
            self.finish()
        if line.startswith("#,"):
            self.current.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
        else:
            self.current.comments.append(line)

    def continuation(self, lineno: int, line: str) -> None:
        if self.target is None or len(line) < 2 or not line.endswith('"'):
            raise PoSyntaxError(self.path, lineno, "unexpected string")
        self.append(self.target, _unescape(line))

    def append(self, target: tuple[str, int], value: str) -> None:
        kind, index = target
        entry = self.current
        if kind == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + value
        elif kind == "msgid":
            entry.msgid += value
        elif kind == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + value
        else:
            entry.msgstr[index] = entry.msgstr.get(index, "") + value

    def keyword(self, lineno: int, line: str) -> None:
        match = _KEYWORD_RE.match(line)
        if not match:
            raise PoSyntaxError(self.path, lineno, f"cannot read {line[:40]!r}")
        keyword, index_text, literal = match.groups()
        if keyword in ("msgctxt", "msgid") and self.started and self.current.msgstr:
            self.finish()
        entry = self.current
        if keyword == "msgid":
            if self.started:
                raise PoSyntaxError(self.path, lineno, "msgid without msgstr before it")
            self.started = True
        elif keyword.startswith("msgstr"):
            if not self.started:
                raise PoSyntaxError(self.path, lineno, "msgstr without msgid")
            index = int(index_text) if index_text is not None else 0
            if index in entry.msgstr:
                raise PoSyntaxError(self.path, lineno, "msgstr given twice")
            self.target = ("msgstr", index)
            self.append(self.target, _unescape(literal))
            return
        entry.lineno = entry.lineno or lineno
        self.target = (keyword, 0)
        if keyword == "msgctxt":
            entry.msgctxt = ""
        elif keyword == "msgid_plural":
            entry.msgid_plural = ""
        self.append(self.target, _unescape(literal))


def parse_po(text: str, path: Path | str = "<string>") -> PoCatalog:
    """Parse a catalogue. Obsolete (``#~``) entries are dropped."""
    parser = _Parser(path)
    for lineno, raw in enumerate(text.splitlines(), start=1):
        parser.line(lineno, raw.strip())
    parser.finish()
    catalog = PoCatalog(path=Path(path), entries=parser.entries)
    seen: set[tuple[str | None, str]] = set()
    for entry in catalog.entries:
        key = (entry.msgctxt, entry.msgid)
        if key in seen:
            raise PoSyntaxError(path, entry.lineno, "duplicate message definition")
        seen.add(key)
    return catalog


def read_po(path: Path) -> PoCatalog:
    return parse_po(path.read_text(encoding="utf-8"), path)


def compile_mo(catalog: PoCatalog) -> bytes:
    """The ``.mo`` bytes for ``catalog``: translated, non-fuzzy messages plus the header."""
    pairs: dict[bytes, bytes] = {}
    for entry in catalog.entries:
        if not entry.is_header and (entry.fuzzy or not entry.translated):
            continue
        key = entry.msgid.encode("utf-8")
        if entry.msgid_plural is not None:
            key += b"\0" + entry.msgid_plural.encode("utf-8")
        if entry.msgctxt is not None:
            key = entry.msgctxt.encode("utf-8") + b"\x04" + key
        forms = [entry.msgstr[i] for i in sorted(entry.msgstr)]
        pairs[key] = "\0".join(forms).encode("utf-8")

    keys = sorted(pairs)
    count = len(keys)
    header_size = 7 * 4
    originals_offset = header_size
    translations_offset = originals_offset + count * 8
    strings_offset = translations_offset + count * 8
    originals = bytearray()
    translations = bytearray()
    strings = bytearray()
    for key in keys:
        originals += struct.pack("<II", len(key), strings_offset + len(strings))
        strings += key + b"\0"
    for key in keys:
        value = pairs[key]
        translations += struct.pack("<II", len(value), strings_offset + len(strings))
        strings += value + b"\0"
    header = struct.pack(
        "<7I",
        0x950412DE,  # magic
        0,  # revision
        count,
        originals_offset,
        translations_offset,
        0,  # hash table size: none
        strings_offset,  # hash table offset (unused)
    )
    return header + bytes(originals) + bytes(translations) + bytes(strings)


def _placeholders(text: str, flags: set[str]) -> tuple[set[str], int]:
    """Named placeholders and the count of positional ones that ``text`` uses."""
    names: set[str] = set()
    positional = 0
    if "python-format" in flags:
        for match in _PERCENT_RE.finditer(text):
            if match.group(0) == "%%":
                continue
            if match.group("name") is not None:
                names.add(match.group("name"))
            else:
                positional += 1
    if "python-brace-format" in flags:
        for match in _BRACE_RE.finditer(text):
            names.add(match.group("name"))
    return names, positional


def entry_problems(entry: PoEntry, *, nplurals: int | None, require_translation: bool) -> list[str]:
    """What is wrong with one message, as short English sentences for the command line."""
    problems: list[str] = []
    if require_translation and entry.fuzzy:
        problems.append(f"{entry.label()} is fuzzy")
    if require_translation and not entry.translated:
        problems.append(f"{entry.label()} is not translated")
    if (
        entry.msgid_plural is not None
        and nplurals is not None
        and entry.translated
        and sorted(entry.msgstr) != list(range(nplurals))
    ):
        problems.append(f"{entry.label()} has {len(entry.msgstr)} plural forms, not {nplurals}")
    if entry.fuzzy:
        # A fuzzy entry is left out of the .mo: its placeholders cannot break anything.
        return problems
    source_names, source_positional = _placeholders(
        entry.msgid + (entry.msgid_plural or ""), entry.flags
    )
    if entry.msgid_plural is not None:
        # A plural's singular may say "one" instead of %(count)s: allow a missing count.
        source_positional = max(
            _placeholders(entry.msgid, entry.flags)[1],
            _placeholders(entry.msgid_plural or "", entry.flags)[1],
        )
    for index, text in sorted(entry.msgstr.items()):
        if not text:
            continue
        names, positional = _placeholders(text, entry.flags)
        unknown = names - source_names
        if unknown:
            problems.append(
                f"{entry.label()} msgstr[{index}] uses unknown placeholder(s) "
                + ", ".join(sorted(unknown))
            )
        if positional != source_positional and (entry.msgid_plural is None or positional > 0):
            problems.append(
                f"{entry.label()} msgstr[{index}] has {positional} positional placeholder(s), "
                f"the source has {source_positional}"
            )
    return problems


def catalog_problems(catalog: PoCatalog, *, require_translation: bool) -> list[str]:
    """Header and message problems of a whole catalogue."""
    problems: list[str] = []
    header = catalog.header
    if header is None:
        return ["the catalogue has no header"]
    content_type = catalog.header_field("Content-Type") or ""
    if "charset=utf-8" not in content_type.lower().replace(" ", ""):
        problems.append("the header does not declare charset=UTF-8")
    nplurals = catalog.nplurals
    if nplurals is None:
        problems.append("the header does not declare Plural-Forms")
    if require_translation and header.fuzzy:
        problems.append("the header is marked fuzzy (fill in Language and Plural-Forms)")
    for entry in catalog.messages():
        problems.extend(
            entry_problems(entry, nplurals=nplurals, require_translation=require_translation)
        )
    return problems


def _po_string(keyword: str, text: str) -> str:
    if "\n" not in text[:-1]:
        return f'{keyword} "{_escape(text)}"'
    lines = [f'{keyword} ""']
    lines.extend(f'"{_escape(part)}"' for part in re.findall(r"[^\n]*\n|[^\n]+", text))
    return "\n".join(lines)


def serialize_po(catalog: PoCatalog) -> str:
    """Write ``catalog`` back as a ``.po`` file (``makemessages`` re-wraps long lines)."""
    blocks: list[str] = []
    for entry in catalog.entries:
        # GNU order: translator, extracted and reference comments, then flags, then the
        # previous msgid (``#|``), which msgfmt refuses before the flags.
        lines = [c for c in entry.comments if not c.startswith("#|")]
        if entry.flags:
            lines.append("#, " + ", ".join(sorted(entry.flags)))
        lines.extend(c for c in entry.comments if c.startswith("#|"))
        if entry.msgctxt is not None:
            lines.append(_po_string("msgctxt", entry.msgctxt))
        lines.append(_po_string("msgid", entry.msgid))
        if entry.msgid_plural is not None:
            lines.append(_po_string("msgid_plural", entry.msgid_plural))
            for index in sorted(entry.msgstr):
                lines.append(_po_string(f"msgstr[{index}]", entry.msgstr[index]))
        else:
            lines.append(_po_string("msgstr", entry.msgstr.get(0, "")))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
