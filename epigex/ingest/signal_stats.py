"""Window statistics of a piecewise-constant signal, vectorised over all windows of a chromosome.

Pure computation, no I/O. The signal is given as sorted, non-overlapping intervals with one value each; bases
outside every interval have no data and are excluded from every statistic (never read as zero). Sums over a
window are integrals at its edges (:mod:`ingest.signal_chunks`: prefix sums plus the clipped interval at each
edge, a chunk of the chromosome at a time); minima and maxima come from ``ufunc.reduceat`` over each window's run
of intervals. No dense per-base array is ever built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epigex.ingest.signal_chunks import ChunkedSignal, Density
from epigex.store.types import F64, I64, Mask

ENTROPY_BINS = 10
SIGNAL_STATS = ("mean", "std", "min", "max", "cov", "slope", "entropy")
# A window's variance is a difference of chromosome-long prefix sums: below this many units of their rounding
# (eps × the prefix ÷ covered bases; measured errors reach ~70 such units on real tracks) it is rounding, not
# spread, and is reported as 0 — else near-flat windows carry noise that depends on summation order.
VARIANCE_ROUNDING_UNITS = 256.0
_EPS = float(np.finfo(np.float64).eps)


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
    return weighted_sums((ends - starts).astype(np.float64) if lengths is None else lengths, values)


def weighted_sums(lengths: F64, values: F64) -> TrackSums:
    """Count, sum and sum of squares of ``values`` weighted by interval ``lengths`` (whole bases, as floats)."""
    # Element-wise products and NumPy's pairwise sum, not ``@``: a BLAS dot product's rounding depends on its
    # thread count, and the same track must give the same bits on a laptop and on a single-threaded Dask worker.
    weighted = lengths * values
    total = float(weighted.sum())
    weighted *= values
    # lengths are whole numbers below 2^32 and their sum is below 2^53: the float sum is exact
    return TrackSums(int(lengths.sum()), total, float(weighted.sum()))


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


def window_edges(win_start: I64, win_end: I64) -> I64:
    """The ``ENTROPY_BINS + 1`` sub-bin edges of each window (windows × edges), integer bases."""
    steps = np.arange(ENTROPY_BINS + 1, dtype=np.int64)
    return win_start[:, None] + ((win_end - win_start)[:, None] * steps[None, :]) // ENTROPY_BINS


def value_density(y: F64) -> F64:
    """The values themselves as a density."""
    return y


def mass_density(y: F64) -> F64:
    """The signal mass: values below 0 count as 0."""
    return np.maximum(y, 0.0)


@dataclass(frozen=True)
class SquaredDeviation:
    """The density ``(y - centre)²``: squares about a constant keep the variance's cancellation small."""

    centre: float

    def __call__(self, y: F64) -> F64:
        d = y - self.centre
        d *= d
        return d


def window_densities(centre: float, nonneg: bool) -> list[Density]:
    """The four densities :func:`window_stats_from` reads: bases, values, mass and squared deviations."""
    return [None, value_density, value_density if nonneg else mass_density, SquaredDeviation(centre)]


def window_stats(
    starts: I64,
    ends: I64,
    values: F64,
    win_start: I64,
    win_end: I64,
    reverse: Mask,
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
    sig = ChunkedSignal.whole(starts, ends, values)
    lengths = (ends - starts).astype(np.float64)
    covered = float(lengths.sum())
    centre = float((lengths * values).sum() / covered) if covered else 0.0
    total_mass = float((lengths * np.maximum(values, 0.0)).sum())
    nonneg = values.size == 0 or float(values.min()) >= 0.0
    edges = window_edges(win_start, win_end)
    at = sig.integrals(edges.ravel(), window_densities(centre, nonneg)).reshape(4, *edges.shape)
    return window_stats_from(at, sig.extremes(win_start, win_end), win_start, win_end, reverse, centre, total_mass)


def window_stats_from(
    at: F64,
    extremes: tuple[F64, F64],
    win_start: I64,
    win_end: I64,
    reverse: Mask,
    centre: float,
    total_mass: float,
) -> dict[str, F64]:
    """:func:`window_stats` from the integrals of :func:`window_densities` at :func:`window_edges` (4 × windows
    × edges), the windows' extremes, the centre of the squares and the chromosome's total mass."""
    width = (win_end - win_start).astype(np.float64)
    valid = width > 0
    at_len, at_val, at_mass, at_sq = at
    half = ENTROPY_BINS // 2
    covered = at_len[:, -1] - at_len[:, 0]
    has = covered > 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(has, (at_val[:, -1] - at_val[:, 0]) / covered, np.nan)
        var = np.where(has, (at_sq[:, -1] - at_sq[:, 0]) / covered - (mean - centre) ** 2, np.nan)
        rounding = VARIANCE_ROUNDING_UNITS * _EPS * (np.abs(at_sq[:, -1]) / covered + (mean - centre) ** 2)
        var = np.where(var > rounding, var, np.where(has, 0.0, np.nan))
        cov_lo = at_len[:, half] - at_len[:, 0]
        cov_hi = at_len[:, -1] - at_len[:, half]
        mean_lo = (at_val[:, half] - at_val[:, 0]) / cov_lo
        mean_hi = (at_val[:, -1] - at_val[:, half]) / cov_hi
        slope = np.where(reverse, mean_lo - mean_hi, mean_hi - mean_lo)
        slope = np.where((cov_lo > 0.5) & (cov_hi > 0.5), slope, np.nan)
        # H = log T - Σ m log m / T over the sub-bin masses m (total T): no per-bin division needed.
        mass = np.diff(at_mass, axis=1)
        total = at_mass[:, -1] - at_mass[:, 0]
        total = np.where(total > 1e-9 * max(1.0, total_mass), total, 0.0)  # below float precision
        mlogm = np.log(mass, out=np.zeros_like(mass), where=mass > 0)
        mlogm *= mass
        with_mass = has & (total > 0)
        safe_total = np.where(with_mass, total, 1.0)
        entropy = (np.log(safe_total) - mlogm.sum(axis=1) / safe_total) / np.log(ENTROPY_BINS)
        entropy = np.where(with_mass, np.maximum(entropy, 0.0), np.nan)
        cov_frac = np.where(valid, covered / np.where(valid, width, 1.0), np.nan)
    vmin, vmax = extremes
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
