"""Follow-up rewrites: table-driven checks of when a model's rewrite may replace the user's question."""

from __future__ import annotations

import pytest

from assistant.followup import acceptable_rewrite, clean_rewrite, lexical_rewrite

SOURDOUGH = "What is the best recipe for sourdough bread?"


@pytest.mark.parametrize(
    "question, rewrite, accepted",
    [
        ("What speed-up does it report?", "What speed-up does Meta-Learning for decentralized inference report?", True),
        (SOURDOUGH, "How can a 7B LLM be trained on a single GPU?", False),
        (SOURDOUGH, "What is the best recipe for sourdough bread?", True),
        ("How does it compare with Adam?", "Stable-SPAM trains in 4 bits more stably than Adam.", False),
        ("How does it compare with Adam?", "How does Stable-SPAM compare with Adam in 4-bit training?", True),
        ("Which datasets did they use?", "Which datasets did MedHallu use?", True),
        ("Which datasets did they use for hallucination detection?", "Which papers study 4-bit training?", False),
        ("What about it?", "What about Stable-SPAM?", True),  # nothing of the user's to keep
    ],
    ids=[
        "keeps-terms",
        "sourdough-hijack",
        "sourdough-kept",
        "answers-instead-of-asking",
        "resolves-pronoun",
        "resolves-they",
        "drifts-to-another-topic",
        "no-key-terms",
    ],
)
def test_acceptable_rewrite__a_question_keeping_the_users_key_terms(question, rewrite, accepted):
    assert acceptable_rewrite(question, rewrite) is accepted


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Standalone question: What is X?\nIt is Y.", "What is X?"),
        ("\n  Question: How does Z work?  ", "How does Z work?"),
        ("What is X?", "What is X?"),
        ("", ""),
    ],
    ids=["label-and-extra-line", "question-label", "plain", "empty"],
)
def test_clean_rewrite__first_line_without_a_label(text, expected):
    assert clean_rewrite(text) == expected


@pytest.mark.parametrize(
    "question, previous, expected",
    [
        (
            "What speed-up does it report?",
            ["How does DANCE work?"],
            "How does DANCE work? What speed-up does it report?",
        ),
        ("And the memory cost?", ["How does DANCE work?"], "How does DANCE work? And the memory cost?"),
        (SOURDOUGH, ["How can a 7B LLM be trained?"], SOURDOUGH),
        ("What speed-up does it report?", [], "What speed-up does it report?"),
        ("What is EvoPress?", ["How does Stable-SPAM stabilise 4-bit training?"], "What is EvoPress?"),
        ("What is the capital of France?", ["Which papers study backdoor attacks?"], "What is the capital of France?"),
        (
            "What about ImageNet?",
            ["How well does DANCE do on CIFAR?"],
            "How well does DANCE do on CIFAR? What about ImageNet?",
        ),
        ("How much faster?", ["What is DANCE?"], "What is DANCE? How much faster?"),
    ],
    ids=[
        "pronoun",
        "short",
        "standalone-stays",
        "no-history",
        "own-name",
        "off-topic-name",
        "what-about",
        "short-no-name",
    ],
)
def test_lexical_rewrite__joins_only_real_follow_ups(question, previous, expected):
    assert lexical_rewrite(question, previous) == expected
