"""Reading the bibliography files researchers have into paper records, reporting what was skipped.

Formats (told from the content; the extension breaks ties): scraped listings (.txt, see
`corpus`), BibTeX/BibLaTeX, RIS, MEDLINE/.nbib, PubMed XML, Atom (arXiv API), JSON (arrays,
CSL-JSON, OpenAlex, Crossref, Semantic Scholar), JSON Lines (arXiv snapshot), CSV/TSV exports.
File-level problems (missing, empty, binary, wrong encoding, a huge line, not the format it
claims) raise `CorpusError` naming the file and line; record-level ones (no abstract, no title,
an unreadable date, a malformed entry) skip or repair the record and are reported in `Problems`.
Out of scope: merging copies (`corpus.merge`) and indexing (`index`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..corpus import read_listing
from ..errors import CorpusError
from ..records import Paper
from .detect import MAX_LINE_BYTES, SUFFIXES, detect, read_text, streams_as_jsonl
from .record import Problems, Record, to_paper

__all__ = [
    "MAX_LINE_BYTES",
    "SUFFIXES",
    "Loaded",
    "Problems",
    "Record",
    "detect",
    "iter_papers",
    "load_file",
    "load_files",
    "read_file",
    "read_text",
    "refuse_if_strict",
]


def _readers():
    from .bibtex import read_bibtex
    from .jsonish import read_json, read_jsonl
    from .tabular import read_table
    from .tagged import read_medline, read_ris
    from .xmlish import read_xml

    return {
        "json": read_json,
        "jsonl": read_jsonl,
        "table": read_table,
        "ris": read_ris,
        "medline": read_medline,
        "xml": read_xml,
        "bibtex": read_bibtex,
    }


def records_of(path: Path, text: str, kind: str, problems: Problems) -> Iterator[Record]:
    """The raw records of one decoded file of a known format (not a listing)."""
    return _readers()[kind](path, text, problems)


def iter_papers(path: Path | str, problems: Problems | None = None) -> Iterator[Paper]:
    """Yield the papers of one file; skipped and repaired records go into `problems`.

    Raises CorpusError for a file-level problem, possibly after some papers were yielded (a
    JSON Lines file is streamed and checked line by line). Example: sum(1 for _ in iter_papers("arxiv.jsonl")).
    """
    path = Path(path)
    problems = problems if problems is not None else Problems()
    if streams_as_jsonl(path):
        from .jsonish import stream_jsonl

        records = stream_jsonl(path, problems)
    else:
        text = read_text(path, problems.notes)
        kind = detect(path, text)
        if kind == "listing":
            papers = read_listing(path, text)
            if not papers:
                raise CorpusError(path, "no papers found (each paper needs an abstract)")
            yield from papers
            return
        records = records_of(path, text, kind, problems)
    found = kept = 0
    skipped_before = problems.skipped
    for position, record in enumerate(records):
        found += 1
        paper = to_paper(record, path.name, position, problems)
        if paper is not None:
            kept += 1
            yield paper
    if not found and problems.skipped == skipped_before:
        raise CorpusError(path, "no records found in it" if path.stat().st_size else "the file is empty")
    if not kept:
        first = next((p for p in reversed(problems.items) if p.file == path.name), None)
        raise CorpusError(path, "no papers found: every record was skipped" + (f" (last: {first})" if first else ""))


def refuse_if_strict(path: Path, papers: Iterator[Paper], problems: Problems, strict: bool) -> Iterator[Paper]:
    """Pass papers through; with `strict`, raise CorpusError once a record of this file was skipped or repaired."""
    before = problems.count
    for paper in papers:
        if strict and problems.count > before:
            break
        yield paper
    if strict and problems.count > before:
        first = problems.items[min(before, len(problems.items) - 1)]
        raise CorpusError(
            path,
            f"a record was {first.action} (--strict): {first.key or 'record'}: {first.problem}",
            first.line or None,
        )


@dataclass
class Loaded:
    """The papers read from some files and what their readers skipped or repaired."""

    papers: list[Paper] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)


def read_file(path: Path | str) -> Loaded:
    """All papers of one file with its per-record problems, or CorpusError."""
    loaded = Loaded()
    loaded.papers = list(iter_papers(path, loaded.problems))
    return loaded


def load_files(paths: list[Path], strict: bool = False) -> Loaded:
    """Papers of several files; with `strict`, any skipped or repaired record refuses its file."""
    loaded = Loaded()
    for path in paths:
        loaded.papers += refuse_if_strict(Path(path), iter_papers(path, loaded.problems), loaded.problems, strict)
    return loaded


def load_file(path: Path | str, strict: bool = False) -> list[Paper]:
    """Read one file into single-source paper records, or raise CorpusError."""
    return load_files([Path(path)], strict=strict).papers
