"""Uncertainty of reference-informed predictions per agreement class: counts, cross-fitted coverage and ECE."""

from __future__ import annotations

import numpy as np
import pytest

from epigex.models.reference_uncertainty import fit_agreement_uncertainty
from epigex.models.references import Features
from epigex.models.uncertainty import Uncertainty


def features(n_refs: np.ndarray, ref_sd: np.ndarray) -> Features:
    n = n_refs.size
    return Features(
        X=np.column_stack([n_refs, ref_sd]).astype(np.float64),
        names=["n_refs", "ref_sd"],
        has_ref=n_refs > 0,
        used=np.zeros((n, 0), dtype=bool),
        refs=[],
        zero_share=0.0,
    )


def target(name: str, n_single: int, n_agree: int, n_disagree: int, n_none: int, seed: int) -> tuple:
    """Perfect predictions (gex == truth, all distinct and expressed), P(expressed) 0.95 everywhere."""
    n_refs = np.concatenate([np.ones(n_single), np.full(n_agree, 2.0), np.full(n_disagree, 3.0), np.zeros(n_none)])
    # agree: sd ≤ 0.12 (0.12 itself included); disagree: above
    sd = np.concatenate([np.zeros(n_single), np.full(n_agree, 0.12), np.full(n_disagree, 0.3), np.zeros(n_none)])
    truth = np.random.default_rng(seed).permutation(n_refs.size).astype(np.float64) + 1.0
    return (name, features(n_refs, sd), truth.copy(), np.full(n_refs.size, 0.95), truth)


def test_nothing_to_fit_gives_empty_models_and_evidence() -> None:
    models, evidence = fit_agreement_uncertainty([])
    assert models == {}
    assert evidence == {"coverage": None, "mean_width": None, "ece_calibrated_cross_fitted": None, "classes": {}}


def test_perfect_predictions_have_full_coverage_and_zero_width() -> None:
    chosen = [target("T1", 40, 35, 31, 10, 0), target("T2", 33, 30, 0, 5, 1)]
    models, evidence = fit_agreement_uncertainty(chosen, alpha=0.2)
    assert set(models) == {"single", "agree", "disagree", "all"}
    assert evidence["classes"] == {"single": 73, "agree": 65, "disagree": 31}  # genes without a reference: none
    assert evidence["coverage"] == 1.0
    assert evidence["mean_width"] == 0.0
    # every gene is expressed (one class): no calibration map, so P(expressed) 0.95 stays, 0.05 from the truth
    assert evidence["ece_calibrated_cross_fitted"] == pytest.approx(0.05)
    for m in models.values():
        u = Uncertainty.from_dict(m)
        assert u.alpha == 0.2
        assert u.residuals_from == "reference pairs"
        assert u.knots_p == []
        assert set(u.lo) == {0.0}  # one bin per 30 genes, at most ten
        assert set(u.hi) == {0.0}
    assert [len(models[k]["lo"]) for k in ("single", "agree", "disagree", "all")] == [2, 2, 1, 5]


def test_genes_without_a_finite_truth_or_prediction_are_left_out() -> None:
    name, f, gex, p, truth = target("T1", 40, 0, 0, 0, 2)
    gex[:3] = np.nan
    truth[3:5] = np.inf
    _, evidence = fit_agreement_uncertainty([(name, f, gex, p, truth)])
    assert evidence["classes"] == {"single": 35}
    assert evidence["coverage"] == 1.0


def test_coverage_is_cross_fitted_between_targets() -> None:
    n = 31
    truth = np.arange(1.0, n + 1)
    f = features(np.ones(n), np.zeros(n))
    good = ("T1", f, truth.copy(), np.full(n, 0.9), truth)
    backwards = ("T2", f, truth[::-1].copy(), np.full(n, 0.9), truth)  # predicted percentiles reversed
    models, evidence = fit_agreement_uncertainty([good, backwards])
    assert set(models) == {"single", "all"}
    assert models["all"] == models["single"]
    # T1 is judged by T2's wide residual bounds (all covered); T2 by T1's zero-width bounds: only its middle gene,
    # whose predicted and true percentile agree, is covered.
    assert evidence["coverage"] == pytest.approx((n + 1) / (2 * n))
    assert evidence["classes"] == {"single": 2 * n}
    # the pooled model, fitted on both, is wider than zero (in-sample it would have been perfect for T1 alone)
    u = Uncertainty.from_dict(models["single"])
    assert u.hi[0] - u.lo[0] > 0.5


def test_calibration_is_fitted_per_class_when_both_outcomes_occur() -> None:
    rng = np.random.default_rng(3)
    n = 200
    truth = np.where(rng.random(n) < 0.5, 0.0, rng.random(n) + 0.5)
    p = np.where(truth > 0, 0.6, 0.4)  # ranks the outcome perfectly, but is far from the observed frequency
    gex = truth + rng.normal(0, 1e-3, n)
    chosen = [(name, features(np.ones(n), np.zeros(n)), gex, p, truth) for name in ("T1", "T2")]
    models, evidence = fit_agreement_uncertainty(chosen)
    u = Uncertainty.from_dict(models["single"])
    np.testing.assert_allclose(u.calibrate(np.array([0.4, 0.6])), [0.0, 1.0])
    assert evidence["ece_calibrated_cross_fitted"] == pytest.approx(0.0)
