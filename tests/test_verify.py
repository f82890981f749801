"""The offline verifier's pure feature steps (table-driven), and its verdicts with the real embedding model."""

import numpy as np
import pytest

from assistant.polarity import comparison_sides, direction_mismatch, negation_mismatch, negations, order_mismatch
from assistant.text import quantities
from assistant.verify import (
    FEATURES,
    Verifier,
    load_model,
    load_weights,
    missing_names,
    number_mismatch,
    probability,
    titled,
    verbatim,
)

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
    "count moved to another noun": (
        "15 methods across 5 datasets",
        "We evaluate 15 methods on 12 datasets with 5 dimensions.",
        1.0,
    ),
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


NEGATIONS = {
    "plain not": ("It does not help.", {"not"}),
    "contraction": ("It doesn't help.", {"doesn't"}),
    "prefix": ("It is non-commutative.", {"non-commutative"}),
    "'not only' contrasts": ("It is not only fast but small.", set()),
    "contrast word alone": ("Instead of pruning, it factorizes.", set()),
}


@pytest.mark.parametrize("text, expected", NEGATIONS.values(), ids=NEGATIONS.keys())
def test_negations(text, expected):
    assert negations(text) == expected


NEGATION = {
    "negation added": (
        "Larger models reliably have better skills.",
        "Larger models do not necessarily have better skills.",
        1.0,
    ),
    "negation removed": ("The filter can be bypassed.", "The filter cannot be bypassed.", 1.0),
    "prefix negation": ("It relies on commutative binding.", "It needs binding that is non-commutative.", 1.0),
    "paraphrased negation": (
        "It does not prune weights outright.",
        "Instead of directly pruning weights, it factorizes.",
        0.0,
    ),
    "'instead' is no negation": (
        "It co-optimizes data and network instead of only the network.",
        "Distinct from methods that focus merely on the network, it co-optimizes both.",
        0.0,
    ),
    "shared negation": ("It does not need labels.", "The method does not need any labels.", 0.0),
}


@pytest.mark.parametrize("claim, passage, expected", NEGATION.values(), ids=NEGATION.keys())
def test_negation_mismatch(claim, passage, expected):
    assert negation_mismatch(claim, passage) == expected


DIRECTION = {
    "direction flipped": ("It increases the number of minima.", "It reduces the number of minima.", 1.0),
    "shared direction word cancels": (
        "With a FLOPs reduction, accuracy is lower.",
        "With a FLOPs reduction, accuracy improves.",
        1.0,
    ),
    "antonym": ("The framework remains dynamic at inference.", "The framework remains static at inference.", 1.0),
    "agreement": ("It outperforms the baselines.", "It consistently outperforms baselines.", 0.0),
    "same direction, other words": ("It improves accuracy.", "Accuracy gains are large.", 0.0),
}


@pytest.mark.parametrize("claim, passage, expected", DIRECTION.values(), ids=DIRECTION.keys())
def test_direction_mismatch(claim, passage, expected):
    assert direction_mismatch(claim, passage) == expected


def test_comparison_sides__splits_at_the_cue_within_the_clause():
    assert comparison_sides("Thus, image-based selection beats region-based selection, as shown") == [
        ({"image-bas", "selection"}, {"region-bas", "selection"})
    ]


ORDER = {
    "sides swapped around 'than'": (
        "Image-based selection uses the budget more efficiently than region-based selection.",
        "Region-based selection makes more efficient use of the budget than image-based counterparts.",
        1.0,
    ),
    "sides swapped around a verb": (
        "GraphNet outperforms TreeNet on parsing.",
        "TreeNet outperforms GraphNet on parsing.",
        1.0,
    ),
    "same order": ("GraphNet outperforms TreeNet.", "On parsing, GraphNet clearly outperforms TreeNet.", 0.0),
    "no comparison": ("GraphNet parses.", "GraphNet outperforms TreeNet.", 0.0),
}


@pytest.mark.parametrize("claim, passage, expected", ORDER.values(), ids=ORDER.keys())
def test_order_mismatch(claim, passage, expected):
    assert order_mismatch(claim, passage) == expected


VERBATIM = {
    "whole sentence": ("It attains 7.8% error.", "We test it. It attains 7.8% error.", 1.0),
    "case, dashes and punctuation aside": ("it attains 7.8% error", "Thus, It attains 7.8% error!", 1.0),
    "too short to count": ("It attains", "It attains 7.8% error.", 0.0),
    "listed paper: quoted title left out": (
        "“CloudFormer: fast”: It attains 7.8% error.",
        "It attains 7.8% error.",
        1.0,
    ),
    "one word changed": ("It attains 7.9% error.", "It attains 7.8% error.", 0.0),
    "partial words do not count": ("attains 7.8% err", "It attains 7.8% error.", 0.0),
}


@pytest.mark.parametrize("claim, source, expected", VERBATIM.values(), ids=VERBATIM.keys())
def test_verbatim(claim, source, expected):
    assert verbatim(claim, source) == expected


def test_probability__is_monotone_in_each_feature_with_the_shipped_weights():
    weights = load_weights()
    base = {f: 0.0 for f in FEATURES} | {"similarity": 0.8, "coverage": 0.8}
    p = probability(base, weights)
    for support in ("similarity", "coverage"):
        assert probability({**base, support: base[support] + 0.1}, weights) > p, support
    assert probability({**base, "verbatim": 1.0}, weights) > p
    for mismatch in ("number_mismatch", "name_mismatch", "negation_mismatch", "direction_mismatch", "order_mismatch"):
        assert probability({**base, mismatch: 1.0}, weights) < p, mismatch
    assert set(weights) == {"bias", "threshold", *FEATURES}


def test_shipped_model__decides_and_is_monotone_in_each_feature(embedder):
    model = load_model()
    assert model is not None and Verifier(embedder).model is model
    assert Verifier(embedder, weights=load_weights()).model is None  # explicit weights: the logistic model

    def score(feats):
        return model.predict_proba(np.array([[feats[f] for f in FEATURES]]))[0, 1]

    for similarity, coverage in ((0.5, 0.5), (0.8, 0.8), (0.9, 1.0)):
        base = {f: 0.0 for f in FEATURES} | {"similarity": similarity, "coverage": coverage}
        p = score(base)
        assert score({**base, "similarity": similarity + 0.05}) >= p
        assert score({**base, "verbatim": 1.0}) >= p
        for mismatch in (
            "number_mismatch",
            "name_mismatch",
            "negation_mismatch",
            "direction_mismatch",
            "order_mismatch",
        ):
            assert score({**base, mismatch: 1.0}) <= p, mismatch
    assert score({f: 0.0 for f in FEATURES} | {"similarity": 0.9, "coverage": 1.0, "verbatim": 1.0}) >= model.threshold_
    assert score({f: 0.0 for f in FEATURES} | {"similarity": 0.1, "coverage": 0.1}) < model.threshold_


TITLED = {
    "title becomes the first sentence": (
        "DANCE: Dual-view Learning",
        "We study X.",
        "DANCE: Dual-view Learning. We study X.",
    ),
    "a question title keeps its mark": ("Is X all you need?", "We study X.", "Is X all you need? We study X."),
    "no title": ("", "We study X.", "We study X."),
    "abstract already starts with it": ("We study X", "We study X. It works.", "We study X. It works."),
}


@pytest.mark.parametrize("title, abstract, expected", TITLED.values(), ids=TITLED.keys())
def test_titled(title, abstract, expected):
    assert titled(title, abstract) == expected


def test_verifier__reads_the_title_as_part_of_the_paper_and_never_quotes_it_as_evidence(embedder):
    title = "Challenging Forgets: Unveiling the Worst-Case Forget Sets in Machine Unlearning"
    abstract = (
        "We evaluate machine unlearning from an adversarial viewpoint. Using bi-level optimization, we identify "
        "the data subset that is hardest to erase. Experiments span image classification and generation."
    )
    claim = "Challenging Forgets uses bi-level optimization to find the forget set that is hardest to erase."
    verifier = Verifier(embedder)
    without, with_title = verifier.check(claim, abstract), verifier.check(claim, abstract, title=title)
    assert without.features["name_mismatch"] == 1.0 and with_title.features["name_mismatch"] == 0.0
    assert with_title.score > without.score and with_title.supported
    assert with_title.evidence and all(e in abstract for e in with_title.evidence)


SOURCE = (
    "CloudFormer is a dual-branch Transformer model for VM performance degradation. "
    "It attains a mean absolute error of 7.8% using 206 system metrics, and outperforms prior baselines."
)
VERDICTS = {
    "verbatim": ("CloudFormer attains a mean absolute error of 7.8% using 206 system metrics.", "supported"),
    "paraphrase": ("CloudFormer predicts VM performance degradation with a dual-branch Transformer.", "supported"),
    "changed number": ("CloudFormer attains a mean absolute error of 3.1% using 206 system metrics.", "unsupported"),
    "swapped name": ("CloudFormer is a dual-branch Mamba model for VM performance degradation.", "unsupported"),
    "negated finding": ("CloudFormer fails to outperform prior baselines.", "unsupported"),
    "negated sentence": (
        "CloudFormer does not attain a mean absolute error of 7.8% using 206 system metrics.",
        "unsupported",
    ),
    "reversed finding": ("CloudFormer underperforms prior baselines.", "unsupported"),
    "verbatim sentence": (
        "CloudFormer is a dual-branch Transformer model for VM performance degradation.",
        "supported",
    ),
    "unrelated": ("The penguin colony doubled in size after the storm.", "unsupported"),
}


@pytest.mark.parametrize("claim, label", VERDICTS.values(), ids=VERDICTS.keys())
def test_verifier__labels_claims_with_the_real_embedding_model(embedder, claim, label):
    verdict = Verifier(embedder).check(claim, SOURCE)
    assert verdict.label == label, verdict.features
    assert all(e in SOURCE for e in verdict.evidence)


def test_verifier__judges_sentences_of_the_bundled_abstracts_supported_by_their_own_paper(embedder):
    from assistant.citations import split_sentences
    from assistant.config import SEEDS_DIR
    from assistant.corpus import merge, read_listing, seed_files

    papers = merge([p for path in seed_files(SEEDS_DIR) for p in read_listing(path, path.read_text(encoding="utf-8"))])[
        0
    ]
    pairs = [(s, p) for p in papers for s in split_sentences(p.abstract)][::10]  # every tenth of about 2,000
    verifier = Verifier(embedder)
    unsupported = [s for s, p in pairs if not verifier.check(s, p.abstract, title=p.title).supported]
    assert len(pairs) > 150 and unsupported == []


def test_verifier__judges_without_scikit_learn(embedder):
    import sys

    before = {name for name in sys.modules if name.split(".")[0] in ("sklearn", "scipy")}
    assert Verifier(embedder).check("CloudFormer attains 7.8% error.", SOURCE).supported
    assert {name for name in sys.modules if name.split(".")[0] in ("sklearn", "scipy")} == before
