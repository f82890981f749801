"""The passages an LLM prompt shows: whole abstracts when they fit the backend's token budget, else each
retrieved paper's sentences most relevant to the question, in their original order.

Small local models read slowly (about 125 prompt tokens/s for Qwen2.5-Coder-0.5B on 2 cores) and lose
the thread in long prompts, so the prompt carries the best passages rather than every full abstract.
Out of scope: choosing the papers (see `retrieve`) and the prompt's wording (see `prompts/`).
"""

from __future__ import annotations

from .embeddings import count_tokens
from .records import Hit
from .text import content_words

GAP = " … "


def pick_sentences(scores: list[float], tokens: list[int], budget: int) -> list[int]:
    """Indices of the best-scoring sentences that fit `budget` tokens (at least the best one), in text order.

    Example: pick_sentences([0.1, 0.9, 0.5], [10, 10, 10], 20) == [1, 2]
    """
    chosen: list[int] = []
    used = 0
    for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i)):
        if chosen and used + tokens[i] > budget:
            continue
        chosen.append(i)
        used += tokens[i]
    return sorted(chosen)


def join_passage(sentences: list[str], chosen: list[int]) -> str:
    """The chosen sentences in order, with an ellipsis where sentences were left out.

    Example: join_passage(["A.", "B.", "C.", "D."], [0, 2, 3]) == "A. … C. D."
    """
    parts = []
    for position, i in enumerate(chosen):
        if position and i != chosen[position - 1] + 1:
            parts.append(GAP.strip())
        parts.append(sentences[i])
    text = " ".join(parts)
    if chosen and chosen[0] > 0:
        text = GAP.lstrip() + text
    if chosen and chosen[-1] < len(sentences) - 1:
        text += GAP.rstrip()
    return text


def best_passages(question: str, hits: list[Hit], extractor, budget: int) -> list[str]:
    """One passage per hit: its whole abstract when all fit `budget` tokens, else its most relevant sentences."""
    abstracts = [h.abstract for h in hits]
    if not hits or sum(count_tokens(a) for a in abstracts) <= budget:
        return abstracts
    query = extractor.embedder.embed_query(question)
    query_words = content_words(question)
    share = max(budget // len(hits), 1)
    passages = []
    for hit in hits:
        sentences, vectors = extractor.sentences(hit)
        sims = vectors @ query
        scores = [
            float(sim) + 0.3 * len(query_words & content_words(s)) / max(1, len(query_words))
            for s, sim in zip(sentences, sims)
        ]
        chosen = pick_sentences(scores, [count_tokens(s) for s in sentences], share)
        passages.append(join_passage(sentences, chosen))
    return passages
