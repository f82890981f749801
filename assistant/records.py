"""The project's own small result types: papers, chunks, hits, ingest summaries, answers.

Out of scope: how these are produced (corpus, index, retrieve, answer) or displayed (cli, ui).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
    organisation: str | None = None
    date: str | None = None
    year: int | None = None
    venue: str | None = None
    url: str | None = None
    external_id: str | None = None
    code_links: list[str] = field(default_factory=list)

    @property
    def listings(self) -> list[str]:
        return sorted({s.listing for s in self.sources})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Paper":
        data = dict(data)
        data["sources"] = [Source(**s) for s in data.get("sources", [])]
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
    metadata: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class IngestSummary:
    """What one ingest did."""

    files: int = 0
    entries: int = 0
    papers: int = 0
    new_papers: int = 0
    duplicates_merged: int = 0
    chunks_embedded: int = 0
    total_papers: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"{self.files} files, {self.entries} entries -> {self.papers} papers "
            f"({self.duplicates_merged} duplicates merged, {self.new_papers} new), "
            f"{self.chunks_embedded} chunks embedded, {self.total_papers} papers in index, "
            f"{self.seconds:.1f} s"
        )


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
    verdict: str = "uncited"  # supported | unsupported | uncited
    score: float = 0.0


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
    timings_ms: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["sources"] = [{k: h[k] for k in ("paper_id", "title", "abstract", "score", "rank", "metadata")} for h in data["sources"]]
        return data
