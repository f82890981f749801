"""The three-way claim check and yes/no findings: pure steps table by table, then the shipped claim model, the
chain (extractive and a scripted LLM) and the SciFact and PubMedQA measures.

Out of scope: the claim model's accuracy on held-out data (`assistant eval scifact`, `assistant eval pubmedqa`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeLLM, WordClaimModel

from assistant.api import Assistant
from assistant.config import LLMSettings, Settings
from assistant.entailment import Entailment, decide, load_claim_model
from assistant.errors import AssistantError
from assistant.evaluation.datasets import finding_scores
from assistant.evaluation.scifact import gold_pairs, gold_scores, open_scores
from assistant.finding import combine, echoes, is_yes_no, stated
from assistant.minilm import ONNX_DIR
from assistant.prompts import example_sentences, render
from assistant.terminal import answer_to_text
from assistant.tools import answer_payload

INPUTS = ("input_ids", "attention_mask", "token_type_ids")

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
    "sentence, question, expected",
    [
        (
            "Vancomycin MIC creep is a worldwide phenomenon [1].",
            "Is vancomycin MIC creep a worldwide phenomenon?",
            True,
        ),
        (
            "The sequence of clamp application during open abdominal aortic aneurysm surgery influences distal "
            "embolisation [1][2].",
            "Does the sequence of clamp application influence distal embolisation?",
            True,
        ),
        (
            "Over 12 years, the MIC of vancomycin against MRSA isolates rose in two of 14 hospitals surveyed [1].",
            "Is vancomycin MIC creep a worldwide phenomenon?",
            False,
        ),
    ],
)
def test_echoes__a_restated_question(sentence, question, expected):
    assert echoes(sentence, question) is expected


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


# ---- a claim model in ONNX Runtime ------------------------------------------------------------------------------
def tiny_claim_model(folder: Path) -> Path:
    """A real ONNX graph and the bundled tokenizer: mean of per-token logits; the token "not" pulls towards the
    first output, named "contradiction" in NLI order (contradiction, entailment, neutral), every other token
    towards "neutral"."""
    import onnx
    from onnx import TensorProto, helper
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(ONNX_DIR / "tokenizer.json"))
    table = np.tile(np.array([0.0, 0.0, 1.0], dtype=np.float32), (tokenizer.get_vocab_size(), 1))
    table[tokenizer.token_to_id("not")] = [60.0, 0.0, 0.0]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "tokens"]) for n in INPUTS]
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["per_token"]),
            helper.make_node("ReduceMean", ["per_token", "axes"], ["logits"], keepdims=0),
        ],
        "tiny-claim-model",
        inputs,
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        [
            helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.flatten().tolist()),
            helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
        ],
    )
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(folder / "model.onnx"))
    (folder / "tokenizer.json").write_text((ONNX_DIR / "tokenizer.json").read_text())
    manifest = {"name": "tiny", "labels": ["contradiction", "entailment", "neutral"], "max_tokens": 64}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_claim_model__onnx_outputs_in_our_label_order(tmp_path):
    model = load_claim_model(tiny_claim_model(tmp_path / "model"))
    probabilities = model.probabilities("X helps", ["It does not help.", "It helps a lot."])
    assert probabilities.shape == (2, 3) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert probabilities[0].argmax() == 2 and probabilities[1].argmax() == 0  # contradicts; not enough info
    assert model.judge("X helps", ["It does not help.", "It helps."]).label == "contradicts"
    assert model.name.startswith("tiny:")
    assert load_claim_model(None) is None


@pytest.mark.parametrize(
    "files, labels, message",
    [
        ({"tokenizer.json"}, ["supports", "contradicts", "not_enough_info"], "needs model.onnx"),
        ({"tokenizer.json", "model.onnx"}, ["yes", "no", "maybe"], "are not three of"),
        ({"tokenizer.json", "model.onnx"}, ["supports", "contradicts", "not_enough_info"], "cannot run it"),
    ],
)
def test_claim_model__incomplete_folders_are_refused(tmp_path, files, labels, message):
    for name in files:
        (tmp_path / name).write_text("x")
    (tmp_path / "manifest.json").write_text(json.dumps({"labels": labels}))
    with pytest.raises(AssistantError, match=message):
        load_claim_model(tmp_path)


# ---- in answers (a claim model by rule: what the chain does with its verdicts) -----------------------------------
SPAM_QUESTION = "Does Stable-SPAM stabilise 4-bit LLM training?"
OPPOSITE = "Stable-SPAM destabilizes gradient norms and makes 4-bit LLM training diverge"


@pytest.fixture(scope="module")
def fake() -> FakeLLM:
    return FakeLLM()


@pytest.fixture(scope="module")
def llm_assistant(seed_index_dir, embedder, fake) -> Assistant:
    settings = Settings(llm=LLMSettings(backend="openai"))
    return Assistant(
        index_dir=seed_index_dir,
        settings=settings,
        embedder=embedder,
        backends={"openai": fake},
        claim_model=WordClaimModel(),
    )


def spam_number(assistant: Assistant, question: str) -> int:
    hits = assistant.search(question, k=assistant.settings.retrieval.k)
    return next(n for n, h in enumerate(hits, 1) if h.title.startswith("Stable-SPAM"))


@pytest.mark.slow
def test_llm_answer__the_prompt_example_is_dropped(llm_assistant, fake):
    fake.reset()
    question = "How does Stable-SPAM stabilise 4-bit training?"
    n = spam_number(llm_assistant, question)
    fake.enqueue(
        f"The Quillfeather glaze dried on fences in two hours instead of six [{n}]. {SPAM_SENTENCE[:-1]} [{n}]."
    )
    answer = llm_assistant.ask(question)
    assert all("Quillfeather" not in s.text for s in answer.sentences) and len(answer.sentences) == 1
    assert any("copied from the prompt's example" in note for note in answer.notes)


@pytest.mark.slow
def test_llm_answer__the_opposite_of_the_source_is_contradicted(llm_assistant, fake):
    fake.reset()
    n = spam_number(llm_assistant, SPAM_QUESTION)
    fake.enqueue(f"No. {OPPOSITE} [{n}].")
    answer = llm_assistant.ask(SPAM_QUESTION)
    first, second = answer.sentences
    assert first.verdict == "finding" and second.verdict == "contradicted" and second.judge == "word-claim-model"
    assert answer.finding == "yes"  # the claim check of the cited paper, not the model's "No."
    assert any("the model answered 'no'" in note for note in answer.notes)
    assert "[contradicted by a cited paper]" in answer_to_text(answer)
    assert answer_payload(answer)["finding"] == "yes"


class SilentClaimModel:
    """A claim model to which no passage speaks: every pair is not enough information."""

    name = "silent-claim-model"

    def probabilities(self, claim: str, passages: list[str]):
        return np.tile([0.9, 0.05, 0.05], (len(passages), 1))

    def judge(self, claim: str, passages: list[str]):
        return decide(self.probabilities(claim, passages), passages)


@pytest.mark.slow
def test_llm_answer__a_restated_question_needs_a_finding(llm_assistant, fake):
    fake.reset()
    n = spam_number(llm_assistant, SPAM_QUESTION)
    restated = f"Stable-SPAM stabilises 4-bit LLM training [{n}]."
    verifier = llm_assistant.verifier
    verifier.claim_model = SilentClaimModel()
    try:
        fake.enqueue(restated)
        echo = llm_assistant.ask(SPAM_QUESTION).sentences[0]
        fake.enqueue(restated)
        other = llm_assistant.ask("How does Stable-SPAM stabilise 4-bit training?").sentences[0]
    finally:
        verifier.claim_model = WordClaimModel()
    # for the yes/no question it restates, no paper's finding backs it; asked otherwise, the support check judges it
    assert echo.verdict == "unsupported" and echo.judge == "silent-claim-model"
    assert other.judge != "silent-claim-model" and other.verdict == "supported"


@pytest.mark.slow
def test_extractive_answer__a_yes_no_question_gets_its_finding(seed_index_dir, embedder):
    assistant = Assistant(index_dir=seed_index_dir, embedder=embedder, claim_model=WordClaimModel())
    answer = assistant.ask(SPAM_QUESTION, backend="extractive")
    assert answer.finding == "yes"
    assert answer.sentences[0].verdict == "finding" and answer.sentences[0].text.startswith("Yes")
    assert all(s.verdict == "supported" and s.citations for s in answer.sentences[1:])
    assert answer.to_dict()["finding"] == "yes"
    strict = assistant.ask(SPAM_QUESTION, backend="extractive", strict=True)  # --strict keeps what is no claim
    assert strict.finding == "yes" and strict.sentences[0].verdict == "finding"
    listed = assistant.ask("Which papers study backdoor attacks?", backend="extractive", strict=True)
    assert listed.sentences[0].verdict == "listing" and "indexed papers match" in listed.sentences[0].text
    other = assistant.ask("How does Stable-SPAM stabilise 4-bit training?", backend="extractive")
    assert other.finding is None and all(s.verdict != "finding" for s in other.sentences)
    check = assistant.check(f"{OPPOSITE}.", k=2)
    assert check.papers[0].label == "contradicts" and "contradicted by 1" in check.summary


@pytest.mark.slow
def test_without_a_claim_model__no_finding_and_two_labels(seed_assistant):
    assert seed_assistant.verifier.claim_model is None
    answer = seed_assistant.ask(SPAM_QUESTION, backend="extractive")
    assert answer.finding is None and all(s.verdict != "finding" for s in answer.sentences)
    assert {p.label for p in seed_assistant.check(f"{OPPOSITE}.", k=3).papers} <= {"supports", "not_enough_info"}
