"""Evaluation metrics: retrieval, support (faithfulness, ALCE citations), key facts, abstention, judge agreement,
and their aggregation with bootstrap 95% intervals.

Pure functions over ids, strings and judge callbacks. Claims are answer sentences, one claim per sentence.
Out of scope: producing answers and verdicts (see `run`, `judges`), report files (see `report`).
"""

from __future__ import annotations

import math

import numpy as np

from ..text import content_words, numbers, simplify

KS = (1, 5, 10)
SEED, RESAMPLES = 0, 1000
FACT_WORD_SHARE = 0.8
# Per-question metrics: key -> label, in report order. None means "does not apply to this question".
METRICS = {
    **{f"hit@{k}": f"hit@{k}" for k in KS},
    **{f"recall@{k}": f"recall@{k}" for k in KS},
    "mrr": "MRR@10",
    "ndcg@10": "nDCG@10",
    "faithfulness": "faithfulness (supported claims)",
    "fully_supported": "fully supported answers",
    "citation_recall": "citation recall (ALCE)",
    "citation_precision": "citation precision (ALCE)",
    "citation_gold": "citation-gold rate",
    "key_fact_recall": "correctness (key-fact recall)",
    "evidence_verbatim": "evidence verbatim in abstract",
    "abstained": "abstained",
}


# ---- retrieval ---------------------------------------------------------------------------------
def hit_at_k(ranked: list[str], gold: set[str], k: int) -> float:
    """1.0 when any gold paper is in the top k. Example: hit_at_k(["a", "b"], {"b"}, 1) == 0.0"""
    return float(bool(set(ranked[:k]) & gold))


def recall_at_k(ranked: list[str], gold: set[str], k: int) -> float:
    """Share of gold papers in the top k. Example: recall_at_k(["a", "b", "c"], {"a", "c", "d"}, 2) == 1/3"""
    return len(set(ranked[:k]) & gold) / len(gold) if gold else 0.0


def reciprocal_rank(ranked: list[str], gold: set[str], k: int = 10) -> float:
    """1 / rank of the first gold paper in the top k, else 0. Example: (["a", "b"], {"b"}) -> 0.5"""
    return next((1.0 / rank for rank, pid in enumerate(ranked[:k], 1) if pid in gold), 0.0)


def ndcg_at_k(ranked: list[str], gold: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG. Example: ndcg_at_k(["x", "g"], {"g"}, 10) == 1 / log2(3)"""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, pid in enumerate(ranked[:k], 1) if pid in gold)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    return dcg / ideal if ideal else 0.0


# ---- support -----------------------------------------------------------------------------------
def citation_scores(sentences: list[tuple[str, list[str]]], supports) -> tuple[float, float]:
    """ALCE citation (recall, precision) of one answer, as in Gao et al. (2023).

    `sentences` holds (claim, texts of the sources it cites); `supports(claim, sources) -> bool`.
    A sentence is recalled when its cited sources together support it. A citation is precise when
    its sentence is recalled, unless it supports nothing on its own while the sentence's other
    citations still support the sentence. Precision is 0 for an answer without citations.
    """
    recalled = precise = cited = 0
    for claim, sources in sentences:
        joint = bool(sources) and supports(claim, sources)
        recalled += joint
        cited += len(sources)
        if joint and len(sources) > 1:
            precise += sum(
                supports(claim, [s]) or not supports(claim, sources[:i] + sources[i + 1 :])
                for i, s in enumerate(sources)
            )
        elif joint:
            precise += 1
    return (recalled / len(sentences) if sentences else 0.0), (precise / cited if cited else 0.0)


def faithfulness(claims: list[str], sources: list[str], supports) -> tuple[float, bool]:
    """(share of claims supported by the sources the answer cites, whether all of them are)."""
    if not claims:
        return 0.0, False
    supported = sum(bool(sources) and supports(c, sources) for c in claims)
    return supported / len(claims), supported == len(claims)


# ---- abstention and aggregation -----------------------------------------------------------------
def abstention_scores(pairs: list[tuple[bool, bool]]) -> dict:
    """Precision, recall, F1 of abstaining (positive = abstained, class = unanswerable), and the
    abstention rate on answerable questions; `pairs` holds (abstained, unanswerable). 0 when undefined."""
    tp = sum(a and u for a, u in pairs)
    fp = sum(a and not u for a, u in pairs)
    fn = sum(u and not a for a, u in pairs)
    answerable = sum(not u for _, u in pairs)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "abstention_precision": precision,
        "abstention_recall": recall,
        "abstention_f1": f1,
        "abstention_rate_answerable": fp / answerable if answerable else 0.0,
    }


def bootstrap_ci(
    items: list, statistic=None, resamples: int = RESAMPLES, seed: int = SEED, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic` (default: the mean) over resampled `items`."""
    if not items:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(items), size=(resamples, len(items)))
    if statistic is None:
        values = np.asarray(items, dtype=float)[draws].mean(axis=1)
    else:
        values = np.array([statistic([items[i] for i in row]) for row in draws])
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def summary(values: list[float], resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """Mean, bootstrap interval and count of the values that apply (None values are left out)."""
    kept = [float(v) for v in values if v is not None]
    if not kept:
        return {"value": None, "low": None, "high": None, "n": 0}
    low, high = bootstrap_ci(kept, resamples=resamples, seed=seed)
    return {"value": round(float(np.mean(kept)), 4), "low": round(low, 4), "high": round(high, 4), "n": len(kept)}


def aggregate(rows: list[dict], resamples: int = RESAMPLES, seed: int = SEED) -> tuple[dict, dict]:
    """(overall, per type) summaries of the per-question rows."""
    overall = {key: summary([r["metrics"][key] for r in rows], resamples, seed) for key in METRICS}
    pairs = [(r["abstained"], r["type"] == "unanswerable") for r in rows]
    for key, value in abstention_scores(pairs).items():
        low, high = bootstrap_ci(pairs, lambda sample, key=key: abstention_scores(sample)[key], resamples, seed)
        overall[key] = {"value": round(value, 4), "low": round(low, 4), "high": round(high, 4), "n": len(pairs)}
    latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
    for q in (50, 95):
        overall[f"latency_p{q}_ms"] = {
            "value": round(float(np.percentile(latencies, q)), 1) if latencies else None,
            "n": len(latencies),
        }
    for part in ("prompt", "completion"):
        overall[f"tokens_{part}"] = summary([r["tokens"].get(part, 0) for r in rows], resamples, seed)
    types = sorted({r["type"] for r in rows})
    per_type = {
        t: {key: summary([r["metrics"][key] for r in rows if r["type"] == t], resamples, seed) for key in METRICS}
        for t in types
    }
    return overall, per_type


# ---- correctness: key facts ------------------------------------------------------------------------
def key_fact_found(fact: str, answer: str) -> bool:
    """A key fact is found when its normalised text occurs in the normalised answer (as whole tokens), or
    when every number in it and at least 80% of its content words (stemmed) occur in the answer.

    Example: key_fact_found("206 system metrics", "It uses 206 metrics of the system.") is True
    """
    fact, answer = simplify(fact), simplify(answer)
    if fact and f" {fact} " in f" {answer} ":
        return True
    words, nums = content_words(fact), numbers(fact)
    if not words and not nums:
        return False
    enough = math.ceil(FACT_WORD_SHARE * len(words))
    return nums <= numbers(answer) and len(words & content_words(answer)) >= enough


def key_fact_recall(facts: list[str], answer: str) -> float | None:
    """Share of key facts found in the answer; None without key facts."""
    return sum(key_fact_found(f, answer) for f in facts) / len(facts) if facts else None


# ---- judge agreement ---------------------------------------------------------------------------
def balanced_accuracy(predicted: list[bool], actual: list[bool]) -> float:
    """Mean of the true-positive and true-negative rates. Example: ([1, 0, 0, 0], [1, 1, 0, 0]) -> 0.75"""
    rates = []
    for positive in (True, False):
        cases = [p for p, a in zip(predicted, actual) if bool(a) == positive]
        if cases:
            rates.append(sum(bool(p) == positive for p in cases) / len(cases))
    return sum(rates) / len(rates) if rates else 0.0


def cohen_kappa(predicted: list[bool], actual: list[bool]) -> float:
    """Agreement beyond chance between two binary raters. Example: ([1, 0, 0, 0], [1, 1, 0, 0]) -> 0.5"""
    n = len(actual)
    if n == 0:
        return 0.0
    observed = sum(bool(p) == bool(a) for p, a in zip(predicted, actual)) / n
    p_yes, a_yes = sum(map(bool, predicted)) / n, sum(map(bool, actual)) / n
    chance = p_yes * a_yes + (1 - p_yes) * (1 - a_yes)
    if math.isclose(chance, 1.0):
        return 1.0 if observed == 1.0 else 0.0
    return (observed - chance) / (1 - chance)


def agreement(predictions: list[tuple[dict, bool]]) -> dict:
    """Per split (accuracy, balanced accuracy, kappa) and per kind (accuracy) of (claim row, predicted supported)."""
    splits: dict[str, dict] = {}
    kinds: dict[str, dict[str, dict]] = {}
    for split in sorted({r["split"] for r, _ in predictions}):
        chosen = [(p, r["label"] == "supported") for r, p in predictions if r["split"] == split]
        predicted, actual = [p for p, _ in chosen], [a for _, a in chosen]
        splits[split] = {
            "n": len(chosen),
            "accuracy": round(sum(p == a for p, a in chosen) / len(chosen), 4),
            "balanced_accuracy": round(balanced_accuracy(predicted, actual), 4),
            "kappa": round(cohen_kappa(predicted, actual), 4),
        }
    for kind in sorted({r["kind"] for r, _ in predictions}):
        for split in splits:
            correct = [
                p == (r["label"] == "supported") for r, p in predictions if r["kind"] == kind and r["split"] == split
            ]
            if correct:
                kinds.setdefault(kind, {})[split] = {
                    "n": len(correct),
                    "accuracy": round(sum(correct) / len(correct), 4),
                }
    return {"splits": splits, "per_kind": kinds}
