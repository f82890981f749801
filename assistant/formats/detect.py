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
SUFFIXES = {".txt": "listing", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "table",
            ".tsv": "table", ".tab": "table", ".bib": "bibtex", ".bibtex": "bibtex", ".biblatex": "bibtex",
            ".ris": "ris", ".nbib": "medline", ".medline": "medline", ".xml": "xml", ".atom": "xml"}
BIB_ENTRY_RE = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.M)
RIS_RE = re.compile(r"^TY  - ", re.M)
MEDLINE_RE = re.compile(r"^PMID- ?\d", re.M)


def read_text(path: Path) -> str:
    """Check a file's bytes (present, not empty, not binary, no huge line) and decode UTF-8 or UTF-16."""
    if not path.is_file():
        raise CorpusError(path, "no such file")
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _checked(path, _decode_utf16(path, data))
    if not data.strip():
        raise CorpusError(path, "the file is empty")
    if b"\x00" in data:
        raise CorpusError(path, "looks like a binary file (it holds NUL bytes), not text", _line_of(data, data.index(b"\x00")))
    for lineno, line in enumerate(data.split(b"\n"), 1):
        if len(line) > MAX_LINE_BYTES:
            raise CorpusError(path, f"line is {len(line) / 1e6:.1f} MB long; the limit is {MAX_LINE_BYTES / 1e6:.0f} MB per line", lineno)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CorpusError(path, f"not UTF-8 text (byte 0x{data[err.start]:02x}); re-save it as UTF-8", _line_of(data, err.start)) from None


def _decode_utf16(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-16")  # the BOM says which byte order
    except UnicodeDecodeError as err:
        raise CorpusError(path, "not valid UTF-16 text despite its byte-order mark", _line_of(data, err.start) // 2 or 1) from None


def _checked(path: Path, text: str) -> str:
    if not text.strip():
        raise CorpusError(path, "the file is empty")
    if "\x00" in text:
        raise CorpusError(path, "looks like a binary file (it holds NUL characters), not text", text.count("\n", 0, text.index("\x00")) + 1)
    for lineno, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE_BYTES:
            raise CorpusError(path, f"line is {len(line) / 1e6:.1f} MB long; the limit is {MAX_LINE_BYTES / 1e6:.0f} MB per line", lineno)
    return text


def checked_line(path: Path, raw: bytes, lineno: int) -> str:
    """One line of a streamed file, refused as `read_text` refuses a whole file."""
    size = len(raw) - raw.endswith(b"\n")
    if size > MAX_LINE_BYTES:
        raise CorpusError(path, f"line is {size / 1e6:.1f} MB long; the limit is {MAX_LINE_BYTES / 1e6:.0f} MB per line", lineno)
    if b"\x00" in raw:
        raise CorpusError(path, "looks like a binary file (it holds NUL bytes), not text", lineno)
    try:
        return raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
    except UnicodeDecodeError as err:
        raise CorpusError(path, f"not UTF-8 text (byte 0x{raw[err.start]:02x}); re-save it as UTF-8", lineno) from None


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
        raise CorpusError(path, f"not a {by_name.upper()} file as its name says: no {by_name.upper()} records found in it")
    return by_name


def _is_json_document(head: str, text: str) -> bool:
    """A JSON array or object spanning the file, rather than one object per line."""
    if head.startswith("["):
        return True
    lines = [l for l in text.split("\n", 3)[:3] if l.strip()]
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
