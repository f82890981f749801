"""The offline support verifier: does a source text support a claim?

It is not an NLI model (none can be loaded offline here). It is a small logistic model over
features computed with what this machine has: the best sentence-embedding similarity between
the claim and the source's sentences (and sentence pairs), content-word coverage, number
agreement (digits and number words, and what each number counts), named-term agreement (with
acronyms spelled out), whether the claim is a passage of the source word for word, and polarity
agreement with the best-aligned passages (negation, direction and antonyms, comparison order; see
`polarity`). Its weights are fitted by `eval/tune_verifier.py` on claims generated from the bundled
abstracts (`eval/make_verifier_training.py`) plus the dev split of `eval/claims.jsonl`, and shipped
in `data/verifier.json`, with a small gradient-boosted tree model over the same features
(`data/verifier_model.npz`: fitted with scikit-learn, monotone in every feature, evaluated by `trees`
without it) that decides when present.
A paper's title counts as part of its text: a claim may name a paper by its title.
Out of scope: splitting answers into claims (see `citations`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .citations import split_sentences
from .config import PACKAGE_DIR
from .entailment import Entailment
from .polarity import direction_mismatch, has_comparison, has_direction, negation_mismatch, order_mismatch
from .text import content_words, names, numbers, quantities, simplify

log = logging.getLogger(__name__)
WEIGHTS_PATH = PACKAGE_DIR / "data" / "verifier.json"
MODEL_PATH = PACKAGE_DIR / "data" / "verifier_model.npz"
QUOTED_TITLE = re.compile(r"^\s*[“\"][^”\"]{3,300}[”\"]:\s+")
NAME = "offline-minilm-lexical-v4"
CANDIDATES = 4  # aligned passages the claim model reads per paper
# Each check, and which aligned passages can speak to it (any passage can lack the claim's negation).
POLARITY_CHECKS = {
    "negation_mismatch": (negation_mismatch, lambda claim, passage: True),
    "direction_mismatch": (direction_mismatch, has_direction),
    "order_mismatch": (order_mismatch, has_comparison),
}
FEATURES = ["similarity", "coverage", "number_mismatch", "name_mismatch", "verbatim", *POLARITY_CHECKS]
DEFAULT_WEIGHTS = {
    "bias": -2.18,
    "similarity": 0.79,
    "coverage": 3.57,
    "number_mismatch": -6.6,
    "name_mismatch": -3.39,
    "verbatim": 4.05,
    "negation_mismatch": -5.7,
    "direction_mismatch": -6.05,
    "order_mismatch": -3.36,
    "threshold": 0.52,
}  # = data/verifier.json, rounded


@dataclass
class Verdict:
    """Whether a source supports a claim, a score in [0, 1] (a probability, or a judge's share of votes),
    and, from the verifier, the best evidence sentences and the features behind the score."""

    label: str
    score: float
    evidence: list[str] = field(default_factory=list)
    features: dict = field(default_factory=dict)
    judge: str = ""  # who decided: the offline verifier's name, or llm:MODEL

    @property
    def supported(self) -> bool:
        return self.label == "supported"


def missing_names(claim: str, source: str) -> set[str]:
    """The claim's names that the source neither contains nor spells out (DPO: Direct Preference Optimization)."""
    lowered = source.lower()
    words = re.findall(r"[a-z0-9]+", lowered)
    initials = "".join(w[0] for w in words)
    missing = set()
    for name in names(claim):
        letters = re.sub(r"[^a-z0-9]", "", name)
        if name in lowered or letters in re.sub(r"[^a-z0-9]", "", lowered):
            continue
        if name.isalpha() and 2 <= len(name) <= 6 and name in initials:
            continue
        missing.add(name)
    return missing


def number_mismatch(claim: str, source: str) -> float:
    """1 when the claim has a number the source lacks, or counts a thing with another number than the source."""
    source_pairs = quantities(source)
    have = {value for value, _ in source_pairs} | numbers(source)
    for value, noun in quantities(claim):
        if value not in have:
            return 1.0
        counted = {v for v, n in source_pairs if n == noun and noun}
        if counted and value not in counted:
            return 1.0
    return 0.0


def verbatim(claim: str, source: str) -> float:
    """1 when the claim, punctuation and case aside, is a passage of the source with at least 4 words.

    A leading quoted title and colon (how the extractive backend lists papers) is left out.
    Example: verbatim("It attains 7.8% error", "Thus, it attains 7.8% error.") == 1.0
    """
    claim = QUOTED_TITLE.sub("", claim)  # a listed paper: “Title”: its sentence
    simple = simplify(claim)
    return float(len(simple.split()) >= 4 and f" {simple} " in f" {simplify(source)} ")


class Verifier:
    """Scores (claim, source text) pairs; embeddings of source sentences are cached."""

    name = NAME

    def __init__(self, embedder, weights: dict | None = None, model=None, claim_model=None):
        """`weights`: a logistic model's weights and threshold (default: the shipped ones); `model`: a fitted
        classifier with `predict_proba` over FEATURES (default: the shipped one, unless weights are given);
        `claim_model`: a three-way claim model (see `entailment`), or None for the support check alone."""
        self.embedder = embedder
        self.weights = weights or load_weights()
        self.model = model if model is not None or weights else load_model()
        self.claim_model = claim_model
        self._cache: dict[str, tuple] = {}

    def units(self, source: str) -> tuple[list[str], np.ndarray]:
        """The source's sentences and adjacent pairs, with their embeddings."""
        units, vectors, *_ = self._prepared(source)
        return units, vectors

    def _prepared(self, source: str) -> tuple[list[str], np.ndarray, list[set[str]], int, Counter]:
        """Units, their embeddings, their content words, the number of single sentences and in how many sentences
        each word occurs, cached per source."""
        if source not in self._cache:
            sentences = split_sentences(source) or [source]
            units = sentences + [f"{a} {b}" for a, b in zip(sentences, sentences[1:])]
            unit_words = [content_words(u) for u in units]
            spread = Counter(w for words in unit_words[: len(sentences)] for w in words)
            self._cache[source] = (units, self.embedder.embed(units), unit_words, len(sentences), spread)
        return self._cache[source]

    def aligned(self, claim_words: set[str], source: str, sims: np.ndarray) -> list[str]:
        """The five units that best match the claim: similarity plus overlap of the claim's words, each word weighted
        by how few of the source's sentences hold it (a method's name, in every sentence, does not align)."""
        units, _, unit_words, sentence_count, spread = self._prepared(source)
        weight = {w: math.log((sentence_count + 1) / (spread[w] + 0.5)) for w in claim_words}
        total = sum(weight.values()) or 1.0
        overlap = [sum(weight[w] for w in claim_words & words) / total for words in unit_words]
        return [units[i] for i in sorted(range(len(units)), key=lambda i: -(sims[i] + overlap[i]))[:5]]

    def features(self, claim: str, source: str, claim_vector=None, title: str = "") -> tuple[dict, list[str]]:
        """The features of (claim, the paper's title and abstract), and up to two evidence sentences of the abstract."""
        text = titled(title, source)
        units, vectors, _, sentence_count, _ = self._prepared(text)
        vector = self.embedder.embed_query(claim) if claim_vector is None else claim_vector
        sims = vectors @ vector
        order = [int(i) for i in np.argsort(-sims)]
        best = units[order[0]]
        claim_words = content_words(claim)
        coverage = len(claim_words & content_words(text)) / max(1, len(claim_words))
        feats = {
            "similarity": float(sims[order[0]]),
            "coverage": coverage,
            "number_mismatch": number_mismatch(claim, text),
            "name_mismatch": float(bool(missing_names(claim, text))),
            "verbatim": verbatim(claim, text),
            **polarity(claim, self.aligned(claim_words, text, sims)),
        }
        flat = " ".join(source.split())
        in_abstract = [i for i in order if i < sentence_count and (not title or units[i] in flat)]  # not the title
        evidence = [units[i] for i in order[:3] if i in in_abstract[:3]][:2] or [units[i] for i in in_abstract[:1]]
        return feats, evidence or [best]

    def score(self, feats: dict) -> tuple[float, float]:
        """The support probability of one feature dict, and the threshold it is compared with."""
        if self.model is not None:
            row = np.array([[feats[f] for f in FEATURES]])
            p = self.model.predict_proba(row)[0, 1]
            return float(p), float(getattr(self.model, "threshold_", 0.5))
        return probability(feats, self.weights), self.weights.get("threshold", 0.5)

    def check(self, claim: str, source: str, claim_vector=None, title: str = "") -> Verdict:
        """Verdict for one claim against one paper: its abstract (`source`) and its title."""
        feats, evidence = self.features(claim, source, claim_vector, title)
        score, threshold = self.score(feats)
        label = "supported" if score >= threshold else "unsupported"
        return Verdict(label=label, score=score, evidence=evidence, features=feats, judge=self.name)

    def entail(self, claim: str, source: str, claim_vector=None, title: str = "") -> Entailment:
        """The three-way verdict of one paper (title and abstract) on a claim, from the claim model reading the
        passages best aligned with the claim; without a claim model, the support check's label."""
        if self.claim_model is None:
            verdict = self.check(claim, source, claim_vector, title)
            return Entailment("supports" if verdict.supported else "not_enough_info", verdict.score, verdict.evidence)
        text = titled(title, source)
        units, vectors, *_ = self._prepared(text)
        vector = self.embedder.embed_query(claim) if claim_vector is None else claim_vector
        passages = self.aligned(content_words(claim), text, vectors @ vector)[:CANDIDATES]
        return self.claim_model.judge(claim, passages)


def titled(title: str, abstract: str) -> str:
    """A paper's text as the verifier reads it: the title as its first sentence, then the abstract.

    Example: titled("DANCE: Dual-view Learning", "We study X.") == "DANCE: Dual-view Learning. We study X."
    """
    title = " ".join(title.split())
    if not title or abstract.startswith(title):
        return abstract
    return f"{title} {abstract}" if title[-1] in ".?!" else f"{title}. {abstract}"


def polarity(claim: str, aligned: list[str]) -> dict[str, float]:
    """Each polarity check against the two best-aligned passages (of five) that can speak to it: 1 only when both disagree.

    Example: polarity("X underperforms Y", ["X is new.", "X outperforms Y."])["direction_mismatch"] == 1.0
    """
    found = {}
    for name, (check, relevant) in POLARITY_CHECKS.items():
        passages = [p for p in aligned if relevant(claim, p)][:2]
        found[name] = min((check(claim, p) for p in passages), default=0.0)
    return found


def probability(features: dict, weights: dict) -> float:
    """The logistic model's support probability for one feature dict."""
    z = weights["bias"] + sum(weights[name] * value for name, value in features.items() if name in weights)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@lru_cache(maxsize=1)
def load_model():
    """The shipped tree model (our own file, written by eval/tune_verifier.py --write), or None."""
    from .trees import BoostedTrees

    if not MODEL_PATH.is_file():
        return None
    try:
        return BoostedTrees.load(MODEL_PATH)
    except Exception as error:  # the logistic weights still judge; say why
        log.warning("offline judge: %s could not be loaded (%s); using the logistic weights", MODEL_PATH.name, error)
        return None


def model_digest() -> str:
    """A short hash of the shipped model file ('' without one), for caches keyed by the verifier."""
    return hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest()[:16] if MODEL_PATH.is_file() else ""


@lru_cache(maxsize=1)
def load_weights() -> dict:
    """Tuned weights when present, else the hand-set defaults."""
    if WEIGHTS_PATH.is_file():
        return json.loads(WEIGHTS_PATH.read_text())
    return dict(DEFAULT_WEIGHTS)
