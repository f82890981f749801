"""JSON and JSON Lines: plain records, CSL-JSON, OpenAlex, Crossref, Semantic Scholar, arXiv snapshot.

A JSON file may be an array of records, one record, or an API response (`results` for OpenAlex,
`message.items` or `message` for Crossref, `data` for Semantic Scholar); JSON Lines holds one
record per line. Each record's flavour is told from its keys. OpenAlex abstracts are rebuilt from
`abstract_inverted_index`; Crossref's JATS markup is stripped; arXiv's LaTeX becomes Unicode.
Out of scope: fetching from these APIs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import CorpusError
from ..records import RecordProblem
from .detect import checked_line
from .fields import clean, inverted_index_text, iso_date, normalise_doi, people, strip_tags
from .latex import latex_to_text
from .record import Problems, Record


def read_json(path: Path, text: str, problems: Problems | None = None) -> Iterator[Record]:
    """Records of a JSON document (array, single record or API response).

    A damaged document (cut off, a record broken, two documents in one file, text after the end) gives
    its intact records; each broken one is reported in `problems`.
    """
    try:
        documents = [json.loads(text)]
    except json.JSONDecodeError as err:
        documents = list(_salvaged(path, text, err, problems if problems is not None else Problems()))
    found = False
    for document in documents:
        records = unwrap(document)
        if records is None:
            continue
        found = True
        for record in records:
            if isinstance(record, dict):
                yield from_json(record, record.pop(LINE, 0) if isinstance(record.get(LINE), int) else 0)
    if not found:
        raise CorpusError(
            path,
            "JSON holds no paper records (expected an array of records, a record, or an API "
            "response with 'results', 'message' or 'data')",
            1,
        )


RECORD_LIST_RE = re.compile(r'"(?:results|items|data|records|papers)"\s*:\s*\[\s*\{')
LINE = "\x00line"  # where a salvaged record started, kept on the record until it is read


def _salvaged(path: Path, text: str, err: json.JSONDecodeError, problems: Problems) -> Iterator:
    """The documents of a file that is not one valid JSON document: several documents, or a damaged one."""
    decoder, pos, yielded = json.JSONDecoder(), _skip_space(text, 0), False
    while pos < len(text):
        try:
            document, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            records = _salvaged_records(path, text, pos, decoder, problems)
            if records is None:
                if not yielded:
                    raise CorpusError(
                        path,
                        f"not valid JSON (it breaks at column {err.colno}) and no whole "
                        "record could be found in it; export the file again",
                        err.lineno,
                    ) from None
                problems.notes.append(f"{path.name}: text after the JSON document ignored (line {_line(text, pos)})")
                return
            yield records
            return
        yield document
        yielded = True
        pos = _skip_space(text, pos)


def _salvaged_records(path: Path, text: str, start: int, decoder: json.JSONDecoder, problems: Problems) -> list | None:
    """The whole records of a damaged document's record list, from `start`; None when it has no record list."""
    opening = (RECORD_LIST_RE.search(text, start) if not text.startswith("[", start) else None) or re.compile(
        r"\[\s*\{"
    ).search(text, start)
    if opening is None:
        return None
    first = opening.end() - 1
    line_start = text.rfind("\n", 0, first) + 1
    indent = text[line_start:first]
    # the next record starts where a "{" stands at the first record's indentation (pretty-printed files),
    # or after "}," (files on one line)
    pattern = re.compile(r"\n" + re.escape(indent) + r"\{" if indent.strip() == "" and indent else r"\}\s*,\s*(\{)")
    records: list = []
    pos = first
    while pos < len(text) and text[pos] == "{":
        try:
            record, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            problems.add(
                RecordProblem(
                    path.name,
                    _line(text, pos),
                    None,
                    f"broken record (the JSON breaks on line {err.lineno})",
                    "skipped",
                    len(records) + 1,
                )
            )
            found = pattern.search(text, pos + 1)
            if found is None:
                break
            pos = found.end() - 1
            continue
        if isinstance(record, dict):
            record[LINE] = _line(text, pos)
        records.append(record)
        pos = _skip_space(text, end)
        if text.startswith(",", pos):
            pos = _skip_space(text, pos + 1)
        elif not text.startswith("{", pos):
            found = pattern.search(text, pos)
            if found is None or text.startswith("]", pos) and _is_end(text, pos):
                break
            pos = found.end() - 1
    return records


def _is_end(text: str, pos: int) -> bool:
    """Whether a "]" closes the record list for good (nothing but closing brackets follow)."""
    return not re.sub(r"[\s\]\}]", "", text[pos : pos + 200])


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def unwrap(document) -> list | None:
    """The records in a JSON document. Example: unwrap({"message": {"items": [a]}}) == [a]."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        return None
    for name in ("results", "data", "items", "records", "papers"):
        if isinstance(document.get(name), list):
            return document[name]
    message = document.get("message")
    if isinstance(message, dict):
        return message["items"] if isinstance(message.get("items"), list) else [message]
    return [document]


def read_jsonl(path: Path, text: str, problems: Problems | None = None) -> Iterator[Record]:
    """Records of a JSON Lines file, one object per line (the arXiv metadata snapshot included)."""
    problems = problems if problems is not None else Problems()
    # split on "\n" only: str.splitlines() would also break JSON strings holding U+2028, U+0085, ...
    for lineno, line in enumerate(text.split("\n"), 1):
        yield from _line_records(path, line, lineno, problems)


def stream_jsonl(path: Path, problems: Problems | None = None) -> Iterator[Record]:
    """Records of a JSON Lines file read line by line, so memory stays bounded on a multi-GB snapshot."""
    problems = problems if problems is not None else Problems()
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            yield from _line_records(path, checked_line(path, raw, lineno, problems.notes), lineno, problems)


def _line_records(path: Path, line: str, lineno: int, problems: Problems) -> Iterator[Record]:
    """The records of one line; a line that is not a JSON object is reported and skipped."""
    if not line.strip():
        return
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        problems.add(
            RecordProblem(
                path.name, lineno, None, f"not a valid JSON record (it breaks at column {err.colno})", "skipped"
            )
        )
        return
    if not isinstance(record, dict):
        problems.add(RecordProblem(path.name, lineno, None, "not a JSON object with an 'abstract'", "skipped"))
        return
    for one in (unwrap(record) or []) if is_response(record) else [record]:  # an API response saved on one line
        if isinstance(one, dict):
            yield from_json(one, lineno)


def is_response(document: dict) -> bool:
    """An API response wrapping records (OpenAlex, Crossref, Semantic Scholar), not a record itself."""
    return any(isinstance(document.get(n), list) for n in ("results", "data", "items")) or isinstance(
        document.get("message"), dict
    )


def from_json(record: dict, line: int) -> Record:
    """One JSON record as a `Record`, whichever service wrote it."""
    if "abstract_inverted_index" in record or str(record.get("id", "")).startswith("https://openalex.org/"):
        return _openalex(record, line)
    if "authors_parsed" in record or "versions" in record or "update_date" in record:
        return _arxiv(record, line)
    if "paperId" in record or "externalIds" in record:
        return _semantic_scholar(record, line)
    if (
        "DOI" in record
        or "container-title" in record
        or "issued" in record
        or "date-parts" in json.dumps(record.get("published", ""))
    ):
        return _csl(record, line)
    return _plain(record, line)


def _first(value):
    return value[0] if isinstance(value, list) and value else (value if not isinstance(value, list) else None)


def _openalex(r: dict, line: int) -> Record:
    location = r.get("primary_location") or {}
    source = location.get("source") or r.get("host_venue") or {}
    ids = r.get("ids") or {}
    abstract = r.get("abstract") or inverted_index_text(r.get("abstract_inverted_index"))
    return Record(
        line=line,
        key=str(r.get("id") or "").rsplit("/", 1)[-1] or None,
        title=r.get("title") or r.get("display_name"),
        abstract=strip_tags(abstract),
        authors=[clean((a.get("author") or {}).get("display_name")) for a in r.get("authorships") or []],
        date=r.get("publication_date"),
        year=r.get("publication_year"),
        venue=source.get("display_name"),
        doi=r.get("doi") or ids.get("doi"),
        pmid=ids.get("pmid"),
        url=location.get("landing_page_url") or r.get("doi"),
    )


def _csl(r: dict, line: int) -> Record:
    """CSL-JSON (Zotero, Better BibTeX, citation.js) and Crossref works, which share most names."""
    date = next(
        (r[n] for n in ("issued", "published", "published-print", "published-online", "created") if r.get(n)), None
    )
    return Record(
        line=line,
        key=str(r["id"]) if r.get("id") else None,
        title=_first(r.get("title")),
        abstract=strip_tags(r.get("abstract")),
        authors=people(list(r.get("author") or [])),
        date=iso_date(date) if isinstance(date, dict) else date,
        venue=_first(r.get("container-title")) or _event(r.get("event")),
        doi=r.get("DOI") or r.get("doi"),
        pmid=r.get("PMID"),
        url=r.get("URL") or r.get("url"),
    )


def _event(value) -> str | None:
    """CSL writes the event as a name; Crossref as {"name": ...}."""
    return value.get("name") if isinstance(value, dict) else _first(value)


def _semantic_scholar(r: dict, line: int) -> Record:
    ids = r.get("externalIds") or {}
    journal = r.get("journal") or {}
    return Record(
        line=line,
        key=r.get("paperId"),
        title=r.get("title"),
        abstract=r.get("abstract"),
        authors=[clean(a.get("name")) for a in r.get("authors") or [] if isinstance(a, dict)],
        date=r.get("publicationDate"),
        year=r.get("year"),
        venue=r.get("venue") or journal.get("name"),
        doi=ids.get("DOI"),
        arxiv_id=ids.get("ArXiv"),
        pmid=ids.get("PubMed"),
        url=r.get("url"),
    )


def _arxiv(r: dict, line: int) -> Record:
    """A line of the arXiv metadata snapshot: first version's date, parsed authors, LaTeX decoded."""
    versions = r.get("versions") or []
    created = versions[0].get("created") if versions and isinstance(versions[0], dict) else None
    authors = [
        latex_to_text(" ".join(p for p in (a[1], a[0], a[2] if len(a) > 2 else "") if p))
        for a in r.get("authors_parsed") or []
    ]
    return Record(
        line=line,
        key=r.get("id"),
        title=latex_to_text(r.get("title")),
        abstract=latex_to_text(r.get("abstract")),
        authors=authors or people(latex_to_text(r.get("authors"))),
        date=created or r.get("update_date"),
        venue=r.get("journal-ref"),
        doi=r.get("doi"),
        arxiv_id=r.get("id"),
    )


def _plain(r: dict, line: int) -> Record:
    """A hand-made record: title, abstract, authors, date/year, venue, url, doi, arxiv_id, pmid, id."""
    authors = r.get("authors") or r.get("author") or []
    key = str(r["id"]) if r.get("id") not in (None, "") else r.get("key")
    return Record(
        line=line,
        key=key,
        title=_first(r.get("title")),
        abstract=r.get("abstract"),
        authors=people(authors if isinstance(authors, list) else str(authors)),
        date=r.get("date") or r.get("published"),
        year=r.get("year"),
        month=r.get("month"),
        venue=r.get("venue") or r.get("journal") or r.get("booktitle"),
        doi=r.get("doi") or normalise_doi(key),
        arxiv_id=r.get("arxiv_id") or r.get("arxiv"),
        pmid=r.get("pmid"),
        url=r.get("url"),
    )
