"""The verifier's generated training claims (eval/make_verifier_training.py): changes of one sentence, determinism, no test claims."""

import importlib.util
import json
import random
from pathlib import Path

import pytest

from assistant.text import simplify

EVAL_DIR = Path(__file__).resolve().parent.parent / "eval"
spec = importlib.util.spec_from_file_location("make_verifier_training", EVAL_DIR / "make_verifier_training.py")
training = importlib.util.module_from_spec(spec)
spec.loader.exec_module(training)

NEGATE = {
    "not after the first auxiliary": ("The filter is robust to attacks.", "The filter is not robust to attacks."),
    "negation removed": ("The filter cannot be bypassed.", "The filter can be bypassed."),
    "does not before a main verb": (
        "Our method outperforms the baselines.",
        "Our method does not outperform the baselines.",
    ),
    "nothing to negate": ("A new benchmark for code.", None),
}


@pytest.mark.parametrize("sentence, expected", NEGATE.values(), ids=NEGATE.keys())
def test_negate(sentence, expected):
    assert training.negate(sentence, random.Random(0)) == expected


REVERSE = {
    "comparison sides swapped": (
        "GraphNet outperforms TreeNet on parsing.",
        "TreeNet outperforms GraphNet on parsing.",
    ),
    "direction word turned round": ("Pruning reduces the memory footprint.", "Pruning increases the memory footprint."),
    "antonym": ("The graph stays static.", "The graph stays dynamic."),
    "nothing to reverse": ("A new benchmark for code.", None),
}


@pytest.mark.parametrize("sentence, expected", REVERSE.values(), ids=REVERSE.keys())
def test_reverse(sentence, expected):
    assert training.reverse(sentence, random.Random(1)) == expected


def test_change_number__changes_exactly_one_number():
    changed = training.change_number("It uses 206 metrics and reaches 7.8% error.", random.Random(0))
    assert changed != "It uses 206 metrics and reaches 7.8% error."
    assert ("206" in changed) != ("7.8%" in changed)


@pytest.fixture(scope="module")
def abstracts():
    return training.load_abstracts()


def test_generate__is_deterministic_for_a_seed(abstracts):
    first = training.generate(abstracts, seed=3)
    assert first == training.generate(abstracts, seed=3)
    assert first != training.generate(abstracts, seed=4)
    assert {r["label"] for r in first} == {"supported", "unsupported"}
    assert {"negation", "reversal", "number", "entity_swap", "other_paper", "verbatim", "paraphrase"} <= {
        r["kind"] for r in first
    }


def test_generate__never_emits_a_test_claim_nor_a_held_out_sentence(abstracts):
    rows = [json.loads(line) for line in (EVAL_DIR / "claims.jsonl").read_text().splitlines() if line.strip()]
    test_claims = {simplify(r["claim"]) for r in rows if r["split"] == "test"}
    held_out, _ = training.held_out(abstracts)
    generated = training.generate(abstracts, seed=12)
    assert held_out and not {simplify(r["claim"]) for r in generated} & test_claims
    assert not {(r["paper_id"], r["claim"]) for r in generated} & held_out
