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
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

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


def track_sums(starts: I64, ends: I64, values: F64) -> TrackSums:
    """Return base-weighted count, sum and sum of squares of ``values`` over the intervals."""
    lengths = (ends - starts).astype(np.float64)
    # Element-wise products and NumPy's pairwise sum, not ``@``: a BLAS dot product's rounding depends on its
    # thread count, and the same track must give the same bits on a laptop and on a single-threaded Dask worker.
    return TrackSums(
        int((ends - starts).sum()), float((lengths * values).sum()), float((lengths * values * values).sum())
    )


class PrefixIntegral:
    """Exact integrals over bases ``[0, p)`` of per-interval densities, for any array of positions ``p``."""

    def __init__(self, starts: I64, ends: I64) -> None:
        self.starts = starts
        self.ends = ends
        self.lengths = (ends - starts).astype(np.float64)

    def cumulative(self, density: F64) -> F64:
        """Prefix sums (with a leading zero) of ``density × length`` per interval."""
        out = np.zeros(density.size + 1)
        np.cumsum(density * self.lengths, out=out[1:])
        return out

    def locate(self, positions: I64) -> tuple[I64, I64, F64]:
        """For each position: intervals wholly below it, the interval it may cut, and the bases cut off."""
        k = np.searchsorted(self.ends, positions, side="right")
        if self.starts.size == 0:
            return k, k, np.zeros(positions.size)
        kk = np.minimum(k, self.starts.size - 1)
        partial = np.where(k < self.starts.size, np.clip(positions - self.starts[kk], 0, None), 0)
        return k, kk, partial.astype(np.float64)

    def at(self, cum: F64, density: F64, located: tuple[I64, I64, F64]) -> F64:
        """Integral of the density over bases below each located position."""
        k, kk, partial = located
        if self.starts.size == 0:
            return cum[k]
        return cum[k] + partial * density[kk]


def _range_reduce(ufunc: np.ufunc, values: F64, lo: I64, hi: I64, fill: float) -> F64:
    """Reduce ``values[lo:hi]`` per range with ``ufunc``; ``fill`` where the range is empty.

    Ranges are visited sorted by ``lo`` so that the in-between segments ``reduceat`` also computes add up to
    at most one pass over ``values``.
    """
    n_win = lo.size
    out = np.full(n_win, fill)
    nonempty = hi > lo
    if not bool(nonempty.any()):
        return out
    sel = np.flatnonzero(nonempty)
    order = sel[np.argsort(lo[sel], kind="stable")]
    idx = np.empty(2 * order.size, dtype=np.int64)
    idx[0::2] = lo[order]
    idx[1::2] = hi[order]
    padded = np.append(values, fill)
    red = ufunc.reduceat(padded, idx)[0::2]
    out[order] = red
    return out


def window_stats(
    starts: I64,
    ends: I64,
    values: F64,
    win_start: I64,
    win_end: I64,
    reverse: npt.NDArray[np.bool_],
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

    Returns
    -------
    dict
        ``mean``, ``std``, ``min``, ``max`` of the values; ``cov``, the covered fraction of the window; ``slope``,
        the mean of the downstream half minus the mean of the upstream half (in transcription direction);
        ``entropy``, the normalised Shannon entropy of the signal mass (negative values count as 0) over ten
        equal sub-bins (1 = flat, 0 = all in one bin). Statistics of a window without a
        covered base are NaN; ``cov`` is NaN only for an empty window.
    """
    n = win_start.size
    width = (win_end - win_start).astype(np.float64)
    valid = width > 0
    pi = PrefixIntegral(starts, ends)
    ones = np.broadcast_to(1.0, values.shape)  # a view: no per-interval allocation
    centre = float(values.mean()) if values.size else 0.0
    dev = values - centre
    dev_sq = dev * dev
    mass_density = values if (values.size == 0 or float(values.min()) >= 0) else np.maximum(values, 0.0)
    cum_len = np.concatenate([[0.0], np.cumsum(pi.lengths)])
    cum_dev, cum_sq = pi.cumulative(dev), pi.cumulative(dev_sq)
    cum_pos = pi.cumulative(mass_density)

    # Sub-bin edges: ENTROPY_BINS + 1 positions per window, integer bases.
    steps = np.arange(ENTROPY_BINS + 1, dtype=np.int64)
    edges = win_start[:, None] + ((win_end - win_start)[:, None] * steps[None, :]) // ENTROPY_BINS
    loc = pi.locate(edges.ravel())
    pos_at = pi.at(cum_pos, mass_density, loc).reshape(n, -1)
    # Everything but the entropy needs only the window's start, middle and end.
    half = ENTROPY_BINS // 2
    three = tuple(x.reshape(n, -1)[:, [0, half, ENTROPY_BINS]].ravel() for x in loc)
    cov_at = pi.at(cum_len, ones, three).reshape(n, 3)  # type: ignore[arg-type]
    dev_at = pi.at(cum_dev, dev, three).reshape(n, 3)  # type: ignore[arg-type]
    ends_loc = tuple(x.reshape(n, 3)[:, [0, 2]].ravel() for x in three)
    sq_at = pi.at(cum_sq, dev_sq, ends_loc).reshape(n, 2)  # type: ignore[arg-type]
    del dev_sq, cum_sq
    covered = cov_at[:, 2] - cov_at[:, 0]
    sum_dev = dev_at[:, 2] - dev_at[:, 0]
    sum_sq = sq_at[:, 1] - sq_at[:, 0]
    has = covered > 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_dev = np.where(has, sum_dev / covered, np.nan)
        var = np.where(has, np.maximum(sum_sq / covered - mean_dev**2, 0.0), np.nan)
        cov_lo = cov_at[:, 1] - cov_at[:, 0]
        cov_hi = cov_at[:, 2] - cov_at[:, 1]
        mean_lo = (dev_at[:, 1] - dev_at[:, 0]) / cov_lo
        mean_hi = (dev_at[:, 2] - dev_at[:, 1]) / cov_hi
        slope = np.where(reverse, mean_lo - mean_hi, mean_hi - mean_lo)
        slope = np.where((cov_lo > 0.5) & (cov_hi > 0.5), slope, np.nan)
        mass = np.diff(pos_at, axis=1)
        total = mass.sum(axis=1)
        total = np.where(total > 1e-9 * max(1.0, float(cum_pos[-1])), total, 0.0)  # below float precision
        p = mass / total[:, None]
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        entropy = np.where(has & (total > 0), -plogp.sum(axis=1) / np.log(ENTROPY_BINS), np.nan)
        cov_frac = np.where(valid, covered / np.where(valid, width, 1.0), np.nan)

    # The intervals a window touches, from the edge search above (no second search): ``lo`` intervals end at or
    # before its start; of the intervals not ending at or before its end, the first overlaps it iff it starts
    # before the end.
    k = loc[0].reshape(n, -1)
    lo, k_end = k[:, 0], k[:, -1]
    n_iv = starts.size
    hi = k_end + ((k_end < n_iv) & (starts[np.minimum(k_end, max(n_iv - 1, 0))] < win_end) if n_iv else 0)
    hi = np.where(valid, np.maximum(hi, lo), lo)
    vmin = _range_reduce(np.minimum, values, lo, hi, np.nan)
    vmax = _range_reduce(np.maximum, values, lo, hi, np.nan)
    return {
        "mean": mean_dev + centre,
        "std": np.sqrt(var),
        "min": np.where(has, vmin, np.nan),
        "max": np.where(has, vmax, np.nan),
        "cov": cov_frac,
        "slope": slope,
        "entropy": entropy,
    }
