"""Window statistics of a piecewise-constant signal, vectorised over all windows of a chromosome.

Pure computation, no I/O. The signal is given as sorted, non-overlapping intervals with one value each; bases
outside every interval have no data and are excluded from every statistic (never read as zero). Sums over a
window come from prefix sums over the intervals plus the clipped interval at each window edge, found with
``searchsorted``; minima and maxima come from ``ufunc.reduceat`` over each window's run of intervals. No dense
per-base array is ever built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epigex.store.types import F64, I64, Mask

ENTROPY_BINS = 10
SIGNAL_STATS = ("mean", "std", "min", "max", "cov", "slope", "entropy")


@dataclass(frozen=True)
class TrackSums:
    """Sums over the covered bases of a track: count, sum and sum of squares of the (transformed) values."""

    n_bases: int
    total: float
    total_sq: float

    def __add__(self, other: TrackSums) -> TrackSums:
        return TrackSums(self.n_bases + other.n_bases, self.total + other.total, self.total_sq + other.total_sq)

    @property
    def mean(self) -> float:
        """Mean over covered bases (NaN when none)."""
        return self.total / self.n_bases if self.n_bases else float("nan")

    @property
    def std(self) -> float:
        """Population standard deviation over covered bases (NaN when none)."""
        if not self.n_bases:
            return float("nan")
        return float(np.sqrt(max(self.total_sq / self.n_bases - self.mean**2, 0.0)))


def track_sums(starts: I64, ends: I64, values: F64, lengths: F64 | None = None) -> TrackSums:
    """Return base-weighted count, sum and sum of squares of ``values`` over the intervals.

    ``lengths`` (``ends - starts`` as floats) may be given when the caller already has them.
    """
    if lengths is None:
        lengths = (ends - starts).astype(np.float64)
    # Element-wise products and NumPy's pairwise sum, not ``@``: a BLAS dot product's rounding depends on its
    # thread count, and the same track must give the same bits on a laptop and on a single-threaded Dask worker.
    weighted = lengths * values
    total = float(weighted.sum())
    weighted *= values
    return TrackSums(int((ends - starts).sum()), total, float(weighted.sum()))


class PrefixIntegral:
    """Exact integrals over bases ``[0, p)`` of per-interval densities, for any array of positions ``p``."""

    def __init__(self, starts: I64, ends: I64) -> None:
        self.starts = starts
        self.ends = ends
        self.lengths = (ends - starts).astype(np.float64)
        # A sentinel start past every position: nothing is cut off beyond the last interval.
        self.starts_padded = np.append(starts, np.iinfo(np.int64).max)

    def cumulative(self, density: F64 | None = None) -> F64:
        """Prefix sums (with a leading zero) of ``density × length`` per interval (of the lengths when None)."""
        out = np.zeros(self.lengths.size + 1)
        np.cumsum(self.lengths if density is None else density * self.lengths, out=out[1:])
        return out

    def locate(self, positions: I64) -> tuple[I64, F64]:
        """For each position: how many intervals end at or below it, and how many bases of the next it cuts off."""
        k = np.searchsorted(self.ends, positions, side="right")
        partial = np.maximum(positions - self.starts_padded[k], 0).astype(np.float64)
        return k, partial

    def at(self, cum: F64, density: F64 | None, located: tuple[I64, F64]) -> F64:
        """Integral of the density (1 when None) over bases below each located position."""
        k, partial = located
        if density is None:
            return cum[k] + partial
        if self.starts.size == 0:
            return cum[k]
        # ``partial`` is 0 wherever ``k`` is past the last interval, so clipping the index there is harmless.
        return cum[k] + partial * np.take(density, k, mode="clip")


@dataclass(frozen=True)
class Prefix:
    """A chromosome's intervals with the prefix sums of their lengths and of their (non-negative) values."""

    pi: PrefixIntegral
    cum_len: F64
    cum_mass: F64
    values: F64


def prefix_sums(starts: I64, ends: I64, values: F64) -> Prefix:
    """Build the prefix sums once, to share between the window statistics and the neighbourhood features."""
    pi = PrefixIntegral(starts, ends)
    return Prefix(pi, pi.cumulative(), pi.cumulative(values), values)


def _range_min_max(values: F64, lo: I64, hi: I64) -> tuple[F64, F64]:
    """Minimum and maximum of ``values[lo:hi]`` per range; NaN where the range is empty.

    Ranges are visited sorted by ``lo`` so that the in-between segments ``reduceat`` also computes add up to
    at most one pass over ``values``.
    """
    vmin = np.full(lo.size, np.nan)
    vmax = np.full(lo.size, np.nan)
    sel = np.flatnonzero(hi > lo)
    if sel.size == 0:
        return vmin, vmax
    order = sel[np.argsort(lo[sel], kind="stable")]
    idx = np.empty(2 * order.size, dtype=np.int64)
    idx[0::2] = lo[order]
    idx[1::2] = hi[order]
    padded = np.append(values, np.nan)
    vmin[order] = np.minimum.reduceat(padded, idx)[0::2]
    vmax[order] = np.maximum.reduceat(padded, idx)[0::2]
    return vmin, vmax


def window_stats(
    starts: I64,
    ends: I64,
    values: F64,
    win_start: I64,
    win_end: I64,
    reverse: Mask,
    prefix: Prefix | None = None,
) -> dict[str, F64]:
    """Statistics of the signal over each window ``[win_start, win_end)``, over covered bases only.

    Parameters
    ----------
    starts, ends, values
        The chromosome's intervals (sorted, non-overlapping) and their values (any transform, e.g. log1p).
    win_start, win_end
        Window bounds, already clipped to the chromosome; a window with ``win_end <= win_start`` is empty.
    reverse
        Per window, whether it is read 3'→5' (genes on the minus strand), which flips ``slope``.
    prefix
        The same intervals' :func:`prefix_sums` when the caller already has them (non-negative values only).

    Returns
    -------
    dict
        ``mean``, ``std``, ``min``, ``max`` of the values; ``cov``, the covered fraction of the window; ``slope``,
        the mean of the downstream half minus the mean of the upstream half (in transcription direction);
        ``entropy``, the normalised Shannon entropy of the signal mass (negative values count as 0) over ten
        equal sub-bins (1 = flat, 0 = all in one bin). Statistics of a window without a
        covered base are NaN; ``cov`` is NaN only for an empty window.
    """
    # long by design: the hot kernel: every statistic from one set of prefix sums, in one frame to avoid copies
    n = win_start.size
    width = (win_end - win_start).astype(np.float64)
    valid = width > 0
    nonneg = values.size == 0 or float(values.min()) >= 0.0
    mass_density = values if nonneg else np.maximum(values, 0.0)
    if prefix is not None and nonneg and prefix.values is values:
        pi, cum_len, cum_mass = prefix.pi, prefix.cum_len, prefix.cum_mass
    else:
        pi = PrefixIntegral(starts, ends)
        cum_mass = pi.cumulative(mass_density)
        cum_len = pi.cumulative()
    # Squares about the chromosome's mean keep the variance's cancellation small.
    if nonneg and cum_len[-1] > 0:
        centre = float(cum_mass[-1] / cum_len[-1])  # the base-weighted mean, from sums already made
    else:
        centre = float(values.mean()) if values.size else 0.0
    dev_sq = values - centre
    dev_sq *= dev_sq
    cum_sq = pi.cumulative(dev_sq)

    # Sub-bin edges: ENTROPY_BINS + 1 positions per window, integer bases. One search serves every statistic.
    steps = np.arange(ENTROPY_BINS + 1, dtype=np.int64)
    edges = win_start[:, None] + ((win_end - win_start)[:, None] * steps[None, :]) // ENTROPY_BINS
    k_all, part_all = pi.locate(edges.ravel())
    mass_at = pi.at(cum_mass, mass_density, (k_all, part_all)).reshape(n, -1)
    k_all, part_all = k_all.reshape(n, -1), part_all.reshape(n, -1)
    # Everything but the entropy needs only the window's start, middle and end.
    half = ENTROPY_BINS // 2
    cols = [0, half, ENTROPY_BINS]
    three = (k_all[:, cols], part_all[:, cols])
    cov_at = pi.at(cum_len, None, three)
    if nonneg:
        val_at = mass_at[:, cols]
    else:
        val_at = pi.at(pi.cumulative(values), values, three)
    ends_loc = (k_all[:, [0, ENTROPY_BINS]], part_all[:, [0, ENTROPY_BINS]])
    sq_at = pi.at(cum_sq, dev_sq, ends_loc)
    del dev_sq, cum_sq
    covered = cov_at[:, 2] - cov_at[:, 0]
    has = covered > 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(has, (val_at[:, 2] - val_at[:, 0]) / covered, np.nan)
        var = np.where(has, np.maximum((sq_at[:, 1] - sq_at[:, 0]) / covered - (mean - centre) ** 2, 0.0), np.nan)
        cov_lo = cov_at[:, 1] - cov_at[:, 0]
        cov_hi = cov_at[:, 2] - cov_at[:, 1]
        mean_lo = (val_at[:, 1] - val_at[:, 0]) / cov_lo
        mean_hi = (val_at[:, 2] - val_at[:, 1]) / cov_hi
        slope = np.where(reverse, mean_lo - mean_hi, mean_hi - mean_lo)
        slope = np.where((cov_lo > 0.5) & (cov_hi > 0.5), slope, np.nan)
        # H = log T - Σ m log m / T over the sub-bin masses m (total T): no per-bin division needed.
        mass = np.diff(mass_at, axis=1)
        total = mass_at[:, -1] - mass_at[:, 0]
        total = np.where(total > 1e-9 * max(1.0, float(cum_mass[-1])), total, 0.0)  # below float precision
        mlogm = np.log(mass, out=np.zeros_like(mass), where=mass > 0)
        mlogm *= mass
        with_mass = has & (total > 0)
        safe_total = np.where(with_mass, total, 1.0)
        entropy = (np.log(safe_total) - mlogm.sum(axis=1) / safe_total) / np.log(ENTROPY_BINS)
        entropy = np.where(with_mass, np.maximum(entropy, 0.0), np.nan)
        cov_frac = np.where(valid, covered / np.where(valid, width, 1.0), np.nan)

    # The intervals a window touches, from the edge search above (no second search): ``lo`` intervals end at or
    # before its start; of the intervals not ending at or before its end, the first overlaps it iff it starts
    # before the end.
    lo, k_end = k_all[:, 0], k_all[:, -1]
    hi = k_end + (pi.starts_padded[k_end] < win_end)
    hi = np.where(valid, np.maximum(hi, lo), lo)
    vmin, vmax = _range_min_max(values, lo, hi)
    # A window of one value has that mean and no spread exactly, whatever the rounding of the prefix sums.
    flat = vmin == vmax
    return {
        "mean": np.where(flat, vmin, mean),
        "std": np.where(flat, 0.0, np.sqrt(var)),
        "min": np.where(has, vmin, np.nan),
        "max": np.where(has, vmax, np.nan),
        "cov": cov_frac,
        "slope": slope,
        "entropy": entropy,
    }
