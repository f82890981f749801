"""Tagged-line formats: RIS (Zotero, Mendeley, EndNote, publishers) and MEDLINE/.nbib (PubMed).

Parsed by `rispy` and `nbib`; line numbers come from each record's first tag ("TY  -", "PMID-").
Out of scope: EndNote XML and Refer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ..errors import CorpusError
from .fields import people
from .record import Record


def _start_lines(text: str, tag: str) -> list[int]:
    return [i for i, line in enumerate(text.split("\n"), 1) if re.match(tag, line)]


def read_ris(path: Path, text: str) -> Iterator[Record]:
    """Records of a .ris file: TI/T1 title, AB/N2 abstract, AU/A1 authors, PY/Y1/DA dates, DO, UR."""
    import rispy

    try:
        entries = rispy.loads(text.replace("\r\n", "\n"))
    except Exception as err:  # rispy raises plain IOError/ValueError on broken tags
        raise CorpusError(path, f"not valid RIS ({err})") from None
    lines = _start_lines(text, r"TY  - ")
    for i, entry in enumerate(entries):
        first = lambda *names: next((entry[n] for n in names if entry.get(n)), None)  # noqa: E731
        urls = entry.get("urls") or []
        yield Record(
            line=lines[i] if i < len(lines) else 0, key=first("id"),
            title=first("title", "primary_title", "translated_title"),
            abstract=first("abstract", "notes_abstract"),
            authors=people(list(entry.get("authors") or entry.get("first_authors") or [])),
            date=first("date"), year=first("year", "publication_year"),
            venue=first("journal_name", "secondary_title", "alternate_title1", "alternate_title3", "alternate_title2"),
            doi=first("doi"), url=next((u for u in urls if u.lower().startswith("http")), urls[0] if urls else None),
        )


def read_medline(path: Path, text: str) -> Iterator[Record]:
    """Records of a MEDLINE/.nbib file: PMID, TI, AB, FAU/AU, DP, JT, the DOI from LID/AID."""
    import nbib

    try:
        entries = nbib.read(text.replace("\r\n", "\n"))
    except Exception as err:
        raise CorpusError(path, f"not valid MEDLINE ({err})") from None
    lines = _start_lines(text, r"PMID- ?\d")
    for i, entry in enumerate(entries):
        authors = [a.get("author") or " ".join(filter(None, (a.get("first_name"), a.get("last_name")))) for a in entry.get("authors") or []]
        pmid = str(entry.get("pubmed_id") or "") or None
        yield Record(
            line=lines[i] if i < len(lines) else 0, key=pmid, title=entry.get("title"), abstract=entry.get("abstract"),
            authors=people([a for a in authors if a]), date=entry.get("publication_date"),
            venue=entry.get("journal") or entry.get("journal_abbreviated"), doi=entry.get("doi"), pmid=pmid,
            url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else None,
        )
