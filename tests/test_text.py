"""The shared text features: content words, numbers, named terms, the simplified form for matching."""

import pytest

from assistant.text import content_words, names, numbers, render_math, stem, terms


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Models are Training", {"model", "train"}),
        ("the paper proposes a method", set()),
        ("low-rank adaptation of LLMs", {"low-rank", "adapt", "llms"}),
    ],
)
def test_content_words__drops_stopwords_and_stems(text, expected):
    assert content_words(text) == expected


@pytest.mark.parametrize(
    "word, expected", [("embeddings", "embedd"), ("uses", "uses"), ("studies", "stud"), ("gain", "gain")]
)
def test_stem__cuts_one_suffix_from_long_enough_words(word, expected):
    assert stem(word) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("up to 2.5x and 1,000 steps", {"2.5", "1000"}),
        ("no digits here", set()),
        ("4-bit and 8-bit", {"4", "8"}),
    ],
)
def test_numbers__as_written_without_separators(text, expected):
    assert numbers(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("GPT-4 beats LLaMA on ImageNet-1K", {"gpt-4", "llama", "imagenet-1k"}),
        ("Plain words only", set()),
    ],
)
def test_terms__tokens_with_inner_capitals_or_digits(text, expected):
    assert terms(text) == expected


def test_names__adds_capitalised_words_past_the_first():
    assert names("We compare Mistral with GPT-4. Alibaba trains it.") == {"mistral", "gpt-4"}


@pytest.mark.parametrize(
    "text, shown",
    [
        ("up to $2$ perplexity", "up to 2 perplexity"),
        ("the $l_2$-norm", "the l₂-norm"),
        ("$VILA^2$: VILA Augmented VILA", "VILA²: VILA Augmented VILA"),
        ("$\\alpha$-divergence, $3\\times$ faster", "α-divergence, 3× faster"),
        ("$\\mathcal{O}(n^{2})$ memory", "𝒪(n²) memory"),
        ("a $10^{-3}$ rate", "a 10⁻³ rate"),
        ("costs $5 and $10", "costs $5 and $10"),  # money, not math
        ("no math here", "no math here"),
    ],
)
def test_render_math__inline_latex_as_unicode(text, shown):
    assert render_math(text) == shown
