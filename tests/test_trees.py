"""The numpy evaluation of gradient-boosted trees equals scikit-learn's, and the shipped models load.

Out of scope: what the models decide (see test_verify, test_abstain).
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.trees import BoostedTrees


def fitted(seed: int, monotone: bool, missing: bool):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] * X[:, 3] + rng.normal(scale=0.5, size=600) > 0).astype(int)
    if missing:
        X[rng.random(X.shape) < 0.1] = np.nan
    model = HistGradientBoostingClassifier(
        max_iter=60, max_depth=4, random_state=seed, monotonic_cst=[1, 1, 0, 0] if monotone else None
    )
    return model.fit(X, y), rng


@pytest.mark.parametrize("seed, monotone, missing", [(0, False, False), (1, True, False), (2, False, True)])
def test_trees__equal_scikit_learn_on_new_rows(seed, monotone, missing, tmp_path):
    model, rng = fitted(seed, monotone, missing)
    rows = rng.normal(scale=2.0, size=(500, 4))
    rows[rng.random(rows.shape) < (0.1 if missing else 0.0)] = np.nan
    path = tmp_path / "model.npz"
    BoostedTrees.from_sklearn(model, meta={"features": ["a", "b", "c", "d"]}).save(path)
    trees = BoostedTrees.load(path)
    assert np.abs(trees.predict_proba(rows) - model.predict_proba(rows)).max() < 1e-12
    assert np.abs(trees.predict_proba(rows[:1]) - model.predict_proba(rows[:1])).max() < 1e-12  # one row
    assert trees.meta == {"features": ["a", "b", "c", "d"]}


def test_trees__refuse_a_multiclass_model():
    from sklearn.ensemble import HistGradientBoostingClassifier

    X = np.arange(90, dtype=float).reshape(-1, 1)
    model = HistGradientBoostingClassifier(max_iter=3).fit(X, np.arange(90) % 3)
    with pytest.raises(ValueError, match="binary"):
        BoostedTrees.from_sklearn(model)


@pytest.mark.parametrize("module", ["verify", "answerability"])
def test_shipped_models__load_with_their_features_and_threshold(module):
    import importlib

    shipped = importlib.import_module(f"assistant.{module}")
    model = shipped.load_model()
    assert model.meta["features"] == list(shipped.FEATURES)
    assert 0.0 < model.threshold_ < 1.0 and len(model.roots) == 200
    p = model.predict_proba(np.zeros((3, len(shipped.FEATURES))))
    assert p.shape == (3, 2) and np.allclose(p.sum(axis=1), 1.0)
