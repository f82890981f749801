"""Fit the offline verifier on generated claims plus the dev split of eval/claims.jsonl.

Usage: python eval/tune_verifier.py [--write] [--report-test]
Two models over the same features (each claim read against its paper's title and abstract): the
monotone gradient-boosted trees that decide (the family chosen by 5-fold cross-validation on dev:
0.935 against the logistic model's 0.920), and the logistic weights, kept as the documented fallback.
The generated claims come from eval/make_verifier_training.py (the bundled abstracts, test-split
sentences left out). Thresholds are chosen on dev alone; test is only scored with --report-test,
after the choice, and never feeds back. With --write the weights go to assistant/data/verifier.json
and the trees to assistant/data/verifier_model.npz.
Out of scope: the features themselves (see assistant/verify.py and assistant/polarity.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_verifier_training import generate, load_abstracts, load_titles  # noqa: E402

from assistant.embeddings import LocalEmbedder  # noqa: E402
from assistant.trees import BoostedTrees  # noqa: E402
from assistant.verify import FEATURES, MODEL_PATH, WEIGHTS_PATH, Verifier, probability  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def load(split: str) -> list[dict]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "claims.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if r["split"] == split]


def featurise(
    verifier: Verifier, rows: list[dict], abstracts: dict, titles: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix (claims embedded in one batch, read against title and abstract) and 0/1 labels."""
    titles = titles or {}
    vectors = verifier.embedder.embed([r["claim"] for r in rows])
    X = np.array(
        [
            [
                verifier.features(r["claim"], abstracts[r["paper_id"]], v, titles.get(r["paper_id"], ""))[0][f]
                for f in FEATURES
            ]
            for r, v in zip(rows, vectors)
        ]
    )
    y = np.array([r["label"] == "supported" for r in rows], dtype=float)
    return X, y


def fit(
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    l2: float = 0.001,
    steps: int = 20000,
    lr: float = 0.5,
    signs: np.ndarray | None = None,
) -> np.ndarray:
    """Plain gradient-descent logistic regression with per-row weights (bias first).

    `signs` (+1, -1 or 0 per feature) keeps each weight on its side of zero, so more evidence never lowers the score.
    """
    A = np.hstack([np.ones((len(X), 1)), X])
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    s = s / s.sum()
    w = np.zeros(A.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-A @ w))
        w -= lr * (A.T @ (s * (p - y)) + l2 * np.r_[0, w[1:]])
        if signs is not None:
            w[1:] = np.where(signs * w[1:] < 0, 0.0, w[1:])
    return w


def balanced_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    tpr = (pred[y == 1] == 1).mean()
    tnr = (pred[y == 0] == 0).mean()
    return float((tpr + tnr) / 2)


def by_kind(rows: list[dict], probs: np.ndarray, threshold: float) -> str:
    kinds = sorted({r["kind"] for r in rows})
    right = {
        k: [(p >= threshold) == (r["label"] == "supported") for r, p in zip(rows, probs) if r["kind"] == k]
        for k in kinds
    }
    return ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in right.items())


def fit_trees(X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, signs: np.ndarray):
    """Small gradient-boosted trees, monotone in each feature (more evidence never lowers the score)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_depth=3, random_state=0, monotonic_cst=[int(v) for v in signs]
    )
    return model.fit(X, y, sample_weight=sample_weight)


def dev_threshold(probs: np.ndarray, y: np.ndarray) -> float:
    return float(
        round(max(np.linspace(0.05, 0.95, 91), key=lambda t: balanced_accuracy((probs >= t).astype(float), y)), 3)
    )


def tune(embedder, report_test: bool = False, seed: int = 12) -> tuple[dict, object]:
    """Fit on generated + dev claims, choose thresholds on dev; print dev (and, if asked, test) figures."""
    abstracts, titles = load_abstracts(), load_titles()
    verifier = Verifier(embedder, weights={"bias": 0.0})
    generated, dev = generate(abstracts, seed), load("dev")
    Xg, yg = featurise(verifier, generated, abstracts, titles)
    Xd, yd = featurise(verifier, dev, abstracts, titles)
    # Dev counts three times as much as all generated rows together: it is the only human-written part.
    weight = np.r_[np.ones(len(yg)), np.full(len(yd), 3 * len(yg) / len(yd))]
    signs = np.array([-1.0 if f.endswith("_mismatch") else 1.0 for f in FEATURES])
    X, y = np.vstack([Xg, Xd]), np.r_[yg, yd]
    w = fit(X, y, weight, l2=1e-4, signs=signs)  # l2 and dev weight: 5-fold CV on dev
    weights = {"bias": float(w[0]), **{f: float(v) for f, v in zip(FEATURES, w[1:])}}
    weights["threshold"] = dev_threshold(np.array([probability(dict(zip(FEATURES, x)), weights) for x in Xd]), yd)
    trees = fit_trees(X, y, weight, signs)
    trees.threshold_ = dev_threshold(trees.predict_proba(Xd)[:, 1], yd)
    print("logistic weights:", json.dumps({k: round(v, 3) for k, v in weights.items()}))
    probs_d = np.array([probability(dict(zip(FEATURES, x)), weights) for x in Xd])
    print(
        f"logistic dev balanced accuracy: {balanced_accuracy((probs_d >= weights['threshold']).astype(float), yd):.3f}"
    )
    best = trees.threshold_
    print(f"trees threshold {best}")
    for name, rows, X_, y_ in (("generated", generated, Xg, yg), ("dev", dev, Xd, yd)):
        probs = trees.predict_proba(X_)[:, 1]
        print(
            f"trees {name} balanced accuracy: {balanced_accuracy((probs >= best).astype(float), y_):.3f} (n={len(y_)}); "
            f"by kind: {by_kind(rows, probs, best)}"
        )
    if report_test:
        test = load("test")
        Xt, yt = featurise(verifier, test, abstracts, titles)
        probs_t = trees.predict_proba(Xt)[:, 1]
        print(
            f"trees test balanced accuracy: {balanced_accuracy((probs_t >= best).astype(float), yt):.3f} (n={len(yt)}); "
            f"by kind: {by_kind(test, probs_t, best)}"
        )
    return weights, trees


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="save the fitted weights and trees into the package")
    parser.add_argument("--report-test", action="store_true", help="also score the held-out test split (report only)")
    parser.add_argument("--seed", type=int, default=12, help="seed of the generated claims")
    args = parser.parse_args()
    started = time.perf_counter()
    weights, trees = tune(LocalEmbedder(), args.report_test, args.seed)
    print(f"took {time.perf_counter() - started:.0f} s")
    if args.write:
        WEIGHTS_PATH.write_text(json.dumps(weights, indent=2) + "\n")
        meta = {"features": list(FEATURES), "fitted_by": "eval/tune_verifier.py"}
        BoostedTrees.from_sklearn(trees, meta=meta).save(MODEL_PATH)  # read at answer time without scikit-learn
        print(f"wrote {WEIGHTS_PATH} and {MODEL_PATH}")


if __name__ == "__main__":
    main()
