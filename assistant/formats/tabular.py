"""CSV and TSV exports: Zotero, Mendeley, IEEE Xplore, Scopus, Web of Science, ACM, Semantic Scholar.

Columns are matched by name (case, spaces and punctuation ignored), the more specific name first
("Author full names" before "Authors", WoS "AF" before "AU"). Out of scope: spreadsheets (.xlsx).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import CorpusError
from ..records import RecordProblem
from .fields import people
from .record import Problems, Record

# field: column names in order of preference (normalised: lower-case letters and digits only)
COLUMNS = {
    "title": ["title", "documenttitle", "articletitle", "papertitle", "ti"],
    "abstract": ["abstract", "abstractnote", "ab", "paperabstract"],
    "authors": ["authorfullnames", "af", "author", "authors", "au", "authorsnames"],
    "year": ["publicationyear", "year", "py", "pubyear"],
    "date": ["date", "publicationdate", "datepublished", "issued", "pd", "onlinedate"],
    "month": ["month", "pubmonth"],
    "venue": [
        "publicationtitle",
        "sourcetitle",
        "journal",
        "venue",
        "journalname",
        "so",
        "booktitle",
        "conferencename",
        "proceedingstitle",
        "containertitle",
        "source",
    ],
    "doi": ["doi", "di"],
    "url": ["url", "link", "pdflink", "landingpage"],
    "arxiv_id": ["arxivid", "arxiv", "eprint"],
    "pmid": ["pmid", "pubmedid", "pm"],
    # not IEEE's "Document Identifier", which names the kind of document ("IEEE Conferences"), not the paper
    "key": ["key", "id", "paperid", "ut", "eid", "citationkey", "articlenumber", "accessionnumber"],
}
FIELD_OF = {name: field for field, names in COLUMNS.items() for name in names}
RANK = {name: rank for names in COLUMNS.values() for rank, name in enumerate(names)}


def column_field(column: str) -> str | None:
    """The record field a column holds. Example: column_field("Abstract Note") == "abstract"."""
    return FIELD_OF.get(re.sub(r"[^0-9a-z]+", "", column.lower()))


def choose_columns(header: list[str]) -> dict[str, str]:
    """For each record field, the header column to read it from (the most specific one present)."""
    chosen: dict[str, str] = {}
    for column in header:
        field = column_field(column)
        if field is None:
            continue
        name = re.sub(r"[^0-9a-z]+", "", column.lower())
        if field not in chosen or RANK[name] < RANK[re.sub(r"[^0-9a-z]+", "", chosen[field].lower())]:
            chosen[field] = column
    return chosen


def read_table(path: Path, text: str, problems: Problems | None = None) -> Iterator[Record]:
    """Records of a CSV/TSV export with a header row naming at least an abstract column.

    Blank lines above the header are skipped; a row that breaks the CSV syntax (a file cut off inside
    a quoted field) ends the reading, reported in `problems`, with the rows before it kept.
    """
    problems = problems if problems is not None else Problems()
    body = text.lstrip("\r\n \t")
    offset = text[: len(text) - len(body)].count("\n")  # blank lines above the header
    first = body.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(body), delimiter=delimiter)
    try:
        header = [h for h in reader.fieldnames or [] if h is not None]
    except csv.Error:  # a stray carriage return inside the header line
        raise CorpusError(path, "the header row is not valid CSV; export the file again as CSV", offset + 1) from None
    columns = choose_columns(header)
    if "abstract" not in columns:
        names = ", ".join(c.strip() for c in header) or "none"
        raise CorpusError(
            path,
            f"no 'abstract' column in the header (columns: {names}); export the records again "
            "with their abstracts (a column named Abstract, Abstract Note or AB)",
            offset + 1,
        )
    line = 1
    try:
        for row in reader:
            line, start = reader.line_num, line + 1
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            yield _record(row, columns, start + offset)
    except csv.Error:
        problems.add(
            RecordProblem(
                path.name,
                line + 1 + offset,
                None,
                "broken CSV row (a quoted field never ends); the rest of the file was not read",
                "skipped",
            )
        )


def _record(row: dict, columns: dict[str, str], line: int) -> Record:
    value = {field: (row.get(column) or "").strip() for field, column in columns.items()}
    authors = people(re.sub(r"\s*\(\d+\)", "", value.get("authors", "")))  # Scopus: "Smith, John (57190)"
    return Record(
        line=line,
        key=value.get("key") or None,
        title=value.get("title"),
        abstract=value.get("abstract"),
        authors=authors,
        date=value.get("date") or None,
        year=value.get("year") or None,
        month=value.get("month") or None,
        venue=value.get("venue"),
        doi=value.get("doi") or None,
        url=value.get("url") or None,
        arxiv_id=value.get("arxiv_id") or None,
        pmid=value.get("pmid") or None,
    )
