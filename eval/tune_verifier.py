"""Tune the offline verifier's logistic weights on the dev split of eval/claims.jsonl.

Usage: python eval/tune_verifier.py [--write]
Prints dev and test balanced accuracy; with --write saves assistant/data/verifier.json.
Only the dev split is used for fitting and for choosing the threshold.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from assistant.embeddings import LocalEmbedder
from assistant.verify import DEFAULT_WEIGHTS, WEIGHTS_PATH, Verifier, probability

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ["similarity", "coverage", "number_mismatch", "name_mismatch", "polarity_mismatch"]


def load(split: str) -> list[dict]:
    rows = [json.loads(l) for l in (ROOT / "eval" / "claims.jsonl").read_text().splitlines() if l.strip()]
    return [r for r in rows if r["split"] == split]


def featurise(verifier: Verifier, rows: list[dict], abstracts: dict) -> tuple[np.ndarray, np.ndarray]:
    X = np.array([[verifier.features(r["claim"], abstracts[r["paper_id"]])[0][f] for f in FEATURES] for r in rows])
    y = np.array([r["label"] == "supported" for r in rows], dtype=float)
    return X, y


def fit(X: np.ndarray, y: np.ndarray, l2: float = 0.001, steps: int = 20000, lr: float = 0.5) -> np.ndarray:
    """Plain gradient-descent logistic regression (bias first)."""
    A = np.hstack([np.ones((len(X), 1)), X])
    w = np.zeros(A.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-A @ w))
        w -= lr * (A.T @ (p - y) / len(y) + l2 * np.r_[0, w[1:]])
    return w


def balanced_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    tpr = (pred[y == 1] == 1).mean()
    tnr = (pred[y == 0] == 0).mean()
    return float((tpr + tnr) / 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="save the tuned weights into the package")
    args = parser.parse_args()
    from assistant.api import Assistant

    abstracts = {p.paper_id: p.abstract for p in Assistant(index_dir=ROOT / "index").papers()}
    verifier = Verifier(LocalEmbedder(), weights=dict(DEFAULT_WEIGHTS))
    Xd, yd = featurise(verifier, load("dev"), abstracts)
    Xt, yt = featurise(verifier, load("test"), abstracts)
    w = fit(Xd, yd)
    weights = {"bias": float(w[0]), **{f: float(v) for f, v in zip(FEATURES, w[1:])}}
    probs_d = np.array([probability(dict(zip(FEATURES, x)), weights) for x in Xd])
    best = max(np.linspace(0.2, 0.8, 61), key=lambda t: balanced_accuracy((probs_d >= t).astype(float), yd))
    weights["threshold"] = float(round(best, 3))
    probs_t = np.array([probability(dict(zip(FEATURES, x)), weights) for x in Xt])
    print("weights:", json.dumps({k: round(v, 3) for k, v in weights.items()}))
    print(f"dev  balanced accuracy: {balanced_accuracy((probs_d >= best).astype(float), yd):.3f} (n={len(yd)})")
    print(f"test balanced accuracy: {balanced_accuracy((probs_t >= best).astype(float), yt):.3f} (n={len(yt)})")
    for split, rows, probs in (("dev", load("dev"), probs_d), ("test", load("test"), probs_t)):
        kinds = sorted({r["kind"] for r in rows})
        right = {k: [(p >= best) == (r["label"] == "supported") for r, p in zip(rows, probs) if r["kind"] == k] for k in kinds}
        print(f"{split:4} accuracy by kind: " + ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in right.items()))
    if args.write:
        WEIGHTS_PATH.write_text(json.dumps(weights, indent=2) + "\n")
        print(f"wrote {WEIGHTS_PATH}")


if __name__ == "__main__":
    main()
