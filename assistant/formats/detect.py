"""Checking a file's bytes and telling its format from its content, not only its name.

Out of scope: parsing records (see the readers).
"""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path

from ..errors import CorpusError

MAX_LINE_BYTES = 1_000_000
SUFFIXES = {
    ".txt": "listing",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "table",
    ".tsv": "table",
    ".tab": "table",
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".biblatex": "bibtex",
    ".ris": "ris",
    ".nbib": "medline",
    ".medline": "medline",
    ".xml": "xml",
    ".atom": "xml",
}
BIB_ENTRY_RE = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.M)
RIS_RE = re.compile(r"^TY  - ", re.M)
MEDLINE_RE = re.compile(r"^PMID- ?\d", re.M)
BINARY_BYTES = [c for c in range(32) if c not in (9, 10, 12, 13)]  # control bytes that text files do not hold
CODEC_NAMES = {
    "cp1252": "Windows-1252",
    "cp1250": "Windows-1250",
    "latin_1": "Latin-1",
    "utf_16": "UTF-16",
    "mac_roman": "Mac Roman",
}


def read_text(path: Path, notes: list[str] | None = None) -> str:
    """Check a file's bytes (present, not empty, not binary, no huge line) and decode them.

    UTF-8 and UTF-16 (with a byte-order mark) are read as they are; anything else is read in the
    encoding `charset-normalizer` finds (Windows-1252, Latin-1, ...), and a sentence saying which is
    added to `notes`, as is one for stray NUL bytes removed. Only a file that is really binary is refused.
    """
    if not path.is_file():
        raise CorpusError(path, "no such file")
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _checked(path, _decode_utf16(path, data))
    if not data.strip():
        raise CorpusError(path, "the file is empty")
    data = without_stray_nuls(path, data, notes)
    for lineno, line in enumerate(data.split(b"\n"), 1):
        if len(line) > MAX_LINE_BYTES:
            raise CorpusError(
                path,
                f"line is {len(line) / 1e6:.1f} MB long; the limit is {MAX_LINE_BYTES / 1e6:.0f} MB per line",
                lineno,
            )
    return decode(path, data, notes)


def without_stray_nuls(path: Path, data: bytes, notes: list[str] | None, lineno: int | None = None) -> bytes:
    """The bytes without NULs when there are only a few (a damaged copy); CorpusError when the file is binary."""
    nuls = data.count(b"\x00")
    if not nuls:
        return data
    controls = sum(data.count(bytes([c])) for c in BINARY_BYTES)
    if controls > max(2, len(data) // 100):  # more than 1% control bytes: not a text file
        first = data.index(b"\x00")
        raise CorpusError(
            path,
            "looks like a binary file (it holds NUL and control bytes), not text; "
            "export the library as BibTeX, RIS, CSV or JSON",
            lineno or _line_of(data, first),
        )
    line = lineno or _line_of(data, data.index(b"\x00"))
    _note(notes, path, f"{nuls} stray NUL byte{'s' * (nuls > 1)} removed (first on line {line})")
    return data.replace(b"\x00", b"")


def decode(path: Path, data: bytes, notes: list[str] | None, lineno: int | None = None) -> str:
    """UTF-8 text (a BOM dropped); a few broken bytes in UTF-8 text replaced; other encodings detected."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        first_bad = err.start
    text = data.decode("utf-8-sig", errors="replace")
    broken = text.count("\ufffd") - data.decode("utf-8-sig", errors="ignore").count("\ufffd")
    wide = sum(1 for ch in text if ord(ch) > 127 and ch != "\ufffd")
    where = f"line {lineno or _line_of(data, first_bad)}"
    if wide and broken <= max(3, wide // 50):  # UTF-8 text with a few damaged bytes: keep UTF-8
        _note(
            notes, path, f"UTF-8 with {broken} invalid byte{'s' * (broken > 1)} replaced by \ufffd (first on {where})"
        )
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise CorpusError(
            path,
            f"neither UTF-8 nor any text encoding that could be recognised (byte 0x{data[first_bad]:02x}); "
            "re-save it as UTF-8",
            lineno or _line_of(data, first_bad),
        )
    # several code pages often give the same text; name the one Western tools write, when it is one of them
    encoding = "cp1252" if "cp1252" in best.could_be_from_charset else best.encoding
    _note(notes, path, f"not UTF-8 (first at {where}); read as {CODEC_NAMES.get(encoding, encoding)}")
    return data.decode(encoding, errors="replace").lstrip("\ufeff")


def _decode_utf16(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-16")  # the BOM says which byte order
    except UnicodeDecodeError as err:
        raise CorpusError(
            path, "not valid UTF-16 text despite its byte-order mark", _line_of(data, err.start) // 2 or 1
        ) from None


def _note(notes: list[str] | None, path: Path, text: str) -> None:
    if notes is not None:
        notes.append(f"{path.name}: {text}")


def _checked(path: Path, text: str) -> str:
    if not text.strip():
        raise CorpusError(path, "the file is empty")
    if "\x00" in text:
        raise CorpusError(
            path,
            "looks like a binary file (it holds NUL characters), not text",
            text.count("\n", 0, text.index("\x00")) + 1,
        )
    for lineno, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE_BYTES:
            raise CorpusError(
                path,
                f"line is {len(line) / 1e6:.1f} MB long; the limit is {MAX_LINE_BYTES / 1e6:.0f} MB per line",
                lineno,
            )
    return text


def checked_line(path: Path, raw: bytes, lineno: int, notes: list[str] | None = None) -> str:
    """One line of a streamed file, checked and decoded as `read_text` does a whole file."""
    size = len(raw) - raw.endswith(b"\n")
    if size > MAX_LINE_BYTES:
        raise CorpusError(
            path, f"line is {size / 1e6:.1f} MB long; the limit is {MAX_LINE_BYTES / 1e6:.0f} MB per line", lineno
        )
    raw = without_stray_nuls(path, raw, notes, lineno)
    if lineno == 1:
        return decode(path, raw, notes, lineno)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return decode(path, raw, notes, lineno)


def streams_as_jsonl(path: Path) -> bool:
    """Whether a file is JSON Lines that can be streamed line by line (bounded memory on a multi-GB snapshot).

    True for a .jsonl/.ndjson file starting with an object, and for a .json file whose first line is a
    whole JSON object (the arXiv snapshot is named arxiv-metadata-oai-snapshot.json).
    """
    kind = SUFFIXES.get(path.suffix.lower())
    if kind not in ("jsonl", "json") or not path.is_file():
        return False
    with path.open("rb") as handle:
        first = handle.readline(MAX_LINE_BYTES + 1)
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    first = first.removeprefix(codecs.BOM_UTF8).strip()
    if kind == "jsonl":
        return first.startswith(b"{") or not first
    import json

    try:
        return first.startswith(b"{") and isinstance(json.loads(first), dict)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def detect(path: Path, text: str) -> str:
    """The format of a decoded file: json, jsonl, xml, bibtex, ris, medline, table or listing.

    The content decides; the extension only breaks ties (a .txt of tab-separated columns is a table).
    Example: detect(Path("refs.txt"), "TY  - JOUR\\n...") == "ris"
    """
    head = text.lstrip("\ufeff \t\r\n")[:200_000]
    first = head[:1]
    if first in "[{":
        return "json" if _is_json_document(head, text) else "jsonl"
    if first == "<":
        return "xml"
    if RIS_RE.search(head[:20_000]):
        return "ris"
    if MEDLINE_RE.search(head[:20_000]):
        return "medline"
    if BIB_ENTRY_RE.search(head):
        return "bibtex"
    if is_table_header(head.split("\n", 1)[0]):
        return "table"
    by_name = SUFFIXES.get(path.suffix.lower())
    if by_name is None:
        raise CorpusError(path, f"unsupported file type '{path.suffix}'; use one of {', '.join(sorted(SUFFIXES))}")
    if by_name not in ("listing", "table"):
        raise CorpusError(
            path, f"not a {by_name.upper()} file as its name says: no {by_name.upper()} records found in it"
        )
    return by_name


def _is_json_document(head: str, text: str) -> bool:
    """A JSON array or object spanning the file, rather than one object per line."""
    if head.startswith("["):
        return True
    lines = [line for line in text.split("\n", 3)[:3] if line.strip()]
    import json

    try:
        json.loads(lines[0])
        return False  # the first line is a whole object: JSON Lines (or a one-record file, read the same)
    except (json.JSONDecodeError, IndexError):
        return True


def is_table_header(line: str) -> bool:
    """True when a first line is a CSV/TSV header naming an abstract or title column."""
    from .tabular import column_field

    delimiter = "\t" if line.count("\t") > line.count(",") else ","
    try:
        cells = next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return False
    fields = {column_field(c) for c in cells}
    return len(cells) >= 2 and bool(fields & {"abstract", "title"})
