"""Per-gene uncertainty: calibration that fixes a known miscalibration, intervals that cover what they say."""

from __future__ import annotations

import numpy as np
import pytest

from epigex.models.uncertainty import (
    OOFSample,
    Uncertainty,
    ece,
    fit_calibration,
    fit_intervals,
    fit_uncertainty,
    percentiles,
)


def test_percentiles_share_ties() -> None:
    np.testing.assert_allclose(percentiles(np.array([0.0, 0.0, 5.0, 1.0])), [0.375, 0.375, 1.0, 0.75])


def test_ece_by_hand() -> None:
    p = np.array([0.05, 0.05, 0.95, 0.95])
    y = np.array([0.0, 1.0, 1.0, 1.0])
    # bin 0: mean p 0.05, observed 0.5; bin 9: mean p 0.95, observed 1.0 → (2·0.45 + 2·0.05) / 4
    assert ece(p, y) == pytest.approx(0.25)


def test_calibration_repairs_an_overconfident_model(rng: np.random.Generator) -> None:
    true_p = rng.random(20_000)
    y = (rng.random(true_p.size) < true_p).astype(float)
    raw = true_p**3  # systematically too low
    kp, ky = fit_calibration(raw, y)
    unc = Uncertainty(kp, ky, [], [0.0], [0.0], 0.1, "test")
    fresh_true = rng.random(20_000)
    fresh_y = (rng.random(fresh_true.size) < fresh_true).astype(float)
    assert ece(fresh_true**3, fresh_y) > 0.1
    assert ece(unc.calibrate(fresh_true**3), fresh_y) < 0.02
    assert np.all(np.diff(ky) >= 0)  # monotone


def test_conformal_intervals_cover_on_exchangeable_data(rng: np.random.Generator) -> None:
    truth = rng.random(6000)
    pred = np.clip(truth + rng.normal(0, 0.1 + 0.1 * truth, truth.size), 0, 1)  # noise grows with the level
    edges, lo, hi, f_lo, f_hi = fit_intervals(pred[:3000], truth[:3000], alpha=0.1)
    assert f_lo is None  # no floor genes given
    assert f_hi is None
    unc = Uncertainty([], [], edges, lo, hi, 0.1, "test")
    a, b = unc.interval(pred[3000:])
    inside = (truth[3000:] >= a) & (truth[3000:] <= b)
    assert 0.87 <= inside.mean() <= 0.94
    widths = np.asarray(hi) - np.asarray(lo)
    assert widths[:3].mean() < widths[-3:].mean()  # Mondrian: narrower where the model is more certain


def test_fit_uncertainty_prefers_cross_cell_residuals(rng: np.random.Generator) -> None:
    def sample(cell: str, kind: str, noise: float) -> OOFSample:
        gex = np.where(rng.random(800) < 0.4, 0.0, rng.lognormal(1, 1, 800))
        pred = np.maximum(gex + rng.normal(0, noise, gex.size), 0)
        p = 1 / (1 + np.exp(-(gex > 0).astype(float) * 2 + rng.normal(0, 1, gex.size)))
        return OOFSample(cell, kind, p, pred, gex, np.array(["chr1", "chr2"] * 400))

    samples = [
        sample("A", "in-cell", 0.1),
        sample("B", "in-cell", 0.1),
        sample("A", "cross-cell", 3.0),
        sample("B", "cross-cell", 3.0),
    ]
    unc, evidence = fit_uncertainty(samples)
    assert unc.residuals_from == "cross-cell"
    rows = {(r["cell"], r["chrom"]): r for r in evidence["coverage"]}
    assert set(rows) >= {("A", "all"), ("B", "all"), ("A", "chr1")}
    assert all(0.8 <= rows[(c, "all")]["coverage"] <= 1.0 for c in "AB")
    assert evidence["ece_calibrated"] <= evidence["ece_raw"]
    again = Uncertainty.from_dict(unc.to_dict())
    assert again == unc


def test_bounds_are_the_shortest_interval_when_residuals_pile_up(rng: np.random.Generator) -> None:
    from epigex.models.uncertainty import _bounds

    r = np.concatenate([np.zeros(800), rng.random(200)])  # most genes: one residual value (silent and predicted so)
    lo, hi = _bounds(r, 0.1)
    assert lo == 0.0
    assert 0.4 < hi < 0.6  # the 90 % quantile; equal tails would reach the 95 % one (about 0.75)
    assert ((r >= lo) & (r <= hi)).mean() >= 0.9
