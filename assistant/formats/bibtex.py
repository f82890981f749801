"""BibTeX and BibLaTeX files (Zotero, Mendeley, JabRef, Paperpile, PMLR proceedings, al-folio pages).

Parsed by `bibtexparser` 2.x (which resolves @string macros); LaTeX in text fields becomes
Unicode (see `latex`). An entry with `crossref` inherits year, date, month and booktitle (the
parent's title) from its @proceedings entry, which is not itself a paper. A malformed entry or a
duplicate key is skipped and reported. Out of scope: @set, xdata and BibLaTeX's full inheritance rules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from ..errors import CorpusError
from ..records import RecordProblem
from .latex import latex_to_text
from .record import Problems, Record

FAILURES = {"DuplicateBlockKeyBlock": "duplicate key"}
INHERITED = ("year", "date", "month", "booktitle", "publisher", "series", "eventtitle")
VENUE_FIELDS = (
    "journal",
    "journaltitle",
    "booktitle",
    "eventtitle",
    "series",
    "howpublished",
    "publisher",
    "institution",
    "school",
)


def read_bibtex(path: Path, text: str, problems: Problems) -> Iterator[Record]:
    """Records of a .bib file; entries referenced by `crossref` give fields, not papers."""
    import bibtexparser

    logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)
    library = bibtexparser.parse_string(text, parse_stack=[])  # values stay raw: we resolve macros and `#` below
    strings = {s.key.lower(): _resolve(str(s.value), {}) for s in library.strings}
    entries = {
        e.key.lower(): e
        for e in sorted(library.entries + _repairable(path, library, problems), key=lambda e: e.start_line)
    }
    if not entries:
        raise CorpusError(path, "no BibTeX entries found (expected lines like '@article{key,')", 1)
    fields = {key: _fields(e, strings) for key, e in entries.items()}
    parents = {f.get("crossref", "").lower() for f in fields.values()} - {""}
    for key, entry in entries.items():
        if key in parents:
            continue
        own = fields[key]
        parent = fields.get(own.get("crossref", "").lower())
        yield _record(entry.key, entry.start_line + 1, _inherit(own, parent) if parent else own)


def _repairable(path: Path, library, problems: Problems) -> list:
    """Report the blocks bibtexparser could not take; return the entries that only repeat a field."""
    repaired = []
    for block in library.failed_blocks:
        name = type(block).__name__
        entry = block.ignore_error_block if name == "DuplicateFieldKeyBlock" else None
        if entry is not None and hasattr(entry, "fields"):
            repaired.append(entry)
            twice = ", ".join(sorted(block.duplicate_keys))
            problems.add(
                RecordProblem(
                    path.name,
                    entry.start_line + 1,
                    entry.key,
                    f"field given twice ({twice}); the first kept",
                    "repaired",
                )
            )
        else:
            problems.add(
                RecordProblem(
                    path.name,
                    block.start_line + 1,
                    getattr(block, "key", None),
                    FAILURES.get(name, "malformed BibTeX entry"),
                    "skipped",
                )
            )
    return repaired


def _fields(entry, strings: dict[str, str]) -> dict[str, str]:
    """An entry's fields by lower-case name, macros resolved; a repeated field keeps its first value."""
    fields: dict[str, str] = {}
    for f in entry.fields:
        fields.setdefault(f.key.lower(), _resolve(str(f.value), strings))
    return fields


def _resolve(value: str, strings: dict[str, str]) -> str:
    """A raw BibTeX value with @string macros and `#` concatenation resolved, enclosing braces/quotes removed.

    Example: _resolve('{Proc. } # icml', {"icml": "ICML"}) == "Proc. ICML"
    """
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(value + "#"):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == "#" and depth == 0 and not quoted:
            parts.append(value[start:i].strip())
            start = i + 1
    text = ""
    for part in parts:
        if len(part) >= 2 and (part[0], part[-1]) in (("{", "}"), ('"', '"')):
            text += part[1:-1]
        else:
            text += strings.get(part.lower(), part)
    return text


def _inherit(child: dict, parent: dict) -> dict:
    """Fields a crossref child lacks, taken from its parent; the parent's title is the child's booktitle."""
    merged = dict(child)
    if parent.get("title"):
        merged.setdefault("booktitle", parent["title"])
    for name in INHERITED:
        if parent.get(name):
            merged.setdefault(name, parent[name])
    return merged


def _record(key: str, line: int, fields: dict[str, str]) -> Record:
    text = lambda name: latex_to_text(fields.get(name)) or None  # noqa: E731
    raw = lambda name: (fields.get(name) or "").replace("{", "").replace("}", "").replace("\\_", "_").strip() or None  # noqa: E731
    arxiv = raw("eprint") if (raw("archiveprefix") or raw("eprinttype") or "arxiv").lower() == "arxiv" else None
    return Record(
        line=line,
        key=key,
        title=text("title"),
        abstract=text("abstract"),
        authors=_people(fields.get("author", "")),
        date=raw("date"),
        year=raw("year"),
        month=raw("month"),
        day=raw("day"),
        venue=next((text(n) for n in VENUE_FIELDS if fields.get(n)), None),
        doi=raw("doi"),
        arxiv_id=arxiv,
        pmid=raw("pmid"),
        url=raw("url"),
    )


def _people(value: str) -> list[str]:
    """BibTeX names ("Last, First and First Last") as "First Last" in Unicode."""
    from bibtexparser.middlewares.names import (
        InvalidNameError,
        parse_single_name_into_parts,
        split_multiple_persons_names,
    )

    people = []
    for name in split_multiple_persons_names(value or ""):
        if name.strip().lower() == "others":
            continue
        try:
            parts = parse_single_name_into_parts(name)
            words = parts.first + parts.von + parts.last + parts.jr
        except InvalidNameError:
            words = [name]
        people.append(latex_to_text(" ".join(words)))
    return [p for p in people if p]
