"""SHAP-based selection: the two rankings, the constant and correlation filters."""

from __future__ import annotations

import numpy as np

from epigex.models.selection import mean_abs_shap, select_features


def test_mean_abs_shap_normalises_and_drops_base() -> None:
    contrib = np.array([[1.0, -3.0, 100.0], [-1.0, 1.0, 100.0]])
    np.testing.assert_allclose(mean_abs_shap(contrib), [1 / 3, 2 / 3])


def test_selection_filters(rng: np.random.Generator) -> None:
    n = 500
    a = rng.normal(size=n)
    X = np.column_stack(
        [
            a,  # 0 strong
            a * 2 + 1e-3 * rng.normal(size=n),  # 1 a near copy of 0 (drop: correlated)
            np.full(n, 3.0),  # 2 constant (drop)
            rng.normal(size=n),  # 3 stable in both directions
            rng.normal(size=n),  # 4 strong in one direction only
            rng.normal(size=n),  # 5 weak everywhere
        ]
    )
    names = ["a", "a_copy", "const", "stable", "one_sided", "weak"]
    imp1 = np.array([0.30, 0.25, 0.20, 0.10, 0.14, 0.01])
    imp2 = np.array([0.30, 0.25, 0.20, 0.12, 0.00, 0.03])
    importances = {"X1->X2": {"classifier": imp1, "regressor": imp1}, "X2->X1": {"classifier": imp2, "regressor": imp2}}
    # by mean: a .30, a_copy .25, const .20, stable .11, one_sided .07, weak .02
    # by stability (min over directions): a, a_copy, const, stable .10, weak .01, one_sided 0
    sel = select_features(names, importances, X, top=4)
    assert sel.selected == ["a", "stable"]
    fate = {s["feature"]: s["fate"] for s in sel.scores}
    assert fate["a_copy"].startswith("dropped: |rho|=")
    assert "with a" in fate["a_copy"]
    assert fate["const"] == "dropped: near-constant"
    assert set(fate) == {"a", "a_copy", "const", "stable"}
    sel5 = select_features(names, importances, X, top=5)  # one_sided enters by mean, weak by stability
    assert sel5.selected == ["a", "stable", "one_sided", "weak"]
    scores = {s["feature"]: s for s in sel5.scores}
    assert (scores["one_sided"]["rank_mean"], scores["one_sided"]["rank_stability"]) == (5, 6)
    assert (scores["weak"]["rank_mean"], scores["weak"]["rank_stability"]) == (6, 5)
