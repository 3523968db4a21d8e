"""Validation metrics: Spearman and Pearson correlation across genes, and the ROC AUC of stage 1."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from epigex.store.types import F64


def average_ranks(x: npt.ArrayLike) -> F64:
    """1-based ranks, ties sharing their mean rank (``scipy.stats.rankdata(x, "average")``; NaN anywhere → all NaN).

    Here rather than scipy's: importing ``scipy.stats`` costs about a second at every start of the CLI.
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size and bool(np.isnan(a).any()):
        return np.full(a.size, np.nan)
    order = np.argsort(a, kind="mergesort")
    sorted_a = a[order]
    edges = np.flatnonzero(np.concatenate(([True], sorted_a[1:] != sorted_a[:-1], [True])))
    starts, ends = edges[:-1], edges[1:]
    ranks = np.empty(a.size)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def pearson(x: F64, y: F64) -> float:
    """Pearson correlation; NaN when fewer than 3 values or either side is constant."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 3:
        return math.nan
    xc, yc = x - x.mean(), y - y.mean()
    den = math.sqrt(float((xc * xc).sum()) * float((yc * yc).sum()))  # not ``@``: thread-independent rounding
    return float((xc * yc).sum()) / den if den > 0 else math.nan


def spearman(x: F64, y: F64) -> float:
    """Spearman correlation (Pearson of average ranks, so ties are handled as scipy does)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 3:
        return math.nan
    return pearson(average_ranks(x), average_ranks(y))


def roc_auc(score: F64, label: npt.ArrayLike) -> float:
    """Area under the ROC curve by the Mann-Whitney U statistic (ties count one half); NaN with one class."""
    lab = np.asarray(label).astype(bool)
    n_pos, n_neg = int(lab.sum()), int((~lab).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    r = average_ranks(score)
    return float((r[lab].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def nanmean(values: list[float] | F64) -> float:
    """Mean of the finite values; NaN (without a warning) when there are none."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else math.nan
