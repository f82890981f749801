"""Reading scraped listing pages into paper records; paper identity; merging copies of one paper.

Three scraped layouts are understood: a paper listing (title, summary, "• N authors · date"),
an author page (title, venue, abstract under one author's name) and a bare list of `Abstract:`
lines. A paper's identity is its first identifier (DOI, arXiv id, PubMed id, then the file's own
key scoped by file), its normalised abstract only when it has none; `paper_id` is derived from it,
so copies of one paper in several files meet under one id and records with different identifiers
never do. Structured formats live in `formats`. Out of scope: chunking and embedding (see `index`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .records import Paper, Source
from .untrusted import split_links

MIN_ABSTRACT_CHARS = 250
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
AUTHORS_RE = re.compile(r"^\s*•\s*(\d+)\s+authors?\s*$")
DATE_RE = re.compile(rf"^\s*((?:{MONTHS})[a-z]*\.? \d{{1,2}}(?:, (\d{{4}}))?)(?:\s+\d+)?\s*$")
URL_RE = re.compile(r"https?://[^\s<>\"')\]{}]+")
PAGE_CHROME = {
    "new",
    "Get trending papers in your email inbox!",
    "Subscribe",
    "Daily Papers",
    "byAK and the research community",
    "Goto",
    "Collaborating Authors",
}
# Tokens that look like method names but are field jargon; never used as a derived title.
JARGON = {
    "LLM",
    "LLMs",
    "MLLM",
    "MLLMs",
    "VLM",
    "VLMs",
    "NLP",
    "RL",
    "MoE",
    "GPU",
    "GPUs",
    "AI",
    "CNN",
    "CNNs",
    "GNN",
    "GNNs",
    "SOTA",
    "RNA",
    "DNA",
    "3D",
    "2D",
    "API",
    "APIs",
    "GPT-4o",
    "GPT-4",
    "ImageNet",
    "RLHF",
    "MDP",
    "MDPs",
    "CL",
    "OOD",
    "SGD",
    "IoT",
    "QA",
    "ViT",
}


@dataclass
class Entry:
    """One paper as a listing states it, before merging."""

    abstract: str
    title: str | None = None
    line: int = 0
    fields: dict = field(default_factory=dict)


def normalise(text: str) -> str:
    """Lower-case alphanumerics only: the key under which copies of one abstract meet.

    Example: normalise("Abstract: Deep  nets!") == "abstractdeepnets"
    """
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def paper_id_for(abstract: str) -> str:
    """Stable paper id from the abstract's normalised text (papers with no identifier)."""
    return "p" + hashlib.sha1(normalise(abstract).encode()).hexdigest()[:10]


def paper_identity(paper: Paper, file: str | None = None) -> str | None:
    """The identifier a paper is known by, or None when it has none.

    Example: a paper with doi "10.1/x" gives "doi:10.1/x"; one with only key "smith20" in refs.bib gives "key:refs.bib:smith20".
    """
    if paper.doi:
        return f"doi:{paper.doi}"
    if paper.arxiv_id:
        return f"arxiv:{paper.arxiv_id}"
    if paper.pmid:
        return f"pmid:{paper.pmid}"
    if paper.key:
        return f"key:{file or (paper.sources[0].listing if paper.sources else '')}:{paper.key}"
    return None


def paper_id_for_record(paper: Paper, file: str | None = None) -> str:
    """The paper id from the identity: the same DOI in two files gives the same id.

    Example: paper_id_for_record(doi "10.1/x") == "d" + sha1("doi:10.1/x")[:16]; no identifier: paper_id_for(abstract).
    """
    identity = paper_identity(paper, file)
    if identity is None:
        return paper_id_for(paper.abstract)
    return identity[0] + hashlib.sha1(identity.encode()).hexdigest()[:16]


def detect_layout(lines: list[str]) -> str:
    """Which scraped layout a listing file has: 'author', 'bare' or 'listing'."""
    text = [line.strip() for line in lines if line.strip()]
    if any(line == "Collaborating Authors" for line in text[:5]):
        return "author"
    if text and sum(line.startswith("Abstract:") for line in text) >= len(text) / 2:
        return "bare"
    return "listing"


def parse_listing(text: str) -> tuple[str, list[Entry]]:
    """Parse a scraped listing file into entries; returns (layout, entries)."""
    lines = text.splitlines()
    layout = detect_layout(lines)
    numbered = [(i + 1, line.strip()) for i, line in enumerate(lines) if line.strip()]
    parser = {"author": _parse_author_page, "bare": _parse_bare, "listing": _parse_paper_listing}[layout]
    return layout, parser(numbered)


def _is_abstract(line: str) -> bool:
    return len(line) >= MIN_ABSTRACT_CHARS


def _parse_paper_listing(numbered: list[tuple[int, str]]) -> list[Entry]:
    entries: list[Entry] = []
    for i, (lineno, line) in enumerate(numbered):
        nxt = numbered[i + 1][1] if i + 1 < len(numbered) else ""
        if _is_abstract(line):
            prev = numbered[i - 1][1] if i else ""
            title = prev if prev and not _is_abstract(prev) and not _is_meta(prev) else None
            entries.append(Entry(abstract=line, title=title, line=lineno))
        elif entries and (m := AUTHORS_RE.match(line)):
            entries[-1].fields["authors_count"] = int(m.group(1))
        elif entries and (m := DATE_RE.match(line)) and numbered[i - 1][1] == "·":
            entries[-1].fields["date"] = m.group(1)
            if m.group(2):
                entries[-1].fields["year"] = int(m.group(2))
        elif entries and (AUTHORS_RE.match(nxt) or nxt == "·") and line not in PAGE_CHROME:
            entries[-1].fields["organisation"] = line
    return entries


def _is_meta(line: str) -> bool:
    return bool(AUTHORS_RE.match(line) or DATE_RE.match(line) or line == "·" or line in PAGE_CHROME)


def _parse_author_page(numbered: list[tuple[int, str]]) -> list[Entry]:
    texts = [line for _, line in numbered]
    header_end = texts.index("Collaborating Authors") if "Collaborating Authors" in texts else -1
    author = texts[header_end + 1] if header_end >= 0 and header_end + 1 < len(texts) else None
    author_name = " ".join(reversed([p.strip() for p in author.split(",", 1)])) if author else None
    entries = []
    for i, (lineno, line) in enumerate(numbered):
        if _is_abstract(line) and i >= 2:
            fields: dict[str, str | list[str] | bool] = {"venue": numbered[i - 1][1]}
            if author_name:  # the page's owner is one of the paper's authors, not its only one
                fields["authors"], fields["authors_partial"] = [author_name], True
            entries.append(Entry(abstract=line, title=numbered[i - 2][1], line=lineno, fields=fields))
    return entries


def _parse_bare(numbered: list[tuple[int, str]]) -> list[Entry]:
    return [
        Entry(abstract=line.removeprefix("Abstract:").strip(), line=lineno)
        for lineno, line in numbered
        if line.startswith("Abstract:")
    ]


def links_in(abstract: str) -> list[str]:
    """URLs mentioned in an abstract, without trailing punctuation or repeats."""
    return list(dict.fromkeys(u.rstrip(".,;:") for u in URL_RE.findall(abstract)))


def code_links(abstract: str) -> list[str]:
    """The abstract's links to a code host (GitHub, GitLab, Hugging Face, ...): the paper's code."""
    return split_links(links_in(abstract))[0]


def other_links(abstract: str) -> list[str]:
    """The abstract's other http(s) links: kept as plain links, never presented as the paper's code."""
    return split_links(links_in(abstract))[1]


def derive_title(abstract: str) -> str:
    """A readable display title for an untitled paper: the method it introduces, else its first words.

    Example: derive_title("We propose FooNet, a net. ...") == "FooNet: We propose FooNet, a net…"
    """
    head = " ".join(abstract.split()[:10]).rstrip(".,;:")
    name = method_name(abstract)
    return f"{name}: {head}…" if name else f"{head}…"


def method_name(abstract: str) -> str | None:
    """The name of the method an abstract introduces, if it states one."""
    intro = re.search(r"\b(propose|introduce|present|named|called|termed|dubbed)\w*\b(.{0,200})", abstract)
    if not intro:
        return None
    for token in re.findall(r"[A-Za-z][\w-]*[A-Za-z0-9]", intro.group(2)):
        caps = sum(c.isupper() for c in token)
        if (
            caps >= 2
            and token not in JARGON
            and not token.isupper()
            or (token.isupper() and len(token) >= 3 and token not in JARGON)
        ):
            return token
    return None


def entry_to_paper(entry: Entry, listing: str, position: int) -> Paper:
    """Turn one parsed entry into a single-source paper record."""
    abstract = " ".join(entry.abstract.split())
    title = " ".join((entry.title or "").split())
    fields = dict(entry.fields)
    year = fields.pop("year", None) or _year(fields.get("date"))
    return Paper(
        paper_id=fields.pop("id", None) or paper_id_for(abstract),
        title=title or derive_title(abstract),
        abstract=abstract,
        title_derived=not title,
        sources=[Source(listing=listing, position=position, line=entry.line)],
        code_links=code_links(abstract),
        links=other_links(abstract),
        year=year,
        **fields,
    )


def _year(date: str | None) -> int | None:
    m = re.search(r"\b(19|20)\d{2}\b", date or "")
    return int(m.group(0)) if m else None


def merge(papers: list[Paper]) -> tuple[list[Paper], int]:
    """Merge copies of one paper (same `paper_id`); returns (unique papers, copies merged)."""
    unique, merged = merge_report(papers)
    return unique, len(merged)


def merge_report(papers: list[Paper]) -> tuple[list[Paper], list[str]]:
    """Merge copies of one paper (same `paper_id`, so same identifier, or same abstract when none).

    Returns (unique papers in first-seen order, one line per merged copy). Pure: the inputs' first
    copies are updated in place and returned, nothing else is touched.
    """
    by_id: dict[str, Paper] = {}
    merged = []
    for paper in papers:
        kept = by_id.get(paper.paper_id)
        if kept is None:
            by_id[paper.paper_id] = paper
            continue
        merge_into(kept, paper)
        merged.append(describe_merge(paper, kept))
    return list(by_id.values()), merged


def describe_merge(copy: Paper, kept: Paper) -> str:
    """One line naming a merged copy. Example: "b.json #1 = a.bib line 12 (doi:10.1/x)"."""
    return f"{_where(copy)} = {_where(kept)} ({paper_identity(kept) or 'same abstract'})"


def _where(paper: Paper) -> str:
    source = paper.sources[0] if paper.sources else None
    if source is None:
        return paper.paper_id
    return f"{source.listing}" + (f" line {source.line}" if source.line else f" #{source.position + 1}")


def merge_into(kept: Paper, other: Paper) -> None:
    """Fold another copy of the same paper into `kept`: every source kept, gaps filled."""
    for source in other.sources:
        if source not in kept.sources:
            kept.sources.append(source)
    if kept.title_derived and not other.title_derived:
        kept.title, kept.title_derived = other.title, False
    kept.authors = kept.authors + [a for a in other.authors if a not in kept.authors]
    kept.authors_partial = kept.authors_partial and other.authors_partial  # a full list from any source
    kept.code_links = kept.code_links + [c for c in other.code_links if c not in kept.code_links]
    kept.links = kept.links + [c for c in other.links if c not in kept.links]
    for name in ("authors_count", "organisation", "date", "year", "venue", "url", "doi", "arxiv_id", "pmid", "key"):
        if getattr(kept, name) is None and getattr(other, name) is not None:
            setattr(kept, name, getattr(other, name))


def read_listing(path: Path, text: str) -> list[Paper]:
    """Papers of one scraped listing file (already checked and decoded)."""
    layout, entries = parse_listing(text)
    title = listing_title(layout, entries, text)
    papers = [entry_to_paper(e, path.name, i) for i, e in enumerate(entries)]
    for paper in papers:
        paper.sources[0].listing_title = title
    return papers


def listing_title(layout: str, entries: list[Entry], text: str) -> str | None:
    """A readable name for a listing: "author page of NAME", "Daily Papers, Nov 20" (the page's day), or None."""
    if layout == "author" and entries and entries[0].fields.get("authors"):
        return f"author page of {entries[0].fields['authors'][0]}"
    head = text[: text.find(entries[0].abstract)] if entries else text
    if "Daily Papers" not in head:
        return None
    day = re.search(rf"^\s*((?:{MONTHS})[a-z]*\.? \d{{1,2}}(?:, \d{{4}})?)\s*$", head, re.MULTILINE)
    return f"Daily Papers, {day.group(1)}" if day else "Daily Papers"


def seed_files(seeds_dir: Path) -> list[Path]:
    """The bundled listing files."""
    return sorted(p for p in seeds_dir.glob("*.txt"))
