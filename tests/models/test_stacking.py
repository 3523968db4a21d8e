"""Mask arithmetic, stacking and the threshold / rule sweep."""

from __future__ import annotations

import numpy as np
import pytest

from epigex.models.stacking import expressed_mask, stack, sweep


def test_mask_rules_by_hand() -> None:
    p = np.array([[0.3, 0.5], [0.45, 0.45], [0.9, 0.1], [0.2, 0.3]])
    assert expressed_mask(p, "mean", 0.4).tolist() == [True, True, True, False]
    assert expressed_mask(p, "union", 0.4).tolist() == [True, True, True, False]
    assert expressed_mask(p, "intersection", 0.4).tolist() == [False, True, False, False]
    assert expressed_mask(p, "union", 0.95).tolist() == [False] * 4
    with pytest.raises(ValueError, match="unknown mask rule"):
        expressed_mask(p, "median", 0.4)  # type: ignore[arg-type]


def test_stack_is_mean_rank_times_mask() -> None:
    p = np.array([[0.8, 0.6], [0.1, 0.3]])
    r = np.array([[0.9, 0.7], [0.4, 0.2]])
    st = stack(p, r, "mean", 0.4)
    np.testing.assert_allclose(st.rank_predicted, [0.8, 0.3])
    np.testing.assert_allclose(st.p_expressed, [0.7, 0.2])
    np.testing.assert_allclose(st.gex_predicted, [0.8, 0.0])
    one = stack(np.array([0.5, 0.39]), np.array([0.6, 0.7]))  # one setup, default rule and threshold 0.40
    np.testing.assert_allclose(one.gex_predicted, [0.6, 0.0])


def test_sweep_finds_the_informative_threshold(rng: np.random.Generator) -> None:
    n = 2000
    gex = np.where(rng.random(n) < 0.5, 0.0, rng.lognormal(size=n))
    on = gex > 0
    # the classifier is right: P is 0.7 for expressed genes, 0.2 otherwise; the rank is noisy
    p = np.where(on, 0.7, 0.2)[:, None] + rng.normal(0, 0.02, (n, 2))
    r = (np.argsort(np.argsort(gex + rng.normal(0, 2, n))) / n)[:, None] + np.zeros((n, 2))
    res = sweep([(p, r, gex)])
    assert 0.25 <= res.threshold <= 0.65
    assert res.spearman > res.unmasked + 0.05
    assert len(res.curve) == 3 * 19


def test_sweep_prefers_the_default_on_ties() -> None:
    gex = np.array([0.0, 0.0, 1.0, 2.0, 3.0])
    p = np.array([[0.01], [0.02], [0.98], [0.99], [0.97]])  # every threshold in 0.05..0.95 separates equally
    r = np.array([[0.1], [0.2], [0.5], [0.7], [0.9]])
    res = sweep([(p, r, gex)])
    assert (res.rule, res.threshold) == ("mean", 0.4)
