"""Uncertainty of reference-informed predictions, conditioned on how a gene's references agree; pure computation.

The genes a reference informed fall into agreement classes (:func:`models.references.agreement_class`): one
reference, several that agree, several that disagree. Per class, from the reference model's out-of-fold
predictions: an isotonic calibration of P(expressed) and split-conformal, Mondrian bounds of the expression
percentile (the same machinery as the stack's, :mod:`models.uncertainty`), and ``all`` pooled for a class the
validation never saw (two references at prediction where the training pairs had one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from epigex.models.references import Features, agreement_class
from epigex.models.uncertainty import ALPHA, Uncertainty, ece, fit_calibration, fit_intervals, floor_mask, percentiles
from epigex.store.types import F64


def fit_agreement_uncertainty(
    chosen: list[tuple[str, Features, F64, F64, F64]], alpha: float = ALPHA
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per agreement class (``single``, ``agree``, ``disagree``, and ``all`` pooled): calibration of P(expressed)
    and interval bounds from the out-of-fold ``(target, features, prediction, P(expressed), truth)``; with the
    cross-fitted coverage, width and ECE (each target's from the other targets')."""
    parts: dict[str, list[tuple[str, F64, F64, F64, np.ndarray, F64]]] = {}
    for name, f, gex, p, truth in chosen:
        m = f.has_ref & np.isfinite(gex) & np.isfinite(truth)
        pred_pct, true_pct = percentiles(gex[m]), percentiles(truth[m])
        floor = floor_mask(gex[m])
        cls = agreement_class(f)[m]
        for k in ("single", "agree", "disagree"):
            sel = cls == k
            if sel.any():
                parts.setdefault(k, []).append(
                    (name, pred_pct[sel], true_pct[sel], p[m][sel], floor[sel], (truth[m][sel] > 0).astype(float))
                )

    def fit(rows: list[tuple[str, F64, F64, F64, np.ndarray, F64]]) -> Uncertainty:
        cat = [np.concatenate([x[i] for x in rows]) for i in range(1, 6)]
        groups = np.concatenate([np.full(x[1].size, i) for i, x in enumerate(rows)])
        kp, ky = fit_calibration(cat[2], cat[4])
        edges, lo, hi, flo, fhi = fit_intervals(cat[0], cat[1], alpha, cat[3].astype(bool), groups)
        return Uncertainty(kp, ky, edges, lo, hi, alpha, "reference pairs", flo, fhi)

    models = {k: fit(v).to_dict() for k, v in parts.items()}
    if parts:  # every class pooled: for a class the training never saw (two references where pairs had one)
        models["all"] = fit([x for v in parts.values() for x in v]).to_dict()
    inside, width, p_cal, y_all = [], [], [], []
    for k, v in parts.items():
        for i, (_, pp, tp, p, fl, y) in enumerate(v):
            rest = [x for j, x in enumerate(v) if j != i]
            u = fit(rest) if rest else Uncertainty.from_dict(models[k])
            a, b = u.interval(pp, fl)
            inside.append((tp >= a) & (tp <= b))
            width.append(b - a)
            p_cal.append(u.calibrate(p))
            y_all.append(y)
    evidence = {
        "coverage": float(np.concatenate(inside).mean()) if inside else None,
        "mean_width": float(np.concatenate(width).mean()) if width else None,
        "ece_calibrated_cross_fitted": ece(np.concatenate(p_cal), np.concatenate(y_all)) if p_cal else None,
        "classes": {k: int(sum(x[1].size for x in v)) for k, v in parts.items()},
    }
    return models, evidence
