"""Cross-cell-line SHAP feature selection.

Pure computation. Each direction (train on one cell, explain on another cell's held-out genes) and each stage
gives a mean |SHAP| per feature, normalised to sum to one. Features are ranked twice: by their mean importance
over directions, and by their stability (the smallest importance over directions: a feature that only one cell
finds useful does not transfer). The union of the top ``n`` of each ranking is kept, then near-constant
features are dropped, and of each pair correlated beyond ``max_corr`` (Spearman) the less important one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from epigex.models.metrics import average_ranks
from epigex.store.types import F64


def mean_abs_shap(contrib: F64) -> F64:
    """Mean |SHAP| per feature (the base-value column dropped), normalised to sum to one."""
    imp = np.abs(contrib[:, :-1]).mean(axis=0)
    total = float(imp.sum())
    return imp / total if total > 0 else imp


@dataclass
class Selection:
    """The selected features (most important first) and every candidate's scores and fate."""

    selected: list[str]
    scores: list[dict[str, float | str | int]] = field(default_factory=list)


def _rank_columns(X: F64) -> F64:
    """Column-wise average ranks, missing values at the column median rank."""
    out = np.empty_like(X, dtype=np.float64)
    for j in range(X.shape[1]):  # a loop over the ~100 candidate features, not over genes
        col = X[:, j]
        ok = np.isfinite(col)
        r = np.full(col.size, np.nan)
        r[ok] = average_ranks(col[ok])
        out[:, j] = np.where(ok, r, np.nanmedian(r) if ok.any() else 0.0)
    return out


def select_features(
    names: list[str],
    importances: dict[str, dict[str, F64]],
    X: F64,
    top: int,
    max_corr: float = 0.95,
    min_spread: float = 1e-9,
    max_mode_share: float = 0.995,
) -> Selection:
    """Select features from per-direction, per-stage importances.

    Parameters
    ----------
    names
        Feature names, in the column order of ``X`` and of every importance vector.
    importances
        ``{direction: {stage: normalised mean |SHAP|}}``.
    X
        Feature values of the training genes (rows may be a sample), used for the constant and correlation
        filters.
    top
        How many features each ranking contributes to the union.
    """
    # long by design: the selection rule, step by step
    per_dir = np.array([np.mean(list(st.values()), axis=0) for st in importances.values()])
    mean_imp = per_dir.mean(axis=0)
    stability = per_dir.min(axis=0)
    by_mean = np.argsort(-mean_imp, kind="stable")[:top]
    by_stab = np.argsort(-stability, kind="stable")[:top]
    cand = sorted(set(by_mean.tolist()) | set(by_stab.tolist()), key=lambda j: (-mean_imp[j], j))
    fate: dict[int, str] = {}
    kept: list[int] = []
    Xc = X[:, cand].astype(np.float64)
    finite = np.isfinite(Xc)
    spread = np.array([float(np.ptp(Xc[finite[:, k], k])) if finite[:, k].any() else 0.0 for k in range(len(cand))])
    corr: F64 = np.ones((1, 1))
    if len(cand) > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.asarray(np.nan_to_num(np.corrcoef(_rank_columns(Xc), rowvar=False)))
    for k, j in enumerate(cand):
        col = Xc[finite[:, k], k]
        mode_share = float(np.unique(col, return_counts=True)[1].max() / X.shape[0]) if col.size else 1.0
        if spread[k] <= min_spread or mode_share >= max_mode_share:
            fate[j] = "dropped: near-constant"
            continue
        if kept:
            prev = [cand.index(i) for i in kept]
            worst = int(np.argmax(np.abs(corr[k, prev])))
            if abs(corr[k, prev[worst]]) > max_corr:
                fate[j] = f"dropped: |rho|={abs(corr[k, prev[worst]]):.3f} with {names[kept[worst]]}"
                continue
        kept.append(j)
        fate[j] = "selected"
    rank_mean = np.empty(mean_imp.size, dtype=np.int64)
    rank_mean[np.argsort(-mean_imp, kind="stable")] = np.arange(1, mean_imp.size + 1)
    rank_stab = np.empty(stability.size, dtype=np.int64)
    rank_stab[np.argsort(-stability, kind="stable")] = np.arange(1, stability.size + 1)
    scores: list[dict[str, float | str | int]] = [
        {
            "feature": names[j],
            "mean_abs_shap": float(mean_imp[j]),
            "stability": float(stability[j]),
            "rank_mean": int(rank_mean[j]),
            "rank_stability": int(rank_stab[j]),
            "fate": fate[j],
        }
        for j in cand
    ]
    return Selection([names[j] for j in kept], scores)
