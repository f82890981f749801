"""Reading the files users already have into paper records, refusing bad input clearly.

Formats: scraped listings (.txt, see `corpus`), JSON Lines (.jsonl, including the arXiv
metadata snapshot), CSV (.csv) and BibTeX (.bib). Every refusal is a `CorpusError` naming the
file and line. Out of scope: merging and indexing (see `corpus`, `index`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from .corpus import Entry, entry_to_paper, read_listing
from .errors import CorpusError
from .records import Paper

MAX_LINE_BYTES = 1_000_000
SUFFIXES = {".txt": "listing", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
            ".csv": "csv", ".bib": "bibtex", ".bibtex": "bibtex"}


def load_file(path: Path | str) -> list[Paper]:
    """Read one file into single-source paper records, or raise CorpusError."""
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise CorpusError(path, f"unsupported file type '{path.suffix}'; use one of {', '.join(sorted(SUFFIXES))}")
    text = read_text(path)
    reader = {"listing": lambda: read_listing(path, text), "jsonl": lambda: read_jsonl(path, text),
              "csv": lambda: read_csv(path, text), "bibtex": lambda: read_bibtex(path, text)}[kind]
    papers = reader()
    if not papers:
        raise CorpusError(path, "no papers found (each paper needs an abstract)")
    return papers


def read_text(path: Path) -> str:
    """Check a file's bytes (not empty, not binary, no huge line, UTF-8) and decode it."""
    if not path.is_file():
        raise CorpusError(path, "no such file")
    data = path.read_bytes()
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


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _require_abstract(path: Path, abstract, line: int) -> str:
    if not isinstance(abstract, str) or not abstract.strip():
        raise CorpusError(path, "record has an empty or missing abstract", line)
    return abstract


def _authors(value) -> list[str]:
    if isinstance(value, list):
        return [a if isinstance(a, str) else " ".join(p for p in reversed(a[:2]) if p) for a in value]
    if isinstance(value, str) and value.strip():
        return [a.strip() for a in re.split(r",| and |;", value) if a.strip()]
    return []


def record_to_entry(record: dict, line: int) -> Entry:
    """A JSON/CSV/BibTeX record (already holding an abstract) as a listing entry."""
    fields: dict = {}
    authors = _authors(record.get("authors_parsed") or record.get("authors") or record.get("author"))
    if authors:
        fields["authors"] = authors
        fields["authors_count"] = len(authors)
    date = record.get("date") or record.get("published")
    if not date and record.get("versions"):
        date = record["versions"][0].get("created")  # arXiv: first submission, not the last metadata update
    date = date or record.get("update_date") or record.get("year")
    if date:
        fields["date"] = str(date)
    if record.get("id"):
        fields["external_id"] = str(record["id"])
    url = record.get("url") or (f"https://arxiv.org/abs/{record['id']}" if _is_arxiv(record) else None)
    if url:
        fields["url"] = url
    venue = record.get("venue") or record.get("journal") or record.get("journal-ref") or record.get("booktitle")
    if venue:
        fields["venue"] = str(venue)
    title = record.get("title")
    return Entry(abstract=record["abstract"], title=str(title) if title else None, line=line, fields=fields)


def _is_arxiv(record: dict) -> bool:
    return bool(record.get("id")) and ("authors_parsed" in record or "update_date" in record or "versions" in record)


def read_jsonl(path: Path, text: str) -> list[Paper]:
    """JSON Lines: one object per line with title/abstract (+ id, authors, date, url); arXiv snapshot too."""
    papers = []
    # split on "\n" only: str.splitlines() would also break JSON strings holding U+2028, U+0085, ...
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusError(path, f"not valid JSON ({err.msg})", lineno) from None
        if not isinstance(record, dict):
            raise CorpusError(path, "each line must be a JSON object with an 'abstract'", lineno)
        _require_abstract(path, record.get("abstract"), lineno)
        papers.append(entry_to_paper(record_to_entry(record, lineno), path.name, len(papers)))
    return papers


def read_csv(path: Path, text: str) -> list[Paper]:
    """CSV with a header row naming at least an `abstract` column."""
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if "abstract" not in columns:
        raise CorpusError(path, f"no 'abstract' column in the header (columns: {', '.join(columns) or 'none'})", 1)
    papers = []
    for row in reader:
        record = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        _require_abstract(path, record.get("abstract"), reader.line_num)
        papers.append(entry_to_paper(record_to_entry(record, reader.line_num), path.name, len(papers)))
    return papers


BIB_ENTRY_RE = re.compile(r"@(\w+)\s*\{\s*([^,\s]*)\s*,", re.S)


def read_bibtex(path: Path, text: str) -> list[Paper]:
    """BibTeX entries with `abstract` fields; @comment/@string/@preamble are skipped."""
    papers = []
    for match in BIB_ENTRY_RE.finditer(text):
        kind, key = match.group(1).lower(), match.group(2)
        if kind in {"comment", "string", "preamble"}:
            continue
        line = _line_of(text.encode(), len(text[: match.start()].encode()))
        fields = _bib_fields(path, text, match.end(), line)
        fields = {k: _unbrace(v) for k, v in fields.items()}
        if fields.get("author"):
            fields["author"] = [_bib_name(a) for a in re.split(r"\s+and\s+", fields["author"]) if a.strip()]
        fields.setdefault("id", key)
        _require_abstract(path, fields.get("abstract"), line)
        papers.append(entry_to_paper(record_to_entry(fields, line), path.name, len(papers)))
    return papers


def _bib_fields(path: Path, text: str, pos: int, line: int) -> dict:
    """Parse `name = {value}` / "value" / bare pairs up to the entry's closing brace."""
    fields = {}
    field_re = re.compile(r"\s*,?\s*([\w-]+)\s*=\s*")
    while pos < len(text):
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos < len(text) and text[pos] == "}":
            return fields
        m = field_re.match(text, pos)
        if not m:
            raise CorpusError(path, "malformed BibTeX entry (expected 'name = value')", line)
        value, pos = _bib_value(path, text, m.end(), line)
        fields[m.group(1).lower()] = value
    raise CorpusError(path, "BibTeX entry is not closed with '}'", line)


def _bib_value(path: Path, text: str, pos: int, line: int) -> tuple[str, int]:
    opener = text[pos: pos + 1]
    if opener in ("{", '"'):
        closer, depth, start = ("}" if opener == "{" else '"'), 0, pos + 1
        for i in range(pos, len(text)):
            ch = text[i]
            if opener == "{" and ch == "{":
                depth += 1
            elif ch == closer and (opener == '"' and i > pos or opener == "{"):
                depth -= 1 if opener == "{" else 0
                if opener == '"' or depth == 0:
                    return text[start:i], i + 1
        raise CorpusError(path, "unbalanced braces or quotes in BibTeX entry", line)
    m = re.compile(r"[^,}\s]+").match(text, pos)
    if not m:
        raise CorpusError(path, "missing BibTeX field value", line)
    return m.group(0), m.end()


def _bib_name(name: str) -> str:
    """One BibTeX author as 'First Last'. Example: _bib_name("Chen, Tianlong") gives "Tianlong Chen"."""
    last, comma, first = name.partition(",")
    return f"{first.strip()} {last.strip()}" if comma else name.strip()


def _unbrace(value: str) -> str:
    return " ".join(value.replace("{", "").replace("}", "").split())


def iter_papers(path: Path | str):
    """Papers of one file, one at a time: JSON Lines are streamed record by record (bounded memory).

    Other formats are read whole with `load_file`. Errors are the same `CorpusError`s, raised
    when the bad line is reached. Example: sum(1 for _ in iter_papers("arxiv.jsonl")).
    """
    path = Path(path)
    if SUFFIXES.get(path.suffix.lower()) != "jsonl":
        yield from load_file(path)
        return
    if not path.is_file():
        raise CorpusError(path, "no such file")
    count = 0
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            line = _checked_line(path, raw, lineno)
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise CorpusError(path, f"not valid JSON ({err.msg})", lineno) from None
            if not isinstance(record, dict):
                raise CorpusError(path, "each line must be a JSON object with an 'abstract'", lineno)
            _require_abstract(path, record.get("abstract"), lineno)
            yield entry_to_paper(record_to_entry(record, lineno), path.name, count)
            count += 1
    if not count:
        raise CorpusError(path, "the file is empty")


def _checked_line(path: Path, raw: bytes, lineno: int) -> str:
    """One line of a streamed file, refused like `read_text` refuses a whole file."""
    size = len(raw) - raw.endswith(b"\n")
    if size > MAX_LINE_BYTES:
        raise CorpusError(path, f"line is {size / 1e6:.1f} MB long; the limit is {MAX_LINE_BYTES / 1e6:.0f} MB per line", lineno)
    if b"\x00" in raw:
        raise CorpusError(path, "looks like a binary file (it holds NUL bytes), not text", lineno)
    try:
        return raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
    except UnicodeDecodeError as err:
        raise CorpusError(path, f"not UTF-8 text (byte 0x{raw[err.start]:02x}); re-save it as UTF-8", lineno) from None
