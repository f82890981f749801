"""One record as a reader found it, and how it becomes a `Paper` (or a reported problem).

Readers fill a `Record` with the values their format holds; `to_paper` makes them uniform,
gives the paper its identity (see `corpus.paper_identity`) and reports what it skipped or
repaired into a `Problems` list. Out of scope: parsing any format; merging copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..corpus import code_links, derive_title, other_links, paper_id_for_record
from ..records import Paper, RecordProblem, Source
from .fields import arxiv_from_doi, clean, iso_date, normalise_arxiv, normalise_doi, normalise_pmid, web_link, year_of

KEPT_PROBLEMS = 50  # enough to show; the counts hold the rest


@dataclass
class Record:
    """One bibliographic record as read from a file, before checks. `date` may be any date text."""

    line: int = 0
    key: str | None = None
    title: str | None = None
    abstract: str | None = None
    authors: list[str] = field(default_factory=list)
    date: object = None
    year: object = None
    month: object = None
    day: object = None
    venue: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    pmid: str | None = None
    url: str | None = None
    organisation: str | None = None
    listing_title: str | None = None


@dataclass
class Problems:
    """What the readers of one ingest skipped or repaired: counts, and the first problems in full."""

    skipped: int = 0
    repaired: int = 0
    derived_titles: int = 0
    items: list[RecordProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # file-level: the encoding assumed, stray bytes removed

    def add(self, problem: RecordProblem) -> None:
        if problem.action == "skipped":
            self.skipped += 1
        else:
            self.repaired += 1
        if len(self.items) < KEPT_PROBLEMS:
            self.items.append(problem)

    @property
    def count(self) -> int:
        return self.skipped + self.repaired

    def fill(self, summary) -> None:
        """Copy the counts and the first problems into an `IngestSummary`."""
        summary.skipped, summary.repaired, summary.derived_titles = self.skipped, self.repaired, self.derived_titles
        summary.problems, summary.notes = list(self.items), list(self.notes)


def to_paper(record: Record, file: str, position: int, problems: Problems) -> Paper | None:
    """The paper a record describes, or None (reported in `problems`) when it has no abstract."""

    def report(text: str, action: str) -> None:
        problems.add(RecordProblem(file, record.line, clean(record.key) or None, text, action, position + 1))

    abstract = clean(record.abstract)
    if not abstract:
        report("no abstract", "skipped")
        return None
    title = clean(record.title)
    if not title:
        report("no title; title derived from the abstract", "repaired")
        problems.derived_titles += 1
    doi = normalise_doi(record.doi) if record.doi else None
    arxiv_id = normalise_arxiv(record.arxiv_id) if record.arxiv_id else arxiv_from_doi(doi)
    date = iso_date(record.date, record.year, record.month, record.day)
    if date is None and (record.date or record.year):
        report(f"unreadable date {clean(record.date or record.year)!r} dropped", "repaired")
    url = (
        web_link(record.url)
        or (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None)
        or (f"https://doi.org/{doi}" if doi else None)
    )
    if record.url and not web_link(record.url):
        report(f"link {clean(record.url)[:40]!r} is not http(s), dropped", "repaired")
    paper = Paper(
        paper_id="",
        title=title or derive_title(abstract),
        abstract=abstract,
        title_derived=not title,
        sources=[Source(listing=file, position=position, line=record.line, listing_title=record.listing_title)],
        authors=[clean(a) for a in record.authors if clean(a)],
        date=date,
        year=year_of(date),
        venue=clean(record.venue) or None,
        url=url,
        external_id=clean(record.key) or None,
        code_links=code_links(abstract),
        links=other_links(abstract),
        doi=doi,
        arxiv_id=arxiv_id,
        pmid=normalise_pmid(record.pmid) if record.pmid else None,
        key=clean(record.key) or None,
        organisation=record.organisation,
    )
    paper.authors_count = len(paper.authors) or None
    paper.paper_id = paper_id_for_record(paper, file)
    return paper
