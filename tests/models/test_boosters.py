"""One booster of one stage: round counts kept, predictions that survive a reload, clipping and SHAP sums."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from epigex.models.boosters import contributions, fit_booster, predict_stage, rounds_of

NAMES = ["f0", "f1", "f2"]


def params(objective: str = "regression") -> dict[str, Any]:
    return {
        "objective": objective,
        "metric": "binary_logloss" if objective == "binary" else "l2",
        "learning_rate": 0.3,
        "num_leaves": 4,
        "min_data_in_leaf": 5,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": 1,
        "seed": 0,
        "verbosity": -1,
    }


def data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float64) + 0.1 * X[:, 1]
    return X, y


def test_without_validation_every_round_is_kept() -> None:
    X, y = data(300, 0)
    b = fit_booster(X, y, params(), NAMES, rounds=7)
    assert rounds_of(b) == 7
    assert b.feature_name() == NAMES


def test_at_least_one_round() -> None:
    X, y = data(300, 0)
    assert rounds_of(fit_booster(X, y, params(), NAMES, rounds=0)) == 1


def test_early_stopping_keeps_the_best_rounds_of_a_plain_lightgbm_run() -> None:
    X, y = data(300, 1)
    Xv, _ = data(200, 2)
    yv = np.random.default_rng(3).normal(size=200)  # validation labels unrelated to X: the best round is early
    b = fit_booster(X, y, params(), NAMES, valid=(Xv, yv), rounds=10, early_stopping=2)
    ref = lgb.train(
        params(),
        lgb.Dataset(X, label=y, feature_name=NAMES, params=params()),
        num_boost_round=10,
        valid_sets=[lgb.Dataset(Xv, label=yv, reference=lgb.Dataset(X, label=y, params=params()))],
        callbacks=[lgb.early_stopping(2, first_metric_only=True, verbose=False)],
    )
    assert 1 <= ref.best_iteration < 10
    assert rounds_of(b) == ref.best_iteration
    np.testing.assert_allclose(b.predict(Xv), ref.predict(Xv, num_iteration=ref.best_iteration), rtol=1e-6)


def test_predictions_survive_a_reload_from_the_model_text() -> None:
    X, y = data(300, 4)
    b = fit_booster(X, y, params(), NAMES, rounds=5)
    reloaded = lgb.Booster(model_str=b.model_to_string())
    np.testing.assert_array_equal(reloaded.predict(X), b.predict(X))


def test_regressor_rank_is_clipped_to_the_unit_interval() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = np.where(X[:, 0] > 0, 2.0, -1.0)  # targets outside [0, 1]
    b = fit_booster(X, y, params(), NAMES, rounds=10)
    raw = np.asarray(b.predict(X))
    assert raw.max() > 1.0
    assert raw.min() < 0.0
    out = predict_stage(b, "regressor", X)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.clip(raw, 0.0, 1.0))
    assert set(np.unique(out[raw > 1.0])) == {1.0}


def test_classifier_probability_is_passed_through() -> None:
    X, y = data(300, 6)
    b = fit_booster(X, y > 0.5, params("binary"), NAMES, rounds=5)
    p = predict_stage(b, "classifier", X)
    np.testing.assert_array_equal(p, b.predict(X))
    assert bool(((p > 0) & (p < 1)).all())
    assert p[y > 0.5].mean() > 0.8
    assert p[y <= 0.5].mean() < 0.2


@pytest.mark.parametrize("objective", ["regression", "binary"])
def test_contributions_sum_to_the_raw_score(objective: str) -> None:
    X, y = data(300, 7)
    label = y > 0.5 if objective == "binary" else y
    b = fit_booster(X, label, params(objective), NAMES, rounds=6)
    c = contributions(b, X[:20])
    assert c.shape == (20, 4)  # one column per feature and the base value last
    np.testing.assert_allclose(c.sum(axis=1), b.predict(X[:20], raw_score=True), rtol=1e-6, atol=1e-9)
    assert np.ptp(c[:, -1]) == 0.0  # one base value for every row
    # f2 is pure noise: never split on by a 4-leaf tree as strongly as f0
    assert np.abs(c[:, 0]).mean() > np.abs(c[:, 2]).mean()
