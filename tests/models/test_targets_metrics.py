"""Targets and metrics on hand-made values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import pearsonr, spearmanr

from epigex.models.metrics import pearson, roc_auc, spearman
from epigex.models.targets import expressed_target, rank_target


def test_rank_target_averages_ties() -> None:
    gex = np.array([0.0, 0.0, 1.0, 3.0, 3.0, 0.5])
    # ranks: 0,0 -> 1.5 ; 0.5 -> 3 ; 1 -> 4 ; 3,3 -> 5.5
    np.testing.assert_allclose(rank_target(gex), np.array([1.5, 1.5, 4, 5.5, 5.5, 3]) / 6)


def test_rank_target_all_tied_and_empty() -> None:
    np.testing.assert_allclose(rank_target(np.zeros(4)), np.full(4, 2.5 / 4))
    assert rank_target(np.array([])).size == 0


def test_expressed_target() -> None:
    assert expressed_target(np.array([0.0, 1e-9, 2.0])).tolist() == [0, 1, 1]


def test_metrics_match_scipy(rng: np.random.Generator) -> None:
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    y[:50] = 0.0  # ties
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert pearson(x, y) == pytest.approx(pearsonr(x, y).statistic, abs=1e-12)


def test_metrics_degenerate_inputs() -> None:
    assert math.isnan(spearman(np.array([1.0, 2.0]), np.array([2.0, 1.0])))
    assert math.isnan(pearson(np.ones(5), np.arange(5.0)))


def test_auc_by_hand() -> None:
    # positives score 0.9, 0.4; negatives 0.5, 0.1: pairs won 1+1+0+1 = 3 of 4
    assert roc_auc(np.array([0.9, 0.4, 0.5, 0.1]), np.array([1, 1, 0, 0])) == pytest.approx(0.75)
    assert roc_auc(np.array([0.5, 0.5]), np.array([1, 0])) == pytest.approx(0.5)
    assert math.isnan(roc_auc(np.array([0.1, 0.2]), np.array([1, 1])))


@given(
    st.lists(st.integers(min_value=-5, max_value=5) | st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=60)
)
def test_average_ranks_equal_scipys(values: list[float]) -> None:
    from scipy.stats import rankdata

    from epigex.models.metrics import average_ranks

    np.testing.assert_array_equal(average_ranks(values), rankdata(values, method="average"))
