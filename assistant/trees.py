"""Binary gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier) evaluated with numpy.

The offline verifier and the answerability model are such trees. scikit-learn fits them (eval/ scripts,
the `train` extra); at answer time they are read from a plain .npz and evaluated here, which costs about
a millisecond instead of the second it takes to import scikit-learn (and SciPy, pandas) in a fresh
`assistant ask`. The evaluation is exact: the same float64 thresholds, the same missing-value rule, the
same sigmoid of the summed leaf values (tests/test_trees.py checks it against scikit-learn).
Out of scope: fitting; categorical splits (none of our models uses them).

ONNX Runtime (already loaded for the embedder) could run converted trees too, but its tree operator
compares in float32, which moves borderline verdicts; a converter would also become a dependency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FIELDS = ("feature_idx", "num_threshold", "missing_go_to_left", "left", "right", "is_leaf", "value")


@dataclass
class BoostedTrees:
    """Every tree's nodes concatenated (children as absolute indices), the roots, and the baseline score.

    Example: BoostedTrees.load(path).predict_proba(np.array([[0.3, 0.9]]))[:, 1]
    """

    feature: np.ndarray  # int64, per node
    threshold: np.ndarray  # float64: go left when x <= threshold
    missing_left: np.ndarray  # bool: where a NaN goes
    left: np.ndarray  # int64, absolute node index
    right: np.ndarray
    leaf: np.ndarray  # bool
    value: np.ndarray  # float64: a leaf's contribution to the raw score
    roots: np.ndarray  # int64: the first node of each tree
    baseline: float
    depth: int  # the deepest leaf: how many steps every walk takes at most
    threshold_: float = 0.5  # the decision threshold the fitting script chose
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. feature names, what it was fitted on

    @property
    def n_features_in_(self) -> int:
        return int(self.feature[~self.leaf].max()) + 1 if (~self.leaf).any() else 0

    @classmethod
    def from_sklearn(cls, model, meta: dict[str, Any] | None = None) -> BoostedTrees:
        """From a fitted binary HistGradientBoostingClassifier (scikit-learn's private predictor arrays)."""
        if getattr(model, "n_trees_per_iteration_", 1) != 1:
            raise ValueError("only binary classifiers (one tree per iteration) are supported")
        parts, roots, offset = [], [], 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits are not supported")
            roots.append(offset)
            part = {name: np.asarray(nodes[name]) for name in FIELDS}
            part["left"] = part["left"].astype(np.int64) + offset
            part["right"] = part["right"].astype(np.int64) + offset
            parts.append(part)
            offset += len(nodes)
        joined = {name: np.concatenate([p[name] for p in parts]) for name in FIELDS}
        depth = max(int(p.nodes["depth"].max()) for (p,) in model._predictors)
        return cls(
            feature=joined["feature_idx"].astype(np.int64),
            threshold=joined["num_threshold"].astype(np.float64),
            missing_left=joined["missing_go_to_left"].astype(bool),
            left=joined["left"],
            right=joined["right"],
            leaf=joined["is_leaf"].astype(bool),
            value=joined["value"].astype(np.float64),
            roots=np.asarray(roots, dtype=np.int64),
            baseline=float(np.ravel(model._baseline_prediction)[0]),
            depth=depth,
            threshold_=float(getattr(model, "threshold_", 0.5)),
            meta=dict(meta or {}),
        )

    def raw(self, X: np.ndarray) -> np.ndarray:
        """The summed leaf values plus the baseline, per row (the log-odds)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        rows = np.arange(len(X))[:, None]
        node = np.broadcast_to(self.roots, (len(X), len(self.roots))).copy()  # (rows, trees)
        for _ in range(self.depth):
            inner = ~self.leaf[node]
            if not inner.any():
                break
            x = X[rows, np.where(inner, self.feature[node], 0)]
            go_left = np.where(np.isnan(x), self.missing_left[node], x <= self.threshold[node])
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
        return self.baseline + self.value[node].sum(axis=1)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(rows, 2): P(class 0), P(class 1), as scikit-learn's predict_proba."""
        p = 1.0 / (1.0 + np.exp(-self.raw(X)))
        return np.column_stack([1.0 - p, p])

    def save(self, path: Path | str) -> None:
        arrays = {name: getattr(self, name) for name in ("feature", "threshold", "missing_left", "left", "right")}
        arrays |= {"leaf": self.leaf, "value": self.value, "roots": self.roots}
        header = {"baseline": self.baseline, "depth": self.depth, "threshold": self.threshold_, "meta": self.meta}
        with open(path, "wb") as out:  # a file object: np.savez would append .npz to a str path
            np.savez_compressed(out, header=np.array(json.dumps(header)), **arrays)

    @classmethod
    def load(cls, path: Path | str) -> BoostedTrees:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            arrays = {name: data[name] for name in data.files if name != "header"}
        return cls(
            **arrays,
            baseline=header["baseline"],
            depth=header["depth"],
            threshold_=header["threshold"],
            meta=header["meta"],
        )
