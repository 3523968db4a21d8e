"""The demo's invented expression: lineages, the copula's correlation matrix, score imputation and activity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtri
from scipy.stats import spearmanr

from epigex.demo.expression import (
    CellTypes,
    activity,
    calibrate_rho,
    impute_scores,
    invent_expression,
    lineage,
    to_values,
)


def test_lineages() -> None:
    assert [lineage(c, i) for i, c in enumerate(["X1", "X2", "X3"])] == [0, 1, 2]
    assert [lineage(f"C{i}", i) for i in range(3, 8)] == [0, 1, 2, 0, 1]
    assert lineage("X3", 0) == 2  # the real cells keep their lineage wherever they stand


def test_correlation_matrix_by_lineage() -> None:
    t = CellTypes.build(["X1", "X2", "X3", "C1", "C2"], 0.7, 0.9)  # C1 at index 3: lineage 0, C2: lineage 1
    assert t.cells == ("X1", "X2", "X3", "C1", "C2")
    np.testing.assert_array_equal(
        t.sigma,
        [
            [1.0, 0.7, 0.7, 0.9, 0.7],
            [0.7, 1.0, 0.7, 0.7, 0.9],
            [0.7, 0.7, 1.0, 0.7, 0.7],
            [0.9, 0.7, 0.7, 1.0, 0.7],
            [0.7, 0.9, 0.7, 0.7, 1.0],
        ],
    )


def test_to_values_maps_scores_through_the_pooled_distribution() -> None:
    pool = np.array([0.0, 0.0, 1.0, 5.0])
    # ndtr: -inf → 0 (first value), 0 → 0.5 (second of four, inverted CDF), large → 1 (last)
    z = np.array([-np.inf, -1.0, 0.0, 0.5, 10.0])
    np.testing.assert_array_equal(to_values(z, pool), [0.0, 0.0, 0.0, 1.0, 5.0])


def test_conditional_keeps_observed_scores_and_draws_the_regression() -> None:
    t = CellTypes.build(["X1", "X2"], 0.6, 0.9)
    z1 = np.random.default_rng(0).standard_normal(40_000)
    out = t.conditional({"X1": z1}, np.random.default_rng(1))
    assert out["X1"] is z1
    z2 = out["X2"]
    slope = float(np.polyfit(z1, z2, 1)[0])
    assert slope == pytest.approx(0.6, abs=0.02)
    assert float(np.var(z2 - 0.6 * z1)) == pytest.approx(1 - 0.36, abs=0.02)


def test_conditional_on_two_observed_cells_reproduces_the_third_lineage_correlation() -> None:
    t = CellTypes.build(["X1", "X2", "X3", "C1"], 0.5, 0.9)
    rng = np.random.default_rng(2)
    z1 = rng.standard_normal(40_000)
    z2 = 0.5 * z1 + math.sqrt(0.75) * rng.standard_normal(z1.size)
    out = t.conditional({"X1": z1, "X2": z2}, np.random.default_rng(3))
    c = np.corrcoef(np.stack([out[k] for k in t.cells]))
    np.testing.assert_allclose(c, t.sigma, atol=0.02)


def test_calibrated_rho_inverts_the_gaussian_spearman() -> None:
    pool = np.random.default_rng(4).lognormal(0, 1, 5000)  # no ties: Spearman = (6/π) asin(ρ/2)
    for target in (0.5, 0.778):
        rho = calibrate_rho(target, pool)
        assert rho == pytest.approx(2 * math.sin(math.pi * target / 6), abs=0.01)


def test_impute_scores_keeps_expressed_ranks_and_puts_zeros_below_the_threshold() -> None:
    rng = np.random.default_rng(5)
    a = np.where(rng.random(500) < 0.3, 0.0, rng.lognormal(0, 1, 500))
    b = np.where(rng.random(500) < 0.4, 0.0, rng.lognormal(0, 1, 500))
    za, zb = impute_scores(a, b, 0.7, np.random.default_rng(6))
    for x, z in ((a, za), (b, zb)):
        on = x > 0
        ranks = np.argsort(np.argsort(x)) + 1.0  # no ties among the expressed values
        np.testing.assert_allclose(z[on], ndtri((ranks[on] - 0.5) / x.size))
        tau = ndtri((~on).mean())
        assert bool((z[~on] < tau).all())
        assert bool(np.isfinite(z).all())


def test_impute_scores_correlates_shared_zeros() -> None:
    rng = np.random.default_rng(7)
    base = rng.standard_normal(4000)
    other = 0.8 * base + 0.6 * rng.standard_normal(base.size)
    a, b = np.maximum(base, 0.0), np.maximum(other, 0.0)  # about half zeros in each, zeros shared
    za, zb = impute_scores(a, b, 0.8, np.random.default_rng(8))
    both = (a == 0) & (b == 0)
    assert float(np.corrcoef(za[both], zb[both])[0, 1]) > 0.2


def test_activity_with_perfect_correlation_by_hand() -> None:
    gex = np.array([0.0, 3.0, 0.0, 1.0, 2.0])
    act = activity(gex, np.random.default_rng(9), rho=1.0)
    # two zeros: silent; the three expressed genes get 0.35 + 0.65 (rank - 0.5) / 3
    np.testing.assert_allclose(act, [0.0, 0.35 + 0.65 * 5 / 6, 0.0, 0.35 + 0.65 / 6, 0.35 + 0.65 / 2])


def test_activity_share_of_silent_chromatin_follows_the_zero_share() -> None:
    rng = np.random.default_rng(10)
    gex = np.where(rng.random(20_000) < 0.4, 0.0, rng.lognormal(0, 1, 20_000))
    act = activity(gex, np.random.default_rng(11))
    assert float((act == 0).mean()) == pytest.approx(float((gex == 0).mean()), abs=0.01)
    assert float(act[act > 0].min()) > 0.35
    assert float(act.max()) < 1.0
    assert float(spearmanr(act, gex).statistic) > 0.7


def test_invent_expression_keeps_real_labels_and_draws_from_the_pool() -> None:
    rng = np.random.default_rng(12)
    n_lab, n_test = 600, 150
    x1 = np.where(rng.random(n_lab) < 0.4, 0.0, np.round(rng.lognormal(1, 1, n_lab), 3))
    x2 = np.where(rng.random(n_lab) < 0.4, 0.0, np.round(rng.lognormal(1, 1, n_lab), 3))
    signal = rng.random(n_test)
    out = invent_expression({"X1": x1, "X2": x2}, signal, n_lab, ["C1", "C2"], np.random.default_rng(13))
    assert list(out) == ["X1", "X2", "X3", "C1", "C2"]
    assert all(v.shape == (n_lab + n_test,) for v in out.values())
    np.testing.assert_array_equal(out["X1"][:n_lab], x1)
    np.testing.assert_array_equal(out["X2"][:n_lab], x2)
    pool = set(np.concatenate([x1, x2]).tolist())
    for v in out.values():
        assert set(v.tolist()) <= pool
    # X3's test genes follow X3's real promoter signal (ρ 0.85 in the copula)
    assert float(spearmanr(out["X3"][n_lab:], signal).statistic) > 0.6
    again = invent_expression({"X1": x1, "X2": x2}, signal, n_lab, ["C1", "C2"], np.random.default_rng(13))
    for k, v in out.items():
        np.testing.assert_array_equal(again[k], v)
