"""The offline support verifier: does a source text support a claim?

It is not an NLI model (none can be loaded offline here). It is a small logistic model over
features computed with what this machine has: the best sentence-embedding similarity between
the claim and the source's sentences (and sentence pairs), content-word coverage, number
agreement, negation agreement and named-term agreement. Its weights are tuned on the dev split
of `eval/claims.jsonl` by `eval/tune_verifier.py` and shipped in `data/verifier.json`.
Out of scope: splitting answers into claims (see `citations`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .citations import split_sentences
from .config import PACKAGE_DIR

WEIGHTS_PATH = PACKAGE_DIR / "data" / "verifier.json"
NAME = "offline-minilm-lexical-v1"
STOPWORDS = set("""a an the of and or in on at to for by with from as is are was were be been being this that these those
it its their they we our us which who whom whose what when where how than then so such can could may might will would
also both each more most other some into over under via using use used based between while about per through only
paper method approach propose proposes proposed show shows shown results""".split())
NEGATIONS = {"not", "no", "never", "without", "cannot", "fails", "fail", "neither", "nor", "unable", "lack", "lacks",
             "worse", "underperforms", "underperform", "decrease", "decreases", "increases", "increase", "less", "more",
             "slower", "faster", "lower", "higher", "fewer"}
DEFAULT_WEIGHTS = {"bias": -9.0, "similarity": 9.0, "coverage": 6.0, "number_mismatch": -4.0,
                   "term_mismatch": -2.5, "negation_mismatch": -2.0, "threshold": 0.5}


@dataclass
class Verdict:
    """Whether a source supports a claim, a probability-like score, and the best evidence sentences."""

    label: str
    score: float
    evidence: list[str] = field(default_factory=list)
    features: dict = field(default_factory=dict)

    @property
    def supported(self) -> bool:
        return self.label == "supported"


def content_words(text: str) -> set[str]:
    """Lower-cased content words, crudely stemmed. Example: content_words("Models are Training") == {"model", "train"}"""
    words = re.findall(r"[a-z][a-z0-9\-]+", text.lower())
    return {_stem(w) for w in words if w not in STOPWORDS and len(w) > 2}


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def numbers(text: str) -> set[str]:
    """Numbers as written, normalised. Example: numbers("up to 2.5x and 1,000 steps") == {"2.5", "1000"}"""
    return {n.replace(",", "").rstrip(".") for n in re.findall(r"\d[\d,]*\.?\d*", text)}


def terms(text: str) -> set[str]:
    """Named terms: tokens with a capital after the first letter or a digit (ImageNet-1K, LLaMA, GPT-4)."""
    tokens = re.findall(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]", text)
    return {t.lower() for t in tokens if any(c.isupper() for c in t[1:]) or (any(c.isdigit() for c in t) and any(c.isalpha() for c in t))}


def _negations(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']+", text.lower()) if w in NEGATIONS or w.endswith("n't")}


class Verifier:
    """Scores (claim, source text) pairs; embeddings of source sentences are cached."""

    name = NAME

    def __init__(self, embedder, weights: dict | None = None):
        self.embedder = embedder
        self.weights = weights or load_weights()
        self._cache: dict[str, tuple[list[str], np.ndarray]] = {}

    def units(self, source: str) -> tuple[list[str], np.ndarray]:
        """The source's sentences and adjacent pairs, with their embeddings."""
        if source not in self._cache:
            sentences = split_sentences(source) or [source]
            pairs = [f"{a} {b}" for a, b in zip(sentences, sentences[1:])]
            units = sentences + pairs
            self._cache[source] = (units, self.embedder.embed(units))
        return self._cache[source]

    def features(self, claim: str, source: str, claim_vector=None) -> tuple[dict, list[str]]:
        units, vectors = self.units(source)
        vector = self.embedder.embed_query(claim) if claim_vector is None else claim_vector
        sims = vectors @ vector
        order = np.argsort(-sims)
        best = units[int(order[0])]
        claim_words = content_words(claim)
        source_words = content_words(source)
        coverage = len(claim_words & source_words) / max(1, len(claim_words))
        missing_numbers = numbers(claim) - numbers(source)
        missing_terms = terms(claim) - {t.lower() for t in re.findall(r"[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]", source)}
        negation_mismatch = _negations(claim) ^ _negations(best)
        feats = {"similarity": float(sims[int(order[0])]), "coverage": coverage,
                 "number_mismatch": float(len(missing_numbers) > 0), "term_mismatch": min(1.0, len(missing_terms) / 2),
                 "negation_mismatch": min(1.0, len(negation_mismatch) / 2)}
        evidence = [u for u in (units[int(i)] for i in order[:3]) if u in units[: len(split_sentences(source) or [source])]][:2]
        return feats, evidence or [best]

    def check(self, claim: str, source: str, claim_vector=None) -> Verdict:
        """Verdict for one claim against one source text."""
        feats, evidence = self.features(claim, source, claim_vector)
        score = probability(feats, self.weights)
        label = "supported" if score >= self.weights.get("threshold", 0.5) else "unsupported"
        return Verdict(label=label, score=score, evidence=evidence, features=feats)

    def check_against(self, claim: str, sources: list[str]) -> Verdict:
        """Verdict for a claim against several sources together: supported if any one supports it."""
        vector = self.embedder.embed_query(claim)
        verdicts = [self.check(claim, s, vector) for s in sources]
        return max(verdicts, key=lambda v: v.score) if verdicts else Verdict("unsupported", 0.0)


def probability(features: dict, weights: dict) -> float:
    """The logistic model's support probability for one feature dict."""
    z = weights["bias"] + sum(weights[name] * value for name, value in features.items() if name in weights)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@lru_cache(maxsize=1)
def load_weights() -> dict:
    """Tuned weights when present, else the hand-set defaults."""
    if WEIGHTS_PATH.is_file():
        return json.loads(WEIGHTS_PATH.read_text())
    return dict(DEFAULT_WEIGHTS)
