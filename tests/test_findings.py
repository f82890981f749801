"""The three-way claim check and yes/no findings: pure steps table by table, then the shipped claim model, the
chain (extractive and a scripted LLM) and the SciFact and PubMedQA measures.

Out of scope: the claim model's accuracy on held-out data (`assistant eval scifact`, `assistant eval pubmedqa`).
"""

from __future__ import annotations

import numpy as np
import pytest
from fakes import FakeLLM

from assistant.api import Assistant
from assistant.config import LLMSettings, Settings
from assistant.entailment import ClaimModel, Entailment, decide, shipped_model
from assistant.evaluation.datasets import finding_scores
from assistant.evaluation.scifact import gold_pairs, gold_scores, open_scores
from assistant.finding import combine, is_yes_no, stated
from assistant.prompts import example_sentences, render

SPAM_CLAIM = "Stable-SPAM stabilizes gradient norms in 4-bit LLM training."
SPAM_SENTENCE = "Stable-SPAM stabilizes gradient norms in 4-bit training, and outperforms Adam in 4-bit LLM training."


@pytest.mark.parametrize(
    "rows, label, evidence",
    [
        ([[0.1, 0.8, 0.1], [0.9, 0.05, 0.05]], "supports", ["a"]),
        ([[0.9, 0.05, 0.05], [0.2, 0.1, 0.7]], "contradicts", ["b"]),
        ([[0.7, 0.2, 0.1], [0.8, 0.1, 0.1]], "not_enough_info", ["a"]),  # nothing speaks: the closest is shown
        ([[0.1, 0.5, 0.4], [0.1, 0.1, 0.8]], "contradicts", ["b", "a"]),  # the votes add up
        ([], "not_enough_info", []),
    ],
)
def test_decide__speaking_passages_vote(rows, label, evidence):
    passages = ["a", "b"][: len(rows)]
    verdict = decide(np.array(rows).reshape(len(rows), 3), passages)
    assert verdict.label == label and verdict.evidence == evidence
    assert 0.0 <= verdict.score <= 1.0


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Does aspirin reduce pain?", True),
        ("Is vancomycin MIC creep a worldwide phenomenon?", True),
        ("Double balloon enteroscopy: is it efficacious and safe in a community setting?", True),
        ("Aripiprazole: a new risk factor for pathological gambling?", True),
        ("Suturing of the nasal septum after septoplasty, is it an effective alternative to nasal packing?", True),
        ("Is it safe or not?", True),
        ("Is A or B faster?", False),
        ("What is DANCE?", False),
        ("How does Stable-SPAM stabilise 4-bit training?", False),
        ("Which papers study backdoor attacks?", False),
        ("Are there any papers on RLHF?", False),
        ("Can you list the papers on pruning?", False),
        ("Compare Stable-SPAM and EvoPress", False),
        ("DANCE?", False),
    ],
)
def test_is_yes_no(question, expected):
    assert is_yes_no(question) is expected


@pytest.mark.parametrize(
    "labels, expected",
    [
        (["supports", "not_enough_info"], "yes"),
        (["contradicts"], "no"),
        (["supports", "contradicts"], "mixed"),
        (["not_enough_info", "not_enough_info"], "unclear"),
        ([], "unclear"),
    ],
)
def test_combine(labels, expected):
    assert combine([Entailment(label, 0.9) for label in labels]) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Yes. It does [1].", "yes"),
        ("No, the trial found no difference [1].", "no"),
        ("No paper reports this.", None),
        ("The papers do not settle it.", "unclear"),
        ("Nasogastric decompression is useful [1].", None),
    ],
)
def test_stated(text, expected):
    assert stated(text) == expected


@pytest.mark.parametrize(
    "pairs, expected",
    [
        ([("yes", "yes"), ("no", "no")], {"finding_accuracy": 1.0, "finding_reversals": 0.0, "finding_given": 1.0}),
        ([("yes", "no"), ("unclear", "maybe")], {"finding_accuracy": 0.5, "finding_reversals": 0.5}),
        ([(None, "yes"), ("mixed", "maybe")], {"finding_accuracy": 0.5, "finding_given": 0.5}),
    ],
)
def test_finding_scores(pairs, expected):
    scores = finding_scores(pairs)
    assert {k: scores[k] for k in expected} == expected


def test_scifact_scores__gold_and_open():
    claims = [
        {
            "id": 1,
            "claim": "a",
            "cited_doc_ids": [10, 11],
            "evidence": {"10": [{"sentences": [0], "label": "SUPPORT"}]},
        },
        {"id": 2, "claim": "b", "cited_doc_ids": [20], "evidence": {"20": [{"sentences": [1], "label": "CONTRADICT"}]}},
    ]
    pairs = gold_pairs(claims)
    assert [(c["id"], doc, gold) for c, doc, gold in pairs] == [
        (1, 10, "supports"),
        (1, 11, "not_enough_info"),
        (2, 20, "contradicts"),
    ]
    rows = [{"gold": g, "label": label} for (_, _, g), label in zip(pairs, ["supports", "supports", "supports"])]
    scores = gold_scores(rows)
    assert scores["recall_supports"] == 1.0 and scores["balanced_accuracy_support_vs_contradict"] == 0.5
    assert scores["balanced_accuracy_support_vs_no_evidence"] == 0.5
    found = open_scores(claims, {1: {10: "supports", 12: "contradicts"}, 2: {20: "supports"}})
    assert (found["correct"], found["predicted"], found["gold"]) == (1, 3, 2)
    assert found["f1"] == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5), abs=1e-4)


def test_prompt_example__is_invented_and_known():
    examples = example_sentences()
    assert examples and all("quillfeather" in s or "coat" in s for s in examples)
    assert "Quillfeather" in render("answer", sources="S", question="Q", max_sentences=4)


# ---- the shipped claim model -------------------------------------------------------------------------------------
needs_model = pytest.mark.skipif(shipped_model() is None, reason="the claim model is not in assistant/data/claim_model")


@needs_model
def test_claim_model__a_claim_and_its_opposite():
    model = ClaimModel()
    probabilities = model.probabilities(
        SPAM_CLAIM, [SPAM_SENTENCE, "We evaluate on ImageNet with a ResNet-50 backbone."]
    )
    assert probabilities.shape == (2, 3) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert model.judge(SPAM_CLAIM, [SPAM_SENTENCE]).label == "supports"
    opposite = "Stable-SPAM destabilizes gradient norms and makes 4-bit LLM training diverge."
    assert model.judge(opposite, [SPAM_SENTENCE]).label == "contradicts"
    unrelated = "Protein folding is predicted from sequence alone."
    assert model.judge(unrelated, [SPAM_SENTENCE]).label == "not_enough_info"


# ---- in answers ---------------------------------------------------------------------------------------------------
SPAM_QUESTION = "Does Stable-SPAM stabilise 4-bit LLM training?"


@pytest.fixture(scope="module")
def fake() -> FakeLLM:
    return FakeLLM()


@pytest.fixture(scope="module")
def llm_assistant(seed_index_dir, embedder, fake) -> Assistant:
    settings = Settings(llm=LLMSettings(backend="openai"))
    return Assistant(index_dir=seed_index_dir, settings=settings, embedder=embedder, backends={"openai": fake})


def spam_number(assistant: Assistant, question: str) -> int:
    hits = assistant.search(question, k=assistant.settings.retrieval.k)
    return next(n for n, h in enumerate(hits, 1) if h.title.startswith("Stable-SPAM"))


@pytest.mark.slow
def test_llm_answer__the_prompt_example_is_dropped(llm_assistant, fake):
    fake.reset()
    n = spam_number(llm_assistant, "How does Stable-SPAM stabilise 4-bit training?")
    fake.enqueue(
        f"The Quillfeather glaze dried on fences in two hours instead of six [{n}]. {SPAM_SENTENCE[:-1]} [{n}]."
    )
    answer = llm_assistant.ask("How does Stable-SPAM stabilise 4-bit training?")
    assert all("Quillfeather" not in s.text for s in answer.sentences) and len(answer.sentences) == 1
    assert any("copied from the prompt's example" in note for note in answer.notes)


@needs_model
@pytest.mark.slow
def test_llm_answer__the_opposite_of_the_source_is_contradicted(llm_assistant, fake):
    fake.reset()
    n = spam_number(llm_assistant, SPAM_QUESTION)
    fake.enqueue(f"No. Stable-SPAM destabilizes gradient norms and makes 4-bit LLM training diverge [{n}].")
    answer = llm_assistant.ask(SPAM_QUESTION)
    first, second = answer.sentences
    assert first.verdict == "finding" and second.verdict == "contradicted"
    assert answer.finding == "yes"  # the claim check of the cited paper, not the model's "No."
    assert any("the model answered 'no'" in note for note in answer.notes)


@needs_model
@pytest.mark.slow
def test_extractive_answer__a_yes_no_question_gets_its_finding(seed_assistant):
    answer = seed_assistant.ask(SPAM_QUESTION, backend="extractive")
    assert answer.finding == "yes"
    assert answer.sentences[0].verdict == "finding" and answer.sentences[0].text.startswith("Yes")
    assert all(s.verdict == "supported" and s.citations for s in answer.sentences[1:])
    assert answer.to_dict()["finding"] == "yes"
    other = seed_assistant.ask("How does Stable-SPAM stabilise 4-bit training?", backend="extractive")
    assert other.finding is None and all(s.verdict != "finding" for s in other.sentences)
