"""Hybrid retrieval: dense (Chroma) plus BM25 (the store's FTS5 index), fused by reciprocal rank, one hit per paper.

Filters go into Chroma's `where` (year; paper ids when a filter selects few papers) and into the
store's SQL, so a query costs the same whatever the number of chunks.
Out of scope: answering (see `answer`); building the index (see `index`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

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
    def of(cls, value: Filters | dict | None) -> Filters | None:
        if value is None or isinstance(value, Filters):
            return value
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"unknown filter(s): {', '.join(sorted(unknown))}; use listing, year, year_from, year_to, author, paper_ids"
            )
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


COMPARISONS = {
    "$eq": lambda v, t: v == t,
    "$gte": lambda v, t: v >= t,
    "$lte": lambda v, t: v <= t,
    "$in": lambda v, t: v in t,
}


def rrf(rankings: list[list[str]], k: int = 60, weights: list[float] | None = None) -> dict[str, float]:
    """Reciprocal-rank fusion of ranked id lists, each counted with its weight (default 1).

    Example: rrf([["a", "b"], ["b"]], k=60) == {"a": 1/61, "b": 1/62 + 1/61}
    Example: rrf([["a"], ["b"]], k=60, weights=[0.5, 1.0]) == {"a": 0.5/61, "b": 1/61}
    """
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, [1.0] * len(rankings) if weights is None else weights, strict=True):
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


OVERFETCH = 8  # nearest chunks checked per wanted one before a year filter falls back to Chroma's `where`
IN_LIMIT = 5000  # papers a filter may select before dense search filters after the query instead of in it


@dataclass
class Scope:
    """Where one filtered search may look: a Chroma `where`, a store clause, and post-filter ids when needed."""

    where: dict | None = None
    sql: str = "1"
    params: list = field(default_factory=list)
    post_filter: bool = False  # the filter selects too many papers to list in `where`
    empty: bool = False


def year_where(filters: Filters) -> list[dict]:
    """Chroma conditions for the year filters.

    Example: year_where(Filters(year_from=2020, year_to=2022)) == [{"year": {"$gte": 2020}}, {"year": {"$lte": 2022}}]
    """
    parts: list[dict] = []
    if filters.year is not None:
        parts.append({"year": filters.year})
    if filters.year_from is not None:
        parts.append({"year": {"$gte": filters.year_from}})
    if filters.year_to is not None:
        parts.append({"year": {"$lte": filters.year_to}})
    return parts


def matches_where(meta: dict, where: dict) -> bool:
    """Whether Chroma metadata satisfies a `where` of equalities, $gte/$lte/$in and $and.

    Example: matches_where({"year": 2021}, {"$and": [{"year": {"$gte": 2020}}, {"year": {"$lte": 2022}}]}) is True
    """
    if "$and" in where:
        return all(matches_where(meta, part) for part in where["$and"])
    for key, condition in where.items():
        value = meta.get(key)
        if not isinstance(condition, dict):
            condition = {"$eq": condition}
        for op, target in condition.items():
            if value is None or not COMPARISONS[op](value, target):
                return False
    return True


def scope_for(filters: Filters | None, store) -> Scope:
    """Push filters into Chroma's `where` (year, small paper sets) and the store's indexes (everything)."""
    if filters is None:
        return Scope()
    sql, params = store.filter_sql(
        year=filters.year,
        year_from=filters.year_from,
        year_to=filters.year_to,
        listing=filters.listing,
        author=filters.author,
        paper_ids=filters.paper_ids,
    )
    parts, post_filter = year_where(filters), False
    if filters.listing or filters.author or filters.paper_ids is not None:
        ids = store.filtered_paper_ids(sql, params, IN_LIMIT)
        if ids is not None and not ids:
            return Scope(empty=True)
        if ids is not None:
            parts.append({"paper_id": {"$in": ids}})
        else:
            post_filter = True  # too many to list: dense candidates are checked against the store
    where = parts[0] if len(parts) == 1 else ({"$and": parts} if parts else None)
    return Scope(where=where, sql=sql, params=params, post_filter=post_filter)


class Retriever:
    """Searches one PaperIndex; `mode` is 'hybrid', 'dense' or 'bm25'."""

    def __init__(self, index: PaperIndex):
        self.index = index

    def search(self, query: str, k: int = 10, filters=None, mode: str | None = None) -> list[Hit]:
        """The k best papers for a query, one hit per paper (its best chunk), best first."""
        settings = self.index.settings.retrieval
        mode = mode or settings.mode
        scope = scope_for(Filters.of(filters), self.index.store)
        if scope.empty:
            return []
        n = max(settings.candidates, 3 * k)
        dense = self._dense(query, n, scope) if mode != "bm25" else []
        lexical = self.index.store.lexical(query, n, scope.sql, scope.params) if mode != "dense" else []
        fused = rrf(
            [[cid for cid, _, _ in dense], [cid for cid, _, _ in lexical]],
            settings.rrf_k,
            [settings.dense_weight, 1.0],
        )
        return self._group(fused, dense, lexical, k)

    def _dense(self, query: str, n: int, scope: Scope) -> list[tuple[str, str, float]]:
        vector = self.index.embedder.embed_query(query)
        if scope.where is not None and "paper_id" not in json.dumps(scope.where):
            # A year filter: checking the nearest few hundred is much cheaper than Chroma's filtered search.
            found = self.index.dense_query(
                vector, n, accept=lambda meta: matches_where(meta, scope.where), fetch=OVERFETCH * n
            )
            if len(found) >= n // 4:  # the nearest chunks of that year, in order; enough candidates for fusion
                return found
        if not scope.post_filter:
            return self.index.dense_query(vector, n, scope.where)
        found = self.index.dense_query(vector, 10 * n, scope.where)
        passing = set(
            self.index.store.filtered_paper_ids(
                f"{scope.sql} AND p.paper_id IN (SELECT value FROM json_each(?))",
                [*scope.params, json.dumps(sorted({pid for _, pid, _ in found}))],
                10 * n,
            )
            or []
        )
        return [hit for hit in found if hit[1] in passing][:n]

    def _group(self, fused: dict[str, float], dense: list, lexical: list, k: int) -> list[Hit]:
        owner = {cid: pid for cid, pid, _ in dense + lexical}
        best: dict[str, tuple[float, str]] = {}
        for cid, score in fused.items():
            pid = owner[cid]
            if pid not in best or score > best[pid][0]:
                best[pid] = (score, cid)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:k]
        papers = self.index.store.papers_by_id([pid for pid, _ in ranked])
        texts = self.index.store.chunk_texts([cid for _, (_, cid) in ranked])
        sims, bm = _best_per_paper(dense), _best_per_paper(lexical)
        hits: list[Hit] = []
        for pid, (score, cid) in ranked:
            paper = papers.get(pid)
            if paper is None:  # removed between the query and now
                continue
            hits.append(
                Hit(
                    paper_id=pid,
                    title=paper.title,
                    abstract=paper.abstract,
                    score=score,
                    rank=len(hits) + 1,
                    chunk_text=texts.get(cid, ""),
                    dense_similarity=sims.get(pid),
                    bm25_score=bm.get(pid),
                    metadata=paper_metadata(paper),
                )
            )
        return hits


def _best_per_paper(found: list[tuple[str, str, float]]) -> dict[str, float]:
    best: dict[str, float] = {}
    for _, pid, score in found:
        best[pid] = max(score, best.get(pid, score))
    return best


def paper_metadata(paper: Paper) -> dict:
    """The metadata shown with a hit."""
    return {
        "listings": paper.listings,
        "date": paper.date,
        "year": paper.year,
        "authors": paper.authors,
        "authors_count": paper.authors_count,
        "authors_partial": paper.authors_partial,
        "organisation": paper.organisation,
        "venue": paper.venue,
        "url": paper.url,
        "code_links": paper.code_links,
        "links": paper.links,
        "title_derived": paper.title_derived,
    }
