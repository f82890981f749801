"""Fit the answerability model on several fields at once and write assistant/data/answerability.npz.

Usage: python eval/fit_answerability.py [--refresh]
Fits monotone gradient-boosted trees over `answerability.FEATURES` on: the bundled corpus's short questions (dev split),
PubMedQA dev questions (each with its paper, and with its paper taken out) and SciFact train claims
(with and without their abstracts), each field weighted equally. The threshold is the highest
probability at which answerable questions stay answered on the fitted data (on average over the
fields, at most 2% abstaining), chosen on those dev/train data only. Prints per field and split: answerable questions
answered, unanswerable ones abstained. The held-out splits (PubMedQA test, the bundled short test
split, the question set) are printed for the report, never used to choose. Deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import answerability_data as data  # noqa: E402

from assistant.answerability import FEATURES, MODEL_FILE, MONOTONE  # noqa: E402
from assistant.trees import BoostedTrees  # noqa: E402

FIT = {("bundled", "dev"), ("pubmedqa", "dev"), ("scifact", "train")}
MAX_ABSTAIN_ANSWERABLE = 0.02


def examples(refresh: bool) -> list[dict]:
    rows = []
    for field in ("bundled", "pubmedqa", "scifact"):
        cached = data.CACHE / f"examples-{field}.jsonl"
        if refresh or not cached.exists():
            found = getattr(data, field)()
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text("".join(json.dumps(r) + "\n" for r in found), encoding="utf-8")
        rows += data.jsonl(cached)
    return rows


def fit(rows: list[dict]):
    """Monotone gradient-boosted trees on the fitted splits, each field weighted the same; threshold set on them."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    train = [r for r in rows if (r["field"], r["split"]) in FIT]
    x = np.array([[r["features"][f] for f in FEATURES] for r in train])
    y = np.array([r["answerable"] for r in train])
    fields = [r["field"] for r in train]
    weight = np.array([len(train) / (len(set(fields)) * fields.count(f)) for f in fields])
    model = HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.05,
        max_depth=3,
        min_samples_leaf=20,
        monotonic_cst=[MONOTONE[f] for f in FEATURES],
        random_state=0,
    )
    model.fit(x, y, sample_weight=weight)
    model.threshold_ = threshold(model, train)
    model.fitted_on_ = sorted(f"{f} {s}" for f, s in FIT)
    return model


def probability(model, features: dict) -> float:
    return float(model.predict_proba(np.array([[features[f] for f in FEATURES]]))[0, 1])


def threshold(model, train: list[dict]) -> float:
    """The highest threshold at which the fitted fields, on average, abstain on at most 2% of answerable questions."""
    fields = sorted({r["field"] for r in train})
    scores = {
        f: np.array([probability(model, r["features"]) for r in train if r["field"] == f and r["answerable"]])
        for f in fields
    }
    best = 0.0
    for cut in np.unique(np.concatenate(list(scores.values()))):
        if np.mean([np.mean(scores[f] < cut) for f in fields]) <= MAX_ABSTAIN_ANSWERABLE:
            best = float(cut)
    return round(best - 1e-6, 6)


def table(model: dict, rows: list[dict]) -> str:
    lines = ["| field | split | answerable answered | unanswerable abstained | n |", "|---|---|---:|---:|---:|"]
    for field, split in sorted({(r["field"], r["split"]) for r in rows}):
        part = [r for r in rows if (r["field"], r["split"]) == (field, split)]
        answer = [probability(model, r["features"]) >= model.threshold_ for r in part]
        pos = [a for a, r in zip(answer, part) if r["answerable"]]
        neg = [not a for a, r in zip(answer, part) if not r["answerable"]]
        rate = lambda v: f"{sum(v) / len(v):.3f}" if v else "–"  # noqa: E731
        held = "" if (field, split) in FIT else " (held out)"
        lines.append(f"| {field} | {split}{held} | {rate(pos)} | {rate(neg)} | {len(part)} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--refresh", action="store_true", help="rebuild the examples (indexes are kept)")
    args = parser.parse_args()
    rows = examples(args.refresh)
    model = fit(rows)
    meta = {"features": list(FEATURES), "fitted_on": model.fitted_on_, "fitted_by": "eval/fit_answerability.py"}
    BoostedTrees.from_sklearn(model, meta=meta).save(MODEL_FILE)  # read at answer time without scikit-learn
    print(f"wrote {MODEL_FILE.name}: threshold {model.threshold_:.4f}, fitted on {', '.join(model.fitted_on_)}")
    print(table(model, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
