"""A setup's rows binned once: subsets pick the right rows and labels, and the same rows give the same boosters."""

from __future__ import annotations

import numpy as np
import pytest

from epigex.models.binned import BinnedRows
from epigex.models.boosters import train_booster
from epigex.models.params import get_profile, lgb_params

NAMES = ["a", "b", "c"]


def cells() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {"A": rng.normal(size=(300, 3)).astype(np.float32), "B": rng.normal(size=(200, 3)).astype(np.float32)}


def test_rows_are_the_masked_rows_of_each_cell_in_order_with_their_labels() -> None:
    X = cells()
    params = lgb_params("regressor", get_profile("quick"), 0)
    b = BinnedRows.build(X, ("A", "B"), params, NAMES)
    assert b.n_rows == 500
    assert b.offsets == {"A": 0, "B": 300}
    masks = {"A": np.arange(300) % 3 == 0, "B": np.arange(200) >= 150}
    idx = b.indices(masks)
    np.testing.assert_array_equal(idx, np.concatenate([np.arange(0, 300, 3), 300 + np.arange(150, 200)]))
    y = {"A": np.arange(300, dtype=np.float64), "B": 1000 + np.arange(200, dtype=np.float64)}
    ds = b.rows(masks, y)
    assert ds.num_data() == 150
    np.testing.assert_array_equal(ds.get_label(), np.concatenate([y["A"][masks["A"]], y["B"][masks["B"]]]))
    # the parent keeps its own (placeholder) labels: a subset's labels are its own
    assert not b.dataset.get_label().any()


def test_the_same_rows_binned_twice_give_the_same_booster() -> None:
    # A Dask task bins its unit's cells itself; the booster must be the one the local run fits from shared bins.
    X = cells()
    y = {c: (x[:, 0] + 0.1 * x[:, 1]).astype(np.float64) for c, x in X.items()}
    params = lgb_params("regressor", get_profile("quick"), 0)
    train = {"A": np.arange(300) < 250, "B": np.arange(200) < 150}
    stop = {c: ~m for c, m in train.items()}
    texts = []
    for _ in range(2):
        b = BinnedRows.build(X, ("A", "B"), params, NAMES)
        booster = train_booster(params, b.rows(train, y), b.rows(stop, y), rounds=50, early_stopping=5)
        texts.append(booster.model_to_string())
    assert texts[0] == texts[1]
    assert "Tree=0" in texts[0]


def test_a_classifier_trains_on_a_subset_of_bins_made_with_the_regressors_parameters() -> None:
    # Both stages bin alike: a parent binned with one stage's parameters serves the other's fits.
    X = cells()
    b = BinnedRows.build(X, ("A",), lgb_params("regressor", get_profile("quick"), 0), NAMES)
    y = {"A": (X["A"][:, 0] > 0).astype(np.float64)}
    params = lgb_params("classifier", get_profile("quick"), 0)
    booster = train_booster(params, b.rows({"A": np.ones(300, bool)}, y), None, rounds=20)
    p = booster.predict(X["A"])
    assert ((p > 0.5) == (X["A"][:, 0] > 0)).mean() > 0.95


def test_early_stopping_reads_the_stop_rows_own_labels() -> None:
    # The parent holds placeholder labels: the l2 LightGBM reports on the stop rows must be the one against their
    # real labels (stopping on the placeholders would pick a wrong round count and nothing else would show it).
    import lightgbm as lgb

    X = cells()
    y = {c: (x[:, 0] + 0.1 * x[:, 1]).astype(np.float64) for c, x in X.items()}
    params = lgb_params("regressor", get_profile("quick"), 0)
    b = BinnedRows.build(X, ("A", "B"), params, NAMES)
    train = {"A": np.arange(300) < 250, "B": np.arange(200) < 150}
    stop = {c: ~m for c, m in train.items()}
    log: dict[str, dict[str, list[float]]] = {}
    booster = lgb.train(
        params, b.rows(train, y), 15, valid_sets=[b.rows(stop, y)], callbacks=[lgb.record_evaluation(log)]
    )
    Xs = np.concatenate([X[c][stop[c]] for c in ("A", "B")])
    ys = np.concatenate([y[c][stop[c]] for c in ("A", "B")])
    l2 = float(np.mean((booster.predict(Xs) - ys) ** 2))
    assert log["valid_0"]["l2"][-1] == pytest.approx(l2, rel=1e-5)
    assert l2 < 0.5 * float(np.mean(ys**2))  # and it learned: far below the placeholders' error


def test_a_task_binning_its_own_cells_fits_what_the_shared_bins_fit() -> None:
    # Locally, a setup is binned once with the classifier's parameters and serves both stages; a Dask task bins
    # its unit's cells itself with its own stage's. Same rows, same boosters, byte for byte.
    from epigex.models.training import Unit, run_unit

    X = cells()
    y = {c: (x[:, 0] + 0.1 * x[:, 2]).astype(np.float64) for c, x in X.items()}
    masks = {"A": np.arange(300) % 5, "B": np.arange(200) % 5}
    unit = Unit(
        "pooled",
        "regressor",
        ("A", "B"),
        train={c: m < 3 for c, m in masks.items()},
        stop={c: m == 3 for c, m in masks.items()},
        test={c: m == 4 for c, m in masks.items()},
        keep_booster=True,
    )
    profile = get_profile("full")
    params = lgb_params("regressor", profile, 0)
    shared = BinnedRows.build(X, ("A", "B"), lgb_params("classifier", profile, 0), NAMES)
    local = run_unit(unit, X, y, params, NAMES, 200, 10, binned=shared)
    task = run_unit(unit, X, y, params, NAMES, 200, 10)
    assert local[2] == task[2]
    assert local[0] == task[0] > 1
    for c in ("A", "B"):
        np.testing.assert_array_equal(local[1][c], task[1][c])
