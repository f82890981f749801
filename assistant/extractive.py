"""The extractive backend: no LLM; picks the abstract sentences that best answer the question.

Relevance (sentence-embedding similarity plus query-word overlap) and diversity (maximal
marginal relevance) choose a few sentences; each is quoted verbatim with its paper's number.
Out of scope: support checking (every sentence is its own evidence).
"""

from __future__ import annotations

import numpy as np

from .citations import split_sentences
from .records import Hit
from .text import content_words

NAME = "extractive"
MODEL = "mmr-sentences"


class Extractor:
    """Chooses answer sentences from retrieved abstracts; caches sentence embeddings per paper."""

    def __init__(self, embedder, max_sentences: int = 3, diversity: float = 0.35, per_paper: int = 2):
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.diversity = diversity
        self.per_paper = per_paper
        self._cache: dict[str, tuple[list[str], np.ndarray]] = {}

    def sentences(self, hit: Hit) -> tuple[list[str], np.ndarray]:
        if hit.paper_id not in self._cache:
            sentences = [s for s in split_sentences(hit.abstract) if len(s.split()) >= 5] or [hit.abstract]
            self._cache[hit.paper_id] = (sentences, self.embedder.embed([f"{hit.title}: {s}" for s in sentences]))
        return self._cache[hit.paper_id]

    def choose(self, question: str, hits: list[Hit]) -> list[tuple[str, int]]:
        """[(verbatim sentence, 1-based source number)] in answer order."""
        query = self.embedder.embed_query(question)
        query_words = content_words(question)
        pool = []
        for number, hit in enumerate(hits, 1):
            sentences, vectors = self.sentences(hit)
            sims = vectors @ query
            for sentence, vector, sim in zip(sentences, vectors, sims):
                overlap = len(query_words & content_words(sentence)) / max(1, len(query_words))
                rank_prior = 0.05 * (len(hits) - number) / max(1, len(hits))
                pool.append((float(sim) + 0.3 * overlap + rank_prior, sentence, vector, number))
        return self._mmr(pool)

    def _mmr(self, pool: list) -> list[tuple[str, int]]:
        chosen: list = []
        per_paper: dict[int, int] = {}
        while pool and len(chosen) < self.max_sentences:
            def gain(item):
                redundancy = max((float(item[2] @ c[2]) for c in chosen), default=0.0)
                return item[0] - self.diversity * redundancy
            best = max(pool, key=gain)
            pool.remove(best)
            if per_paper.get(best[3], 0) >= self.per_paper:
                continue
            if chosen and best[0] < 0.6 * chosen[0][0]:
                break
            chosen.append(best)
            per_paper[best[3]] = per_paper.get(best[3], 0) + 1
        return [(item[1], item[3]) for item in chosen]
