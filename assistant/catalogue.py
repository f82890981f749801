"""The catalogue: questions about the collection itself, answered from paper metadata rather than text similarity.

Understands listings (by file-name prefix, an author page's author, or "Daily Papers"), years,
author counts ("single author", "exactly 12 authors", "most authors"), dates ("oldest",
"newest"), organisations, papers found in several listings, and "how many". Also the corpus
vocabulary used to notice questions about things no indexed paper mentions. `answer_from_metadata`
turns a parsed question into a cited answer listing the matching papers.
Out of scope: free-text topics, which go through `retrieve`; the answering pipeline (see `answer`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from .citations import with_markers
from .records import Answer, Citation, Hit, Paper, Sentence
from .retrieve import paper_metadata
from .text import NUMBER_WORDS

COUNT_WORDS = {"single": 1, "one": 1} | {word: int(value) for word, value in NUMBER_WORDS.items()}


@dataclass
class MetadataQuery:
    """What a metadata question asks for; `papers` are the matching papers, best first."""

    description: str
    papers: list[Paper] = field(default_factory=list)
    count_only: bool = False
    topic: str = ""
    single: bool = False


def listing_display_name(listing: str, listing_title: str | None) -> str:
    """How a reader sees a listing: its own title, else its file name's number.

    Example: listing_display_name("000_5.txt", "author page of Tianlong Chen") == "Tianlong Chen's author page";
    listing_display_name("002_5.txt", None) == "listing 002"
    """
    if listing_title and listing_title.startswith("author page of "):
        return f"{listing_title.removeprefix('author page of ')}'s author page"
    if listing_title:
        return listing_title
    number = re.match(r"(\d+)_[0-9a-f]+\.txt$", listing)
    return f"listing {number.group(1)}" if number else listing


def listing_names(paper: Paper) -> set[str]:
    """Names a reader may use for the listings holding a paper."""
    names = set()
    for source in paper.sources:
        names.add(source.listing.lower())
        if source.listing_title:
            names.add(source.listing_title.lower())
    return names


def parse_date(date: str | None) -> datetime | None:
    for fmt in ("%b %d, %Y", "%B %d, %Y", "%Y-%m-%d", "%Y-%m"):  # listing dates, ISO dates of other formats
        try:
            return datetime.strptime(date or "", fmt)
        except ValueError:
            continue
    return None


PAPERS_WORD_RE = re.compile(  # a question about the collection speaks of its papers (not "a study in 2015")
    r"\b(papers?|articles?|publications?|preprints?|entries|listings?|listed|published|posted|abstracts?|"
    r"documents?|the collection|corpus|indexed|(?:most|single|\d+|exactly \w+) authors?)\b"
)


def metadata_query(question: str, papers: list[Paper]) -> MetadataQuery | None:
    """Parse a question about the collection; None when it is not one."""
    q = question.lower()
    scope, described = _scope(q, papers)
    if not described and not PAPERS_WORD_RE.search(q):
        # about the world, not the collection: "coverage in Kenya in 2015", "the latest treatment", "a WHO policy"
        return None
    selected, what = _select(q, scope)
    if selected is None and not described:
        return None
    if selected is None:
        selected, what = scope, ""
    count_only = bool(re.search(r"\bhow many papers\b", q))
    topic = _topic(q) if not what else ""
    single = not what and not count_only and not topic
    return MetadataQuery(
        description=" ".join(x for x in (what, described) if x),
        papers=selected,
        count_only=count_only,
        topic=topic or (question if single else ""),
        single=single,
    )


def _scope(q: str, papers: list[Paper]) -> tuple[list[Paper], str]:
    titles = {s.listing_title for p in papers for s in p.sources if s.listing_title}
    for title in sorted(titles, key=len, reverse=True):
        key = title.lower().replace("author page of ", "")
        # "Daily Papers, Nov 20" is also asked for as "the Daily Papers listing"
        if key in q or key.split(",")[0] in q or (title.startswith("author page of ") and _name_in(key, q)):
            return [p for p in papers if title.lower() in listing_names(p)], f"in the listing “{title}”"
    m = re.search(r"\blisting (\d{3})\b", q)
    if m:
        return [
            p for p in papers if any(n.startswith(m.group(1)) for n in listing_names(p))
        ], f"in listing {m.group(1)}"
    return papers, ""


def _name_in(name: str, q: str) -> bool:
    parts = name.replace(",", " ").split()
    return len(parts) >= 2 and all(part in q for part in parts)


def _select(q: str, scope: list[Paper]) -> tuple[list[Paper] | None, str]:
    year = re.search(r"\b(?:dated|from|in|published)\s+((?:19|20)\d{2})\b", q)
    exact = re.search(r"\b(?:exactly\s+)?(\d+|single|one|two|three)\s+authors?\b", q)
    if "more than one" in q and "listing" in q or "other listings" in q or "several listings" in q:
        return [p for p in scope if len(p.listings) > 1], "found in more than one listing"
    if "most authors" in q:
        best = max((p.authors_count or 0 for p in scope), default=0)
        return [p for p in scope if best and p.authors_count == best], f"with the most authors ({best})"
    if exact and ("exactly" in q or exact.group(1) in COUNT_WORDS):
        n = int(exact.group(1)) if exact.group(1).isdigit() else COUNT_WORDS[exact.group(1)]
        return [p for p in scope if p.authors_count == n], f"with {n} author{'s' if n != 1 else ''}"
    if "organisation" in q or "organization" in q:
        return [p for p in scope if p.organisation], "listed with an organisation"
    if re.search(r"\b(oldest|earliest|newest|most recent|latest)\b", q):
        dated = [(p, when) for p in scope if (when := parse_date(p.date))]
        if dated:
            pick, _ = (min if re.search(r"\b(oldest|earliest)\b", q) else max)(dated, key=lambda pair: pair[1])
            return [pick], "the oldest by date" if re.search(r"\b(oldest|earliest)\b", q) else "the newest by date"
    if year:
        return [p for p in scope if p.year == int(year.group(1))], f"dated {year.group(1)}"
    return None, ""


def _topic(q: str) -> str:
    found = re.findall(r"\b(?:about|study|studies|studying|concerning|on the topic of)\s+(.+?)\??$", q)
    return found[-1] if found else ""


def answer_from_metadata(answer: Answer, meta: MetadataQuery, search, min_similarity: float, k: int | None) -> None:
    """Fill `answer` from paper metadata, one cited sentence per matching paper.

    `search(query, k=, filters=)` narrows the papers to the question's topic, if it names one.
    """
    papers = _on_topic(meta, search, min_similarity)
    answer.model = "metadata"
    answer.notes.append("answered from the papers' listing metadata (listing, date, authors), not from abstract text")
    shown = papers[: max(k or 10, 10)]
    answer.sources = [
        Hit(paper_id=p.paper_id, title=p.title, abstract=p.abstract, score=1.0, rank=i, metadata=paper_metadata(p))
        for i, p in enumerate(shown, 1)
    ]
    subject = f"papers {meta.description}".strip()
    if not papers:
        answer.text, answer.abstained = f"No indexed papers match ({subject}).", False
        answer.sentences = [Sentence(text=answer.text, verdict="listing")]
        return
    lead = Sentence(
        text=f"{len(papers)} indexed paper{'s' if len(papers) != 1 else ''} match ({subject}).", verdict="listing"
    )
    answer.sentences = [lead] + [
        Sentence(text=f"“{p.title}”{facts(p)}.", citations=[i], verdict="supported", score=1.0)
        for i, p in enumerate(shown, 1)
    ]
    answer.citations = [
        Citation(number=i, paper_id=p.paper_id, title=p.title, evidence=[]) for i, p in enumerate(shown, 1)
    ]
    answer.text = " ".join(with_markers(s.text, s.citations) for s in answer.sentences)


def _on_topic(meta: MetadataQuery, search, min_similarity: float) -> list[Paper]:
    """The matching papers, narrowed to the question's topic (the closest one for a single-paper question)."""
    papers = meta.papers
    if not (meta.topic and papers):
        return papers
    hits = search(meta.topic, k=len(papers), filters={"paper_ids": [p.paper_id for p in papers]})
    if meta.single:
        close = {hits[0].paper_id} if hits else set()
    else:
        close = {h.paper_id for h in hits if (h.dense_similarity or 0) >= min_similarity + 0.1}
    return [p for p in papers if p.paper_id in close]


def facts(paper: Paper) -> str:
    """Example: facts(p) == ": dated Feb 3, 2025, 12 authors, in Daily Papers" """
    found = [
        f"dated {paper.date}" if paper.date else "",
        f"{paper.authors_count} author{'s' if paper.authors_count != 1 else ''}" if paper.authors_count else "",
        f"from {paper.organisation}" if paper.organisation else "",
        "in " + " and ".join(listing_display_name(s.listing, s.listing_title) for s in paper.sources),
    ]
    return ": " + ", ".join(f for f in found if f)
