"""Abstention that knows the collection: names in questions, the decision, and the real chain on short questions."""

from __future__ import annotations

import pytest

from assistant.abstain import (
    CollectionTerms,
    coined,
    distinctive_papers,
    own_title,
    question_names,
    title_phrases,
)
from assistant.answerability import (
    FEATURES,
    MONOTONE,
    answerability_features,
    answerable_probability,
    load_model,
)
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
    "question, named",
    [
        ("What is DANCE?", ["p1"]),  # a known coined name points at its paper
        ("DANCE vs Mamba-FSCIL", ["p1", "p2"]),
        ("Hydra?", ["p3"]),  # a plain word in a title is a name too
        ("What is GaLore?", []),  # a name no paper mentions
        ("How do I bake bread?", []),
        ("Why do Transformers work?", []),  # a word many papers use is no name
        ("What do large-LLM agents do?", ["p3"]),  # "large LLMs" vouches for the compound
        ("dance?", ["p1"]),  # a title's coined name, typed in lower case
        ("mamba-fscil vs dance", ["p1", "p2"]),
        ("hydra?", []),  # lower case: only coined names count, not words
        ("what is localization?", []),  # "COw LOcalization" coins no name: an abstract writes it
        ("colo?", ["p5"]),
    ],
)
def test_distinctive_papers__names_point_at_the_few_papers_that_name_them(question, named):
    papers, _ = distinctive_papers(question, hits(0.1, 0.1), CollectionTerms(PAPERS), question_names(question))
    assert papers == named


def paper_hit(paper: Paper, similarity: float) -> Hit:
    return Hit(paper.paper_id, paper.title, paper.abstract, 0.0, 1, dense_similarity=similarity)


@pytest.mark.parametrize(
    "question, hit, expected",
    [
        ("What is DANCE?", (0, 0.5), {"coverage": 1.0, "named": 1.0, "unknown_coined": 0.0, "missing_rare": 0.0}),
        ("What is GaLore?", (0, 0.5), {"unknown_coined": 1.0, "named": 0.0, "unknown_words": 1.0}),
        (
            "Cow localization in barns?",
            (4, 0.3),
            {"unknown_coined": 0.0, "unknown_word_name": 0.0, "unknown_words": 0.0},
        ),
        ("Tell me a joke", (4, 0.3), {"unknown_words": 1.0, "coverage": 0.0}),  # "tell" is no topic word
        ("Which barns hold cows?", (0, 0.3), {"coverage": 0.0, "coverage_first": 0.0}),
    ],
)
def test_answerability_features__coverage_names_and_unknown_words(question, hit, expected):
    index, similarity = hit
    features = answerability_features(question, [paper_hit(PAPERS[index], similarity)], CollectionTerms(PAPERS))
    assert set(features) == set(FEATURES) and features["similarity"] == similarity
    assert {k: round(features[k], 3) for k in expected} == expected


def test_answerable_probability__follows_the_signs_it_was_fitted_under():
    base = {f: 0.0 for f in FEATURES} | {"similarity": 0.5, "similarity_gap": 0.1, "missing_rare": 0.5}
    for feature, sign in MONOTONE.items():
        grid = [answerable_probability(base | {feature: v}) for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
        steps = [sign * (b - a) for a, b in zip(grid, grid[1:])]
        assert all(step >= -1e-9 for step in steps), (feature, grid)
    covered = base | {
        "coverage": 1.0,
        "coverage_first": 1.0,
        "similarity": 0.8,
        "similarity_gap": 0.3,
        "missing_rare": 0,
    }
    assert answerable_probability(covered) > load_model().threshold_ > answerable_probability(base | {"coverage": 0.0})


def test_title_phrases__three_words_of_one_title_name_that_paper():
    assert title_phrases("What does multi-head low-rank adaptation do?", CollectionTerms(PAPERS)) == {"p3"}
    assert title_phrases("What is a study?", CollectionTerms(PAPERS)) == set()


OPENING = "Noise exposure in the neonatal intensive care unit is believed to be a risk factor for hearing loss."


@pytest.mark.parametrize(
    "title, abstract, derived, expected",
    [
        ("DANCE: Data-Network Co-optimization", "We propose DANCE.", False, "DANCE: Data-Network Co-optimization"),
        ("Noise exposure in the neonatal intensive care unit is…", OPENING, False, ""),  # PubMedQA gives the opening
        (
            "C2R: Mixture-of-Experts (MoE) has successfully scaled up…",
            "Mixture-of-Experts (MoE) has scaled.",
            True,
            "C2R",
        ),
        ("Mixture-of-Experts (MoE) has successfully scaled up…", "Mixture-of-Experts (MoE) has scaled.", True, ""),
        ("BACKGROUND: Noise exposure in the neonatal…", "BACKGROUND: Noise exposure in the neonatal unit.", False, ""),
        ("Noise", "Noise is everywhere.", False, "Noise"),  # a short real title that opens its abstract stays
        (
            "Deep learning for protein folding",
            "Deep learning for protein folding. We present X.",
            False,
            "Deep learning for protein folding",
        ),  # a real title an export put in front of the abstract
        ("C2R: C2R: Mixture-of-Experts has…", "C2R: Mixture-of-Experts has scaled.", True, "C2R"),
    ],
    ids=[
        "real-title",
        "opening-given-as-title",
        "derived-with-name",
        "derived",
        "opening-with-heading",
        "short-real",
        "real-title-opening-its-abstract",
        "derived-name-opening-its-abstract",
    ],
)
def test_own_title__an_abstracts_opening_names_no_paper(title, abstract, derived, expected):
    assert own_title(Paper(paper_id="p", title=title, abstract=abstract, title_derived=derived)) == expected


def test_title_phrases__the_opening_of_an_abstract_given_as_its_title_names_nothing():
    papers = [Paper(paper_id="p9", title="Noise exposure in the neonatal intensive care unit is…", abstract=OPENING)]
    assert (
        title_phrases("Does experience influence tests in the neonatal intensive care unit?", CollectionTerms(papers))
        == set()
    )


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
def test_distinctive_papers__a_plain_word_one_paper_mentions_names_that_paper(question, named):
    papers, _ = distinctive_papers(question, hits(0.1), CollectionTerms(PAPERS), question_names(question))
    assert papers == named


# ---- scope: a filter narrows what may answer; a new question is answered on its own terms ------------------
def test_chain__a_named_paper_outside_the_selected_listing_is_not_answered_from_other_papers(seed_assistant):
    dance = seed_assistant.paper("p5ed78b1ca9")
    other = next(p.listings[0] for p in seed_assistant.papers() if not set(p.listings) & set(dance.listings))
    answer = seed_assistant.ask("What is DANCE?", backend="extractive", filters={"listing": other})
    assert answer.abstained and answer.citations == []
    assert any("none of the selected papers mentions DANCE" in n for n in answer.notes), answer.notes
    assert any("outside the selection" in n and dance.title in n for n in answer.notes), answer.notes
    inside = seed_assistant.ask("What is DANCE?", backend="extractive", filters={"listing": dance.listings[0]})
    assert not inside.abstained and inside.citations[0].paper_id == dance.paper_id


def test_chain__a_new_question_after_another_topic_cites_only_its_own_paper(seed_assistant):
    history = [
        {"role": "user", "content": "How does Stable-SPAM stabilise 4-bit training?"},
        {"role": "assistant", "content": "Stable-SPAM … [1]"},
    ]
    answer = seed_assistant.ask("What is EvoPress?", history=history, backend="extractive")
    assert not answer.abstained
    assert {c.paper_id for c in answer.citations} == {"p682bdb81cf"}, [c.title for c in answer.citations]
    off_topic = seed_assistant.ask("What is the capital of France?", history=history, backend="extractive")
    assert off_topic.abstained
