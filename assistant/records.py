"""The project's own small result types: papers, chunks, hits, ingest summaries, answers.

Out of scope: how these are produced (corpus, index, retrieve, answer) or displayed (cli, ui).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Source:
    """Where one copy of a paper was found: a listing file and the position in it (0-based)."""

    listing: str
    position: int
    line: int = 0
    listing_title: str | None = None


@dataclass
class Paper:
    """One unique paper, merged across every listing that holds it."""

    paper_id: str
    title: str
    abstract: str
    title_derived: bool = False
    sources: list[Source] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    authors_count: int | None = None
    authors_partial: bool = False  # the source names only some authors (an author page names its owner)
    organisation: str | None = None
    date: str | None = None
    year: int | None = None
    venue: str | None = None
    url: str | None = None
    external_id: str | None = None
    code_links: list[str] = field(default_factory=list)  # links in the abstract to a code host
    links: list[str] = field(default_factory=list)  # the abstract's other http(s) links, never the paper's code
    doi: str | None = None
    arxiv_id: str | None = None
    pmid: str | None = None
    key: str | None = None

    @property
    def listings(self) -> list[str]:
        return sorted({s.listing for s in self.sources})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Paper:
        data = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        data["sources"] = [Source(**s) for s in data.get("sources", [])]
        if "links" not in data:  # written before links were classified at ingest: classify them now
            from .untrusted import split_links

            data["code_links"], data["links"] = split_links(data.get("code_links") or [])
        return cls(**data)


@dataclass
class Chunk:
    """A piece of one paper's abstract, with the title kept in front of it for embedding."""

    chunk_id: str
    paper_id: str
    text: str
    position: int


@dataclass
class Hit:
    """One retrieved paper: its best chunk and the scores that ranked it."""

    paper_id: str
    title: str
    abstract: str
    score: float
    rank: int
    chunk_text: str = ""
    dense_similarity: float | None = None
    bm25_score: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RecordProblem:
    """One record a reader skipped or repaired, and why. Example: refs.bib line 12 (smith2020): no abstract, skipped."""

    file: str
    line: int
    key: str | None
    problem: str
    action: str = "skipped"  # skipped | repaired
    record: int = 0  # 1-based position in the file, shown where the format has no line numbers (JSON documents)

    def __str__(self) -> str:
        where = (
            f"{self.file}, line {self.line}"
            if self.line
            else f"{self.file}, record {self.record}"
            if self.record
            else self.file
        )
        return f"{where}" + (f" ({self.key})" if self.key else "") + f": {self.problem}, {self.action}"


SHOWN_PROBLEMS = 10


@dataclass
class IngestSummary:
    """What one ingest did, with the records skipped or repaired (first few) and the copies merged."""

    files: int = 0
    entries: int = 0
    papers: int = 0
    new_papers: int = 0
    duplicates_merged: int = 0
    chunks_embedded: int = 0
    total_papers: int = 0
    seconds: float = 0.0
    skipped: int = 0
    repaired: int = 0
    derived_titles: int = 0
    problems: list[RecordProblem] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    likely_duplicates: list[str] = field(default_factory=list)  # same title, first author, year; kept apart
    notes: list[str] = field(default_factory=list)  # file-level repairs: the encoding assumed, stray bytes removed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        head = (
            f"{self.files} files, {self.entries} entries -> {self.papers} papers "
            f"({self.duplicates_merged} duplicates merged, {self.new_papers} new), "
            f"{self.chunks_embedded} chunks embedded, {self.total_papers} papers in index, "
            f"{self.seconds:.1f} s"
        )
        return "\n".join([head] + self.details())

    def details(self) -> list[str]:
        """Lines on skipped and repaired records and merged copies: the first few, then a count."""
        lines = [f"  {n}" for n in self.notes]
        if self.skipped or self.repaired or self.derived_titles:
            lines.append(
                f"{self.skipped} records skipped, {self.repaired} repaired, {self.derived_titles} titles derived from the abstract"
            )
        shown = self.problems[:SHOWN_PROBLEMS]
        lines += [f"  {p}" for p in shown]
        if self.skipped + self.repaired > len(shown):
            lines.append(f"  … and {self.skipped + self.repaired - len(shown)} more")
        lines += [f"  merged: {m}" for m in self.merged[:SHOWN_PROBLEMS]]
        if len(self.merged) > SHOWN_PROBLEMS:
            lines.append(f"  … and {len(self.merged) - SHOWN_PROBLEMS} more merged")
        lines += [f"  likely duplicate: {d}" for d in self.likely_duplicates[:SHOWN_PROBLEMS]]
        if len(self.likely_duplicates) > SHOWN_PROBLEMS:
            lines.append(f"  … and {len(self.likely_duplicates) - SHOWN_PROBLEMS} more likely duplicates")
        return lines


@dataclass
class Citation:
    """A numbered reference in an answer, with the verbatim abstract sentences that back it."""

    number: int
    paper_id: str
    title: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class Sentence:
    """One answer sentence, the citation numbers it carries, and its support verdict."""

    text: str
    citations: list[int] = field(default_factory=list)
    verdict: str = (
        "uncited"  # supported | unsupported | contradicted | uncited (no marker, no source supports it) | listing (metadata)
        # | finding (the yes/no finding, stated from the claim check of the sentences that follow)
    )
    score: float = 0.0
    attributed: bool = False  # the citation was added by the support check (post hoc), not written by the model
    judge: str = ""  # who decided the verdict: the offline verifier's name, llm:MODEL, or "verbatim" (a quote)


@dataclass
class PaperVerdict:
    """What one paper says of a claim: supports | contradicts | not_enough_info, with the sentences it rests on."""

    paper_id: str
    title: str
    label: str
    score: float
    evidence: list[str] = field(default_factory=list)


@dataclass
class ClaimCheck:
    """A claim checked against papers: each paper's verdict, and a one-line summary."""

    claim: str
    papers: list[PaperVerdict] = field(default_factory=list)
    judge: str = ""

    @property
    def supported(self) -> bool:
        return any(p.label == "supports" for p in self.papers)

    @property
    def summary(self) -> str:
        """Example: "supported by 1 of the 3 papers checked" """
        backing = sum(p.label == "supports" for p in self.papers)
        against = sum(p.label == "contradicts" for p in self.papers)
        if not self.papers:
            return "no paper to check against"
        parts = [f"supported by {backing}" if backing else "supported by none"]
        if against:
            parts.append(f"contradicted by {against}")
        return f"{' and '.join(parts)} of the {len(self.papers)} papers checked"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "supported": self.supported, "summary": self.summary}


@dataclass
class ComparisonRow:
    """One compared paper: its source number in the answer's citations, and a cited quote per column."""

    paper_id: str
    title: str
    number: int
    cells: dict[str, str] = field(default_factory=dict)


@dataclass
class Comparison:
    """A table of papers × columns (problem, method, data, result), each cell a verbatim abstract sentence."""

    columns: list[str]
    rows: list[ComparisonRow] = field(default_factory=list)


@dataclass
class Answer:
    """A cited answer: text with [n] markers, citations, sources, per-sentence verdicts."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    sources: list[Hit] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    abstained: bool = False
    backend: str = ""
    model: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    table: Comparison | None = None  # for "compare A and B": the papers side by side
    finding: str | None = None  # for a yes/no question: yes | no | mixed | unclear (see `finding`)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = [
            {k: h[k] for k in ("paper_id", "title", "abstract", "score", "rank", "metadata")} for h in data["sources"]
        ]
        return data
