"""Per-gene uncertainty: a calibrated P(expressed) and a 90 % interval for each gene's expression percentile.

Both are fitted at training time on out-of-fold predictions and kept with the model (``metrics["uncertainty"]``).
Pure computation, no I/O.

- **Calibration** of P(expressed): isotonic regression of ``expressed = gex > 0`` on the stack's P(expressed) (the
  mean over its setups), on every cell's held-out genes pooled with the cross-cell predictions (a setup predicting a
  cell it never trained on). Kept as the fitted step function's knots; applied by linear interpolation.
- **Intervals**: split-conformal and Mondrian (conditional on the predicted percentile). A gene's percentile within
  its cell is its average rank / n (ties share their mean rank; in ``(0, 1]``). On the cross-cell out-of-fold
  predictions — the situation of a cell nobody has measured — the signed residuals ``true − predicted`` percentile
  are binned by the predicted percentile (10 bins of equal width); in each bin the ``a`` and ``1 − α + a``
  quantiles (``a`` in ``[0, α]`` chosen for the shortest interval), with the finite-sample correction
  ``⌈(n + 1) q⌉ / n``, bound the residual. The genes tied at
  their cell's lowest prediction (those the stack calls silent) form a category of their own. A new gene's
  interval is its predicted percentile plus its bin's bounds, clipped to ``[0, 1]``. With a single labelled cell
  there is no cross-cell prediction; the held-out chromosomes' residuals stand in (said in the model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

from epigex.models.metrics import average_ranks
from epigex.store.types import F64, I64, Mask

ALPHA = 0.10
N_BINS = 10
FLOOR_MARGIN = 0.035  # the least widening of the floor genes' bounds, in percentile (see fit_intervals)


def percentiles(values: F64) -> F64:
    """Each value's percentile among ``values``: average rank / n (ties share their mean rank)."""
    return average_ranks(values) / max(1, values.size)


@dataclass(frozen=True)
class Uncertainty:
    """A fitted calibration map and conformal interval table."""

    knots_p: list[float]
    knots_y: list[float]
    edges: list[float]  # inner edges of the predicted-percentile bins (at most N_BINS - 1, increasing)
    lo: list[float]  # per bin: lower residual bound
    hi: list[float]  # per bin: upper residual bound
    alpha: float
    residuals_from: str  # "cross-cell" or "held-out chromosomes"
    floor_lo: float | None = None  # residual bounds of the genes tied at the cell's lowest prediction
    floor_hi: float | None = None

    def calibrate(self, p: F64) -> F64:
        """Calibrated P(expressed) for raw stack probabilities ``p``."""
        if not self.knots_p:
            return np.asarray(p, dtype=np.float64)
        return np.interp(p, self.knots_p, self.knots_y)

    def interval(self, pct: F64, floor: Mask | None = None) -> tuple[F64, F64]:
        """The ``1 − alpha`` interval of the true percentile for predicted percentiles ``pct``.

        ``floor`` marks the genes tied at the cell's lowest prediction (see :func:`floor_mask`): they get the
        bounds fitted on such genes, when the model has them.
        """
        b = np.searchsorted(np.asarray(self.edges), pct, side="right")
        lo_r, hi_r = np.asarray(self.lo)[b], np.asarray(self.hi)[b]
        if floor is not None and self.floor_lo is not None and self.floor_hi is not None:
            lo_r = np.where(floor, self.floor_lo, lo_r)
            hi_r = np.where(floor, self.floor_hi, hi_r)
        return np.clip(pct + lo_r, 0.0, 1.0), np.clip(pct + hi_r, 0.0, 1.0)

    def intervals(self, predicted: F64) -> tuple[F64, F64]:
        """The intervals of one cell's genes from their predicted values (percentiles and ties worked out here)."""
        return self.interval(percentiles(predicted), floor_mask(predicted))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (kept in the model's metrics)."""
        return {
            "knots_p": self.knots_p,
            "knots_y": self.knots_y,
            "edges": self.edges,
            "lo": self.lo,
            "hi": self.hi,
            "alpha": self.alpha,
            "residuals_from": self.residuals_from,
            "floor_lo": self.floor_lo,
            "floor_hi": self.floor_hi,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Uncertainty:
        """Back from :meth:`to_dict`."""
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def fit_calibration(p: F64, expressed: F64) -> tuple[list[float], list[float]]:
    """Knots of the isotonic map from raw P(expressed) to the observed frequency of expression."""
    ok = np.isfinite(p)
    if int(ok.sum()) < 10 or len(np.unique(expressed[ok])) < 2:
        return [], []
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p[ok], expressed[ok])
    return [float(x) for x in iso.X_thresholds_], [float(y) for y in iso.y_thresholds_]


def _quantile(r: F64, q: float) -> float:
    """The conformal quantile: the ⌈(n + 1) q⌉-th smallest residual (the largest one beyond n)."""
    s = np.sort(r)
    k = int(np.ceil((s.size + 1) * q)) - 1
    return float(s[min(max(k, 0), s.size - 1)])


def floor_mask(predicted: F64, min_share: float = 0.01) -> Mask:
    """The genes tied at the cell's lowest predicted value, when at least ``min_share`` of them are (else none).

    The stack predicts many genes silent (exactly zero): they share one percentile, which moves with the share of
    silent genes from cell to cell, so they are a Mondrian category of their own rather than part of a bin.
    """
    v = np.asarray(predicted, dtype=np.float64)
    if v.size == 0 or not np.isfinite(v).any():
        return np.zeros(v.size, dtype=bool)
    m = v == np.nanmin(v)
    return m if m.sum() >= max(2, min_share * v.size) else np.zeros(v.size, dtype=bool)


def _bounds(r: F64, alpha: float) -> tuple[float, float]:
    """The shortest ``[q_a, q_{1−α+a}]`` over ``a`` in ``[0, α]`` (conformal quantiles): equal tails waste width
    where the residuals pile up at one end (a gene predicted silent that is silent has one residual value)."""
    best: tuple[float, float] | None = None
    for a in np.linspace(0.0, alpha, 11):
        lo = -_quantile(-r, 1 - a) if a > 0 else float(np.min(r))
        hi = _quantile(r, 1 - alpha + a)
        if best is None or hi - lo < best[1] - best[0] - 1e-12:
            best = (lo, hi)
    assert best is not None
    return best


def fit_intervals(
    pred_pct: F64,
    true_pct: F64,
    alpha: float = ALPHA,
    floor: Mask | None = None,
    groups: I64 | None = None,
) -> tuple[list[float], list[float], list[float], float | None, float | None]:
    """Bin edges, per-bin residual bounds (lower, upper) and the floor genes' bounds from out-of-fold percentiles.

    Bins have equal width in percentile (a cell's percentiles are near-uniform, so equal width is near-equal count),
    not data quantiles: quantile edges would fall inside blocks of tied predictions. The genes tied at their cell's
    lowest prediction (``floor``) are bounded separately (None when fewer than 30). A truly silent floor gene's
    residual is one value per cell (half the difference between its true and predicted silent shares), which moves
    from cell to cell: the floor bounds are widened by how far these per-cell values spread over ``groups`` (the
    cells), and by at least ``FLOOR_MARGIN``. That floor (3.5 percentile points) is what one calibration cell needs
    to cover another on the demo (cross-fitted coverage of the floor genes 0.49 with 0.02, 0.89 with 0.035).
    """
    resid = true_pct - pred_pct
    floor = np.zeros(resid.size, dtype=bool) if floor is None else floor
    f_lo: float | None = None
    f_hi: float | None = None
    if int(floor.sum()) >= 30:
        g = np.zeros(resid.size, dtype=np.int64) if groups is None else groups
        typical = [float(np.median(resid[floor & (g == k)])) for k in np.unique(g[floor])]
        widen = max(FLOOR_MARGIN, max(typical) - min(typical))
        lo_f, hi_f = _bounds(resid[floor], alpha)
        f_lo, f_hi = lo_f - widen, hi_f + widen
    rest, rest_pct = resid[~floor], pred_pct[~floor]
    if rest.size == 0:
        rest, rest_pct = resid, pred_pct
    n_bins = max(1, min(N_BINS, rest.size // 30))
    edges = np.linspace(0, 1, n_bins + 1)[1:-1]
    b = np.searchsorted(edges, rest_pct, side="right")
    lo, hi = [], []
    for i in range(n_bins):  # a handful of bins, not genes
        r = rest[b == i]
        if r.size < 30:  # too few residuals for a quantile: the pooled ones
            r = rest
        b_lo, b_hi = _bounds(r, alpha)
        lo.append(b_lo)
        hi.append(b_hi)
    return [float(e) for e in edges], lo, hi, f_lo, f_hi


def ece(p: F64, y: F64, bins: int = 10) -> float:
    """Expected calibration error: the count-weighted mean |mean p − frequency| over ``bins`` equal-width bins."""
    b = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
    total = 0.0
    for i in range(bins):
        m = b == i
        if m.any():
            total += float(m.sum()) * abs(float(p[m].mean()) - float(y[m].mean()))
    return total / max(1, p.size)


def reliability(p: F64, y: F64, bins: int = 10) -> list[dict[str, float]]:
    """The reliability curve: per equal-width bin, mean predicted probability, observed frequency and count."""
    b = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
    out = []
    for i in range(bins):
        m = b == i
        if m.any():
            out.append({"bin": i, "p_mean": float(p[m].mean()), "observed": float(y[m].mean()), "n": int(m.sum())})
    return out


@dataclass
class OOFSample:
    """Out-of-fold predictions of one cell: raw P(expressed), predicted expression, truth, chromosome."""

    cell: str
    kind: str  # "in-cell" (held-out chromosomes) or "cross-cell"
    p: F64
    gex_predicted: F64
    gex: F64
    chrom: np.ndarray


def fit_uncertainty(samples: list[OOFSample], alpha: float = ALPHA) -> tuple[Uncertainty, dict[str, Any]]:
    """The model's uncertainty and its evidence (reliability, ECE, cross-validated interval coverage).

    Coverage is cross-fitted: with two or more cells, each cell's intervals come from the other cells' residuals.
    """
    # long by design: the fit and its cross-fitted evidence share the pooled residuals
    p_all = np.concatenate([s.p for s in samples])
    y_all = np.concatenate([(s.gex > 0).astype(np.float64) for s in samples])
    knots_p, knots_y = fit_calibration(p_all, y_all)
    cross = [s for s in samples if s.kind == "cross-cell"]
    source = "cross-cell" if cross else "held-out chromosomes"
    pool = cross or [s for s in samples if s.kind == "in-cell"]
    pct_pred = [percentiles(s.gex_predicted) for s in pool]
    pct_true = [percentiles(s.gex) for s in pool]
    floors = [floor_mask(s.gex_predicted) for s in pool]
    groups = [np.full(s.gex.size, i, dtype=np.int64) for i, s in enumerate(pool)]
    edges, lo, hi, f_lo, f_hi = fit_intervals(
        np.concatenate(pct_pred), np.concatenate(pct_true), alpha, np.concatenate(floors), np.concatenate(groups)
    )
    unc = Uncertainty(knots_p, knots_y, edges, lo, hi, alpha, source, f_lo, f_hi)
    coverage = []
    for i, s in enumerate(pool):
        rest = [j for j in range(len(pool)) if j != i]
        if rest:
            e, lo_i, hi_i, flo, fhi = fit_intervals(
                np.concatenate([pct_pred[j] for j in rest]),
                np.concatenate([pct_true[j] for j in rest]),
                alpha,
                np.concatenate([floors[j] for j in rest]),
                np.concatenate([groups[j] for j in rest]),
            )
            u = Uncertainty([], [], e, lo_i, hi_i, alpha, source, flo, fhi)
        else:
            u = unc
        a, b = u.interval(pct_pred[i], floors[i])
        inside = (pct_true[i] >= a) & (pct_true[i] <= b)
        for ch in sorted(set(s.chrom.tolist())):
            m = s.chrom == ch
            coverage.append(
                {
                    "cell": s.cell,
                    "chrom": ch,
                    "n": int(m.sum()),
                    "coverage": float(inside[m].mean()),
                    "mean_width": float((b - a)[m].mean()),
                }
            )
        coverage.append(
            {
                "cell": s.cell,
                "chrom": "all",
                "n": int(s.p.size),
                "coverage": float(inside.mean()),
                "mean_width": float((b - a).mean()),
            }
        )
    p_cal = unc.calibrate(p_all)
    # cross-fitted calibration error: each cell's probabilities calibrated by a map fitted on the other cells
    cells = sorted({s.cell for s in samples})
    held_p, held_y = [], []
    for c in cells if len(cells) > 1 else []:
        mine = [x for x in samples if x.cell == c]
        others = [x for x in samples if x.cell != c]
        kp, ky = fit_calibration(
            np.concatenate([x.p for x in others]), np.concatenate([(x.gex > 0).astype(np.float64) for x in others])
        )
        held_p.append(
            Uncertainty(kp, ky, [], [0.0], [0.0], alpha, source).calibrate(np.concatenate([x.p for x in mine]))
        )
        held_y.append(np.concatenate([(x.gex > 0).astype(np.float64) for x in mine]))
    evidence = {
        "ece_raw": ece(p_all, y_all),
        "ece_calibrated": ece(p_cal, y_all),
        "ece_calibrated_cross_fitted": ece(np.concatenate(held_p), np.concatenate(held_y)) if held_p else None,
        "reliability_raw": reliability(p_all, y_all),
        "reliability_calibrated": reliability(p_cal, y_all),
        "coverage": coverage,
        "n_calibration": int(p_all.size),
    }
    return unc, evidence
