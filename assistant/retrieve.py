"""Hybrid retrieval: dense (Chroma) plus BM25 (bm25s), fused by reciprocal rank, one hit per paper.

Out of scope: answering (see `answer`); building the index (see `index`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .index import PaperIndex
from .records import Hit, Paper


@dataclass
class Filters:
    """Restrict retrieval to papers from a listing, a year (or range) or an author/organisation."""

    listing: str | None = None
    year: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    author: str | None = None
    paper_ids: list[str] | None = None

    @classmethod
    def of(cls, value: "Filters | dict | None") -> "Filters | None":
        if value is None or isinstance(value, Filters):
            return value
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown filter(s): {', '.join(sorted(unknown))}; use listing, year, year_from, year_to, author, paper_ids")
        return cls(**value)

    def accepts(self, paper: Paper) -> bool:
        """Example: Filters(listing="001").accepts(p) is True when p appears in 001_….txt."""
        if self.paper_ids is not None and paper.paper_id not in self.paper_ids:
            return False
        if self.listing and not any(self.listing in name for name in paper.listings):
            return False
        if self.year is not None and paper.year != self.year:
            return False
        if self.year_from is not None and (paper.year is None or paper.year < self.year_from):
            return False
        if self.year_to is not None and (paper.year is None or paper.year > self.year_to):
            return False
        if self.author:
            people = " ".join(paper.authors + [paper.organisation or ""]).lower()
            if self.author.lower() not in people:
                return False
        return True


def rrf(rankings: list[list[str]], k: int = 60) -> dict[str, float]:
    """Reciprocal-rank fusion of ranked id lists.

    Example: rrf([["a", "b"], ["b"]], k=60) == {"a": 1/61, "b": 1/62 + 1/61}
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


class BM25:
    """A bm25s index over chunk texts, with English stop words and Snowball stemming."""

    def __init__(self, ids: list[str], texts: list[str]):
        import bm25s
        import Stemmer

        self.ids = ids
        self.stemmer = Stemmer.Stemmer("english")
        self.model = bm25s.BM25()
        if ids:
            self.model.index(bm25s.tokenize(texts, stopwords="en", stemmer=self.stemmer, show_progress=False), show_progress=False)

    def query(self, text: str, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """All chunks scored above zero, best first: [(chunk_id, score)]."""
        import bm25s

        if not self.ids:
            return []
        tokens = bm25s.tokenize([text], stopwords="en", stemmer=self.stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        docs, scores = self.model.retrieve(tokens, k=len(self.ids), show_progress=False)
        ranked = [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
        return [(cid, s) for cid, s in ranked if allowed is None or cid in allowed]


class Retriever:
    """Searches one PaperIndex; `mode` is 'hybrid', 'dense' or 'bm25'."""

    def __init__(self, index: PaperIndex):
        self.index = index
        self._bm25: BM25 | None = None
        self._bm25_key = None

    @property
    def bm25(self) -> BM25:
        key = (len(self.index.state.chunks), self.index.state.manifest.get("corpus_fingerprint"))
        if self._bm25 is None or self._bm25_key != key:
            chunks = self.index.state.chunks
            self._bm25, self._bm25_key = BM25([c.chunk_id for c in chunks], [c.text for c in chunks]), key
        return self._bm25

    def search(self, query: str, k: int = 10, filters=None, mode: str | None = None) -> list[Hit]:
        """The k best papers for a query, one hit per paper (its best chunk), best first."""
        settings = self.index.settings.retrieval
        mode = mode or settings.mode
        filters = Filters.of(filters)
        papers = self.index.state.papers
        allowed_papers = [pid for pid, p in papers.items() if filters.accepts(p)] if filters else None
        allowed_chunks = ({c.chunk_id for c in self.index.state.chunks if c.paper_id in set(allowed_papers)}
                          if allowed_papers is not None else None)
        n = max(settings.candidates, 3 * k)
        dense = self.index.dense_query(self.index.embedder.embed_query(query), n, allowed_papers) if mode != "bm25" else []
        lexical = self.bm25.query(query, allowed_chunks)[:n] if mode != "dense" else []
        fused = rrf([[cid for cid, _ in dense], [cid for cid, _ in lexical]], settings.rrf_k)
        return self._group(fused, dict(dense), dict(lexical), k)

    def _group(self, fused: dict[str, float], dense: dict[str, float], lexical: dict[str, float], k: int) -> list[Hit]:
        chunk_text = {c.chunk_id: c.text for c in self.index.state.chunks}
        best: dict[str, tuple[float, str]] = {}
        for cid, score in fused.items():
            pid = cid.rsplit(":", 1)[0]
            if pid in self.index.state.papers and (pid not in best or score > best[pid][0]):
                best[pid] = (score, cid)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:k]
        hits = []
        for rank, (pid, (score, cid)) in enumerate(ranked, 1):
            paper = self.index.state.papers[pid]
            sims = [s for c, s in dense.items() if c.rsplit(":", 1)[0] == pid]
            bm = [s for c, s in lexical.items() if c.rsplit(":", 1)[0] == pid]
            hits.append(Hit(paper_id=pid, title=paper.title, abstract=paper.abstract, score=score, rank=rank,
                            chunk_text=chunk_text.get(cid, ""), dense_similarity=max(sims) if sims else None,
                            bm25_score=max(bm) if bm else None, metadata=paper_metadata(paper)))
        return hits


def paper_metadata(paper: Paper) -> dict:
    """The metadata shown with a hit."""
    return {"listings": paper.listings, "date": paper.date, "year": paper.year, "authors": paper.authors,
            "authors_count": paper.authors_count, "organisation": paper.organisation, "venue": paper.venue,
            "url": paper.url, "code_links": paper.code_links, "title_derived": paper.title_derived}
