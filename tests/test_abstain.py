"""Abstention that knows the collection: names in questions, the decision, and the real chain on short questions."""

from __future__ import annotations

import pytest

from assistant.abstain import CollectionTerms, coined, decide, question_names, title_phrases
from assistant.records import Hit, Paper

PAPERS = [
    Paper(
        "p1",
        "DANCE: DAta-Network Co-optimization for Efficient Segmentation",
        "We propose DANCE, which slims data and transformers.",
    ),
    Paper(
        "p2",
        "Mamba-FSCIL: Dynamic Adaptation with Selective State Space Model",
        "We build on Mamba, not transformers, for few-shot learning.",
    ),
    Paper("p3", "Hydra: Multi-head Low-rank Adaptation", "Hydra combines adapters of transformers with large LLMs."),
    Paper("p4", "A study of transformers", "Transformers are used by many; we study transformers in vision."),
    Paper("p5", "COLO: COw LOcalization", "We study cow localization in barns."),
]


def hits(*similarities: float) -> list[Hit]:
    return [
        Hit(paper_id=f"p{i}", title="", abstract="", score=0.0, rank=i, dense_similarity=s, bm25_score=1.0)
        for i, s in enumerate(similarities, 1)
    ]


@pytest.mark.parametrize(
    "question, names",
    [
        ("What is DANCE?", ["DANCE"]),
        ("Toolformer?", ["Toolformer"]),
        ("Tell me about Sora and GaLore", ["GaLore", "Sora"]),
        ("How does Mamba-FSCIL work?", ["Mamba-FSCIL"]),
        ("What is the capital of France?", ["France"]),
        ("Which papers study pruning?", []),
        ("Compare C2R and I2MoE", ["C2R", "I2MoE"]),
    ],
)
def test_question_names__coined_terms_acronyms_and_capitalised_words_not_question_words(question, names):
    assert question_names(question) == names


@pytest.mark.parametrize(
    "name, expected", [("MedHallu", True), ("DANCE", True), ("C2R", True), ("Hydra", False), ("Mamba", False)]
)
def test_coined__inner_capitals_acronyms_and_digits(name, expected):
    assert coined(name) is expected


@pytest.mark.parametrize(
    "question, similarities, abstain, named",
    [
        ("What is DANCE?", (0.18,), False, ["p1"]),  # short: a known name answers whatever the similarity
        ("DANCE vs Mamba-FSCIL", (0.1, 0.1), False, ["p1", "p2"]),
        ("Hydra?", (0.1,), False, ["p3"]),  # a plain word in a title is a name too
        ("What is GaLore?", (0.9,), True, []),  # a name no paper mentions
        ("Toolformer?", (0.4,), True, []),
        ("How do I bake bread?", (0.12,), True, []),  # no names, far from every paper
        ("How are vision models pruned?", (0.5,), False, []),  # no names, close enough
        ("Why do Transformers work?", (0.2,), True, []),  # a word many papers use is no name: similarity decides
        ("What do large-LLM agents do?", (0.1,), False, ["p3"]),  # "large LLMs" vouches for the compound
        ("dance?", (0.1,), False, ["p1"]),  # a title's coined name, typed in lower case
        ("mamba-fscil vs dance", (0.1, 0.1), False, ["p1", "p2"]),
        ("hydra?", (0.1,), True, []),  # lower case: only coined names count, not words
        ("what is localization?", (0.1,), True, []),  # "COw LOcalization" coins no name: an abstract writes it
        ("colo?", (0.1,), False, ["p5"]),
    ],
)
def test_decide__known_names_answer_unknown_names_abstain_else_similarity(question, similarities, abstain, named):
    decision = decide(question, hits(*similarities), CollectionTerms(PAPERS), min_similarity=0.28)
    assert decision.abstain is abstain
    assert decision.named_papers == named


def test_title_phrases__three_words_of_one_title_name_that_paper():
    assert title_phrases("What does multi-head low-rank adaptation do?", CollectionTerms(PAPERS)) == {"p3"}
    assert title_phrases("What is a study?", CollectionTerms(PAPERS)) == set()


# ---- the real chain (seed corpus, real Chroma, real embeddings) --------------------------------------
@pytest.mark.parametrize(
    "question, paper_id",
    [
        ("What is DANCE?", "p5ed78b1ca9"),
        ("What is Mamba-FSCIL?", "p7a13cbddc4"),
        ("What does MedHallu measure?", "p86fb7c1170"),
        ("LAME?", "p997bd34a3d"),  # retrieval alone ranks it below the top 5; the name brings it in
        ("evopress", "p682bdb81cf"),  # typed in lower case, as people do
        ("stable-spam code?", "pb63c5c0ae2"),
    ],
)
def test_chain__short_questions_naming_an_indexed_method_are_answered_citing_its_paper(
    seed_assistant, question, paper_id
):
    answer = seed_assistant.ask(question, backend="extractive")
    assert not answer.abstained, answer.notes
    assert answer.citations[0].paper_id == paper_id


@pytest.mark.parametrize(
    "question", ["Toolformer?", "What is GaLore?", "Tell me a joke", "How do I bake sourdough bread?"]
)
def test_chain__short_questions_the_collection_does_not_cover_abstain(seed_assistant, question):
    answer = seed_assistant.ask(question, backend="extractive")
    assert answer.abstained and answer.citations == []


@pytest.mark.parametrize(
    "question, named",
    [
        ("How much faster is Mamba than attention?", ["p2"]),  # a plain word one paper mentions, inside the question
        ("Mamba?", ["p2"]),  # also in that paper's title
        ("Which adapters does Hydra combine?", ["p3"]),
    ],
)
def test_decide__a_plain_word_one_paper_mentions_names_that_paper(question, named):
    assert decide(question, hits(0.1), CollectionTerms(PAPERS), min_similarity=0.28).named_papers == named
