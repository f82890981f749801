"""The offline verifier's pure feature steps (table-driven), and its verdicts with the real embedding model."""

import pytest

from assistant.text import quantities
from assistant.verify import DEFAULT_WEIGHTS, Verifier, load_weights, missing_names, number_mismatch, polarity_mismatch, probability

QUANTITIES = {
    "digits and words": ("five models on 3 datasets", [("5", "model"), ("3", "dataset")]),
    "percent and decimals": ("a 4.0% decline at 50% pruning", [("4.0", "decline"), ("50", "prun")]),
    "thousands separator": ("1,254 images", [("1254", "imag")]),
    "'one' is not a count": ("one of the best", []),
    "multiplier": ("up to 230x", [("230", "x")]),
}


@pytest.mark.parametrize("text, expected", QUANTITIES.values(), ids=QUANTITIES.keys())
def test_quantities__pairs_each_number_with_what_it_counts(text, expected):
    assert quantities(text) == expected


NUMBERS = {
    "same numbers": ("evaluated on 5 models and 3 datasets", "We evaluate five models on three datasets.", 0.0),
    "number missing": ("It improves accuracy by 27%.", "It improves accuracy by over 37%.", 1.0),
    "number word vs digit": ("It uses twelve benchmarks.", "Across 12 benchmarks it wins.", 0.0),
    "count moved to another noun": ("15 methods across 5 datasets", "We evaluate 15 methods on 12 datasets with 5 dimensions.", 1.0),
    "LaTeX percent": ("It keeps 96.7% of the performance.", "we maintain 96.7\\% of the performance", 0.0),
    "no numbers": ("It is fast.", "It is fast.", 0.0),
}


@pytest.mark.parametrize("claim, source, expected", NUMBERS.values(), ids=NUMBERS.keys())
def test_number_mismatch(claim, source, expected):
    assert number_mismatch(claim, source) == expected


NAMES = {
    "swapped dataset": ("Experiments on MMBench show gains.", "It leads the MMMU leaderboard.", {"mmbench"}),
    "capitalised proper noun": ("It was tested on Llama and Mistral.", "Experiments on Llama and Qwen.", {"mistral"}),
    "acronym spelled out": ("NOTE uses DPO.", "NOTE applies direct preference optimization.", set()),
    "case and hyphen differences": ("Results on ImageNet-1K.", "results on imagenet 1k", set()),
    "sentence-initial word ignored": ("Experiments confirm it.", "It is confirmed.", set()),
}


@pytest.mark.parametrize("claim, source, expected", NAMES.values(), ids=NAMES.keys())
def test_missing_names(claim, source, expected):
    assert missing_names(claim, source) == expected


POLARITY = {
    "direction flipped": ("It increases the number of minima.", "It reduces the number of minima.", 1.0),
    "negation added": ("Larger models reliably have better skills.", "Larger models do not necessarily have better skills.", 1.0),
    "prefix negation": ("It relies on commutative binding.", "It needs binding that is non-commutative.", 1.0),
    "shared direction word cancels": ("With a FLOPs reduction, accuracy is lower.", "With a FLOPs reduction, accuracy improves.", 1.0),
    "paraphrased negation": ("It does not prune weights outright.", "Instead of directly pruning weights, it factorizes.", 0.0),
    "agreement": ("It outperforms the baselines.", "It consistently outperforms baselines.", 0.0),
}


@pytest.mark.parametrize("claim, passage, expected", POLARITY.values(), ids=POLARITY.keys())
def test_polarity_mismatch(claim, passage, expected):
    assert polarity_mismatch(claim, passage) == expected


def test_probability__is_monotone_in_each_feature_with_the_shipped_weights():
    weights = load_weights()
    base = {"similarity": 0.8, "coverage": 0.8, "number_mismatch": 0.0, "name_mismatch": 0.0, "polarity_mismatch": 0.0}
    p = probability(base, weights)
    assert probability({**base, "similarity": 0.9}, weights) > p
    assert probability({**base, "coverage": 0.9}, weights) > p
    for mismatch in ("number_mismatch", "name_mismatch", "polarity_mismatch"):
        assert probability({**base, mismatch: 1.0}, weights) < p
    assert set(DEFAULT_WEIGHTS) == set(weights)


SOURCE = ("CloudFormer is a dual-branch Transformer model for VM performance degradation. "
          "It attains a mean absolute error of 7.8% using 206 system metrics, and outperforms prior baselines.")
VERDICTS = {
    "verbatim": ("CloudFormer attains a mean absolute error of 7.8% using 206 system metrics.", "supported"),
    "paraphrase": ("CloudFormer predicts VM performance degradation with a dual-branch Transformer.", "supported"),
    "changed number": ("CloudFormer attains a mean absolute error of 3.1% using 206 system metrics.", "unsupported"),
    "swapped name": ("CloudFormer is a dual-branch Mamba model for VM performance degradation.", "unsupported"),
    "negated finding": ("CloudFormer fails to outperform prior baselines.", "unsupported"),
    "unrelated": ("The penguin colony doubled in size after the storm.", "unsupported"),
}


@pytest.mark.parametrize("claim, label", VERDICTS.values(), ids=VERDICTS.keys())
def test_verifier__labels_claims_with_the_real_embedding_model(embedder, claim, label):
    verdict = Verifier(embedder).check(claim, SOURCE)
    assert verdict.label == label, verdict.features
    assert all(e in SOURCE for e in verdict.evidence)
