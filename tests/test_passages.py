"""Best passages for small-model prompts: table-driven pure steps, then the real embedder choosing sentences."""

from __future__ import annotations

import pytest

from assistant.embeddings import count_tokens
from assistant.extractive import Extractor
from assistant.passages import best_passages, join_passage, pick_sentences


@pytest.mark.parametrize(
    "scores, tokens, budget, expected",
    [
        ([0.1, 0.9, 0.5], [10, 10, 10], 20, [1, 2]),
        ([0.1, 0.9, 0.5], [10, 10, 10], 100, [0, 1, 2]),
        ([0.1, 0.9, 0.5], [10, 50, 10], 5, [1]),  # the best sentence even when it alone exceeds the budget
        ([0.9, 0.8, 0.7], [10, 30, 10], 25, [0, 2]),  # a long sentence is skipped, a shorter later one still fits
        ([0.5, 0.5], [10, 10], 10, [0]),  # ties: the earlier sentence
        ([], [], 10, []),
    ],
    ids=[
        "best-two-in-text-order",
        "all-fit",
        "best-one-over-budget",
        "skips-what-does-not-fit",
        "tie-earlier",
        "empty",
    ],
)
def test_pick_sentences__best_scores_within_budget_in_text_order(scores, tokens, budget, expected):
    assert pick_sentences(scores, tokens, budget) == expected


@pytest.mark.parametrize(
    "chosen, expected",
    [
        ([0, 1, 2, 3], "A. B. C. D."),
        ([0, 2, 3], "A. … C. D."),
        ([1, 2], "… B. C. …"),
        ([3], "… D."),
        ([0], "A. …"),
    ],
    ids=["whole", "gap-inside", "cut-both-ends", "last-only", "first-only"],
)
def test_join_passage__marks_left_out_sentences_with_an_ellipsis(chosen, expected):
    assert join_passage(["A.", "B.", "C.", "D."], chosen) == expected


@pytest.mark.slow
def test_best_passages__whole_abstracts_when_they_fit_else_the_relevant_sentences(seed_assistant, embedder):
    question = "How does Stable-SPAM stabilise 4-bit training?"
    hits = seed_assistant.search(question, k=4)
    extractor = Extractor(embedder)
    assert best_passages(question, hits, extractor, 100_000) == [h.abstract for h in hits]
    passages = best_passages(question, hits, extractor, 240)
    assert len(passages) == 4
    assert sum(count_tokens(p) for p in passages) < sum(count_tokens(h.abstract) for h in hits) / 2
    assert "Stable-SPAM" in passages[0] and "4-bit" in passages[0]
    for passage, hit in zip(passages, hits):
        pieces = [s for s in passage.replace("…", "\n").splitlines() if s.strip()]
        assert pieces and all(piece.strip() in hit.abstract for piece in pieces)  # verbatim, only shortened
