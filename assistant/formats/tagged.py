"""Tagged-line formats: RIS (Zotero, Mendeley, EndNote, publishers) and MEDLINE/.nbib (PubMed).

Each record is cut out of the file (blank and stray lines dropped) and parsed by `rispy` or `nbib`
on its own, so one broken record costs only itself; line numbers come from its first tag.
Out of scope: EndNote XML and Refer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ..records import RecordProblem
from .fields import people
from .record import Problems, Record

TAG_LINE = {"ris": re.compile(r"^[A-Z][A-Z0-9]  -( |$)"), "medline": re.compile(r"^[A-Z][A-Z0-9]{1,3} *- ")}
CONTINUATION = {"ris": re.compile(r"^\S"), "medline": re.compile(r"^ {2,}\S")}  # RIS values may wrap; MEDLINE indents


def record_blocks(path: Path, text: str, kind: str, problems: Problems) -> Iterator[tuple[int, str]]:
    """(first line, text) of each whole record of a RIS or MEDLINE file, blank and stray lines dropped.

    A record runs from its first tag ("TY  -" / "PMID-") to its end ("ER  -" / the next record); a RIS
    record with no "ER  -" (a file cut off) is reported and skipped, as are lines that fit no record.
    """
    opens = re.compile(r"^TY  - " if kind == "ris" else r"^PMID- ?\d")
    block: list[str] = []
    first = stray = 0
    for lineno, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = line.rstrip()
        if not line.strip():
            continue
        if opens.match(line):
            if block:
                yield from _closed(path, kind, first, block, problems)
            block, first = [line], lineno
        elif block and (TAG_LINE[kind].match(line) or CONTINUATION[kind].match(line) and len(block) > 1):
            block.append(line)
            if kind == "ris" and line.startswith("ER  -"):
                yield first, "\n".join(block) + "\n"
                block = []
        else:
            stray += 1
    if block:
        yield from _closed(path, kind, first, block, problems)
    if stray:
        problems.notes.append(f"{path.name}: {stray} line{'s' * (stray > 1)} outside any record ignored")


def _closed(path: Path, kind: str, first: int, block: list[str], problems: Problems) -> Iterator[tuple[int, str]]:
    if kind == "ris":  # a RIS record ends with ER; one that does not was cut off
        problems.add(RecordProblem(path.name, first, None, "record cut off (no 'ER  -' line)", "skipped"))
        return
    yield first, "\n".join(block) + "\n"


def read_ris(path: Path, text: str, problems: Problems | None = None) -> Iterator[Record]:
    """Records of a .ris file: TI/T1 title, AB/N2 abstract, AU/A1 authors, PY/Y1/DA dates, DO, UR."""
    import rispy

    for line, entry in parsed_records(path, text, "ris", rispy.loads, problems):
        yield _ris_record(entry, line)


def parsed_records(path: Path, text: str, kind: str, parse, problems: Problems | None) -> Iterator[tuple[int, dict]]:
    """(first line, entry) of each record `parse` can read; one it cannot is reported and skipped."""
    problems = problems if problems is not None else Problems()
    for line, block in record_blocks(path, text, kind, problems):
        try:
            entries = parse(block)
        except Exception:  # rispy and nbib raise plain IOError/ValueError/KeyError on broken tags
            name = "RIS" if kind == "ris" else "MEDLINE"
            problems.add(
                RecordProblem(
                    path.name, line, None, f"not a valid {name} record (a tag it needs is missing or broken)", "skipped"
                )
            )
            continue
        for entry in entries:
            yield line, entry


def _ris_record(entry: dict, line: int) -> Record:
    first = lambda *names: next((entry[n] for n in names if entry.get(n)), None)  # noqa: E731
    urls = entry.get("urls") or []
    return Record(
        line=line,
        key=first("id"),
        title=first("title", "primary_title", "translated_title"),
        abstract=first("abstract", "notes_abstract"),
        authors=people(list(entry.get("authors") or entry.get("first_authors") or [])),
        date=first("date"),
        year=first("year", "publication_year"),
        venue=first("journal_name", "secondary_title", "alternate_title1", "alternate_title3", "alternate_title2"),
        doi=first("doi"),
        url=next((u for u in urls if u.lower().startswith("http")), urls[0] if urls else None),
    )


def read_medline(path: Path, text: str, problems: Problems | None = None) -> Iterator[Record]:
    """Records of a MEDLINE/.nbib file: PMID, TI, AB, FAU/AU, DP, JT, the DOI from LID/AID."""
    import nbib

    for line, entry in parsed_records(path, text, "medline", nbib.read, problems):
        yield _medline_record(entry, line)


def _medline_record(entry: dict, line: int) -> Record:
    authors = [
        a.get("author") or " ".join(filter(None, (a.get("first_name"), a.get("last_name"))))
        for a in entry.get("authors") or []
    ]
    pmid = str(entry.get("pubmed_id") or "") or None
    return Record(
        line=line,
        key=pmid,
        title=entry.get("title"),
        abstract=entry.get("abstract"),
        authors=people([a for a in authors if a]),
        date=entry.get("publication_date"),
        venue=entry.get("journal") or entry.get("journal_abbreviated"),
        doi=entry.get("doi"),
        pmid=pmid,
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else None,
    )
