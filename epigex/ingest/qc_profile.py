"""Track profiles for QC: what a cell's tracks look like around genes, summarised from its feature table.

Pure computation, no I/O. A cell's *profile* holds, per track, a shape vector and its correlations with the
cell's other tracks of the same kind, and per assay the agreement of its bigWig with its peaks. It is computed
once, when the cell is ingested, and kept with the cell (a few kilobytes of JSON), so that checking a new cell
against the labelled cells reads no feature table of theirs.

Shapes, not levels: the same assay is stronger in one cell than in another (sequencing depth, antibody), so
profiles are compared as directions (vectors scaled to unit length) and by scale-free statistics. For a bigWig:
the window means over the fifth of genes where the track is strongest (its profile around the genes it marks),
the spread of each window's mean over all genes, the entropy of the signal within the ±1 kb, ±5 kb and body
windows of those genes (a sharp TSS peak or a broad domain), the slope of the signal along the TSS, ±1 kb and
±5 kb windows over their mean (strand-aware: does the mark lean into the gene, like H3K4me3, or flank the TSS on
both sides, like H3K27ac) and the promoter–body correlation. For a BED: the share of genes with a peak and the
peak coverage per window, and the median width of the nearest peaks.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl

from epigex.ingest.featureset import bed_column, bigwig_column
from epigex.store.tracksets import track_key
from epigex.store.types import F64

PROFILE_VERSION = 1
BW_WINDOWS = ("tss", "prom1k", "prom5k", "body", "up5k", "down5k")
CONTEXT_WINDOWS = ("prom1k", "body")


def _nanmean(x: F64, axis: int | None = None) -> Any:
    """``np.nanmean`` that gives NaN for an all-NaN slice without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=axis)


def _nanstd(x: F64, axis: int | None = None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(x, axis=axis)


def profile_columns(assay: str, kind: str) -> list[str]:
    """The feature columns a track's profile reads."""
    if kind == "bigwig":
        cols = [bigwig_column(assay, w, s) for w in BW_WINDOWS for s in ("mean",)]
        cols += [bigwig_column(assay, w, "entropy") for w in ("prom1k", "prom5k", "body")]
        return cols + [bigwig_column(assay, w, "slope") for w in ("tss", "prom1k", "prom5k")]
    cols = [bed_column(assay, w, s) for w in BW_WINDOWS for s in ("has_peak", "cov")]
    return [*cols, bed_column(assay, None, "nearest_width")]


class FeatureView:
    """Some of a feature table's columns as float arrays, converted in one go (QC reads each many times)."""

    def __init__(self, table: pl.DataFrame, columns: list[str] | None = None) -> None:
        wanted = table.columns if columns is None else [c for c in dict.fromkeys(columns) if c in table.columns]
        schema = table.schema  # built anew on each access
        numeric = [c for c in wanted if schema[c].is_numeric()]
        self.height = table.height
        self.columns = set(table.columns)
        self._matrix = table.select(pl.col(numeric).cast(pl.Float64).fill_null(np.nan)).to_numpy(order="fortran")
        self._index = {c: i for i, c in enumerate(numeric)}
        self._sorted: dict[str, F64] = {}

    def col(self, name: str) -> F64:
        """A column as floats (NaN for missing values; all NaN when the view lacks it or it is not numeric)."""
        i = self._index.get(name)
        return self._matrix[:, i] if i is not None else np.full(self.height, np.nan)

    def finite_sorted(self, name: str) -> F64:
        """A column's finite values, sorted."""
        hit = self._sorted.get(name)
        if hit is None:
            c = self.col(name)
            hit = self._sorted[name] = np.sort(c[np.isfinite(c)])
        return hit


def _unit(v: list[float]) -> list[float]:
    """``v`` scaled to unit length (its direction): a profile's shape, whatever the track's strength."""
    x = np.asarray(v, dtype=np.float64)
    norm = float(np.sqrt(np.nansum(x**2)))
    return list(x / norm) if np.isfinite(norm) and norm > 0 else [np.nan] * len(v)


def _corr(a: F64, b: F64) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10 or a[ok].std() == 0 or b[ok].std() == 0:
        return np.nan
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _shape(v: FeatureView, assay: str, kind: str) -> list[float]:
    parts: list[float] = []
    if kind == "bigwig":
        means = [v.col(bigwig_column(assay, w, "mean")) for w in BW_WINDOWS]
        prom, body = means[1], means[3]
        top = prom >= np.nanquantile(prom, 0.8) if np.isfinite(prom).sum() >= 10 else np.isfinite(prom)
        parts += _unit([float(_nanmean(m[top])) for m in means])
        parts += _unit([float(_nanstd(m)) for m in means])
        parts += [float(_nanmean(v.col(bigwig_column(assay, w, "entropy"))[top])) for w in ("prom1k", "prom5k", "body")]
        for w, m in zip(("tss", "prom1k", "prom5k"), means, strict=False):  # strand-aware asymmetry, scale-free
            level = float(_nanmean(m[top]))
            slope = float(_nanmean(v.col(bigwig_column(assay, w, "slope"))[top]))
            parts.append(slope / level if abs(level) > 1e-6 else np.nan)
        parts.append(_corr(prom, body))
    else:
        parts += _unit([float(_nanmean(v.col(bed_column(assay, w, "has_peak")))) for w in BW_WINDOWS])
        parts += _unit([float(_nanmean(v.col(bed_column(assay, w, "cov")))) for w in BW_WINDOWS])
        width = v.col(bed_column(assay, None, "nearest_width"))
        parts.append(float(np.log1p(np.nanmedian(width))) if np.isfinite(width).any() else np.nan)
    return parts


def _strength(v: FeatureView, assay: str, kind: str) -> float:
    """How much a track varies over genes (bigWig: the mean spread of its window means; BED: the share of genes
    with a peak, over the windows)."""
    if kind == "bigwig":
        vals = [float(_nanstd(v.col(bigwig_column(assay, w, "mean")))) for w in BW_WINDOWS]
    else:
        vals = [float(_nanmean(v.col(bed_column(assay, w, "has_peak")))) for w in BW_WINDOWS]
    x = np.asarray(vals)
    return float(np.mean(x[np.isfinite(x)])) if np.isfinite(x).any() else 0.0


def _context_column(assay: str, kind: str, window: str) -> str:
    return bigwig_column(assay, window, "mean") if kind == "bigwig" else bed_column(assay, window, "has_peak")


def agreement_auc(v: FeatureView, assay: str) -> float:
    """AUC of the bigWig's ±1 kb mean separating genes with a ±1 kb peak from genes without (NaN if one class)."""
    score = v.col(bigwig_column(assay, "prom1k", "mean"))
    peak = v.col(bed_column(assay, "prom1k", "has_peak"))
    ok = np.isfinite(score) & np.isfinite(peak)
    s, y = score[ok], peak[ok] > 0
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size)
    ranks[order] = np.arange(1, s.size + 1)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _json_num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def cell_profile(table: pl.DataFrame | FeatureView, tracks: list[tuple[str, str]]) -> dict[str, Any]:
    """The profile of a cell's ``tracks`` (JSON-able; NaN kept as null)."""
    cols = [c for a, k in tracks for c in profile_columns(a, k)]
    v = table if isinstance(table, FeatureView) else FeatureView(table, cols)
    out: dict[str, Any] = {"version": PROFILE_VERSION, "tracks": {}, "auc": {}}
    for assay, kind in tracks:
        partners = [a for a, k in tracks if k == kind and a != assay]
        corr = {
            p: [_json_num(_corr(v.col(_context_column(assay, kind, w)), v.col(_context_column(p, kind, w))))
                for w in CONTEXT_WINDOWS]
            for p in partners
        }  # fmt: skip
        out["tracks"][track_key(assay, kind)] = {
            "shape": [_json_num(x) for x in _shape(v, assay, kind)],
            "corr": corr,
            "strength": _strength(v, assay, kind),
        }
    for assay in {a for a, k in tracks if k == "bigwig"} & {a for a, k in tracks if k == "bed"}:
        out["auc"][assay] = _json_num(agreement_auc(v, assay))
    return out


def signature(track: dict[str, Any], assay: str, partners: tuple[str, ...]) -> F64:
    """A track's signature from its profile: the shape, then per context window its correlations with ``partners``
    (other than itself), sorted.

    Sorted, not kept by partner: a swap elsewhere in the cell relabels the partners but leaves this track's set of
    correlations as it is, so only the swapped tracks change signature.
    """
    parts = [np.nan if x is None else float(x) for x in track["shape"]]
    others = [p for p in partners if p != assay]
    for i in range(len(CONTEXT_WINDOWS)):
        vals = [track["corr"].get(p, [None] * len(CONTEXT_WINDOWS))[i] for p in others]
        finite = sorted((float(x) for x in vals if x is not None), reverse=True)
        parts += finite + [np.nan] * (len(others) - len(finite))
    return np.asarray(parts, dtype=np.float64)
