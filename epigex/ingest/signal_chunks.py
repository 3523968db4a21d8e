"""A chromosome's signal held compactly in chunks, and exact integrals and extremes of it at any positions.

Pure computation, no I/O. A chromosome of a real track (ENCODE's MACS2 bigWigs: tens of millions of records) is
kept as ``uint32`` starts and ends and ``float64`` transformed values — 16 bytes a record — in chunks of at most
:data:`CHUNK_RECORDS`; every prefix sum, search and temporary is made one chunk at a time, so the memory of a read
is the records themselves plus one chunk's working set, whatever the file's size.

Integrals are additive over chunks: the integral of a density over bases ``[0, p)`` is the sum over chunks of
that chunk's part of it. A chunk adds nothing to a position at or before its first base, its whole total to a
position at or past its last, and a prefix-sum lookup to a position inside it. With the positions sorted once, a
chunk touches only the positions inside its span; the totals reach the positions past it through one cumulative
sum at the end. Extremes over a window's intervals combine the same way (``fmin``/``fmax`` of each chunk's part).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from epigex.store.types import F64, I64

U32 = npt.NDArray[np.uint32]
# Records per chunk: a chunk's working set (int64 coordinates, four prefix sums, searches) stays near 100 MB.
CHUNK_RECORDS = 1 << 20
_U32_MAX = int(np.iinfo(np.uint32).max)

Density = Callable[[F64], F64] | None
"""A per-interval density made from the chunk's values; None is the constant 1 (integrals count bases)."""


@dataclass(frozen=True)
class Chunk:
    """Consecutive intervals of one chromosome: sorted, disjoint, non-empty; ``y`` their (transformed) values."""

    starts: U32
    ends: U32
    y: F64

    def __len__(self) -> int:
        return int(self.starts.size)


@dataclass(frozen=True)
class ChunkedSignal:
    """One chromosome's intervals as chunks in genomic order (every chunk starts at or after the previous ends)."""

    chunks: tuple[Chunk, ...]

    @classmethod
    def whole(cls, starts: I64, ends: I64, y: F64, size: int = CHUNK_RECORDS) -> ChunkedSignal:
        """Chunks of ``size`` records from whole-chromosome arrays (coordinates within ``[0, 2^32)``)."""
        if starts.size and (int(starts.min()) < 0 or int(ends.max()) > _U32_MAX):
            raise ValueError("interval coordinates must lie within [0, 2^32)")
        s, e = starts.astype(np.uint32), ends.astype(np.uint32)
        yy = np.asarray(y, dtype=np.float64)
        return cls(tuple(Chunk(s[i : i + size], e[i : i + size], yy[i : i + size]) for i in range(0, s.size, size)))

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks)

    def integrals(self, positions: I64, densities: Sequence[Density]) -> F64:
        """Integral of each density over bases ``[0, p)`` at each position: an array (densities, positions).

        The same density object given twice is integrated once.
        """
        out = np.zeros((len(densities), positions.size))
        if positions.size == 0 or not self.chunks:
            return out
        firsts: dict[int, int] = {}
        slot = [firsts.setdefault(id(d), j) for j, d in enumerate(densities)]
        unique = sorted(set(slot))
        order = np.argsort(positions, kind="stable")
        # coordinates are below 2^32: a position outside that range integrates like the nearest one inside it
        ps = np.clip(positions[order], 0, _U32_MAX)
        acc = np.zeros((len(densities), ps.size))
        carry = np.zeros((len(densities), ps.size + 1))  # chunk totals, added from the first position past a chunk
        for c in self.chunks:
            n = len(c)
            if not n:
                continue
            i0 = int(np.searchsorted(ps, int(c.starts[0]), side="right"))
            i1 = int(np.searchsorted(ps, int(c.ends[-1]), side="left"))
            inside = ps[i0:i1]
            k = np.searchsorted(c.ends, inside.astype(np.uint32), side="right")
            # bases of the next interval below the position (0 past the chunk's last interval)
            next_start = np.take(c.starts, k, mode="clip").astype(np.int64)
            partial = np.where(k < n, np.maximum(inside - next_start, 0), 0).astype(np.float64)
            lengths = (c.ends - c.starts).astype(np.float64)
            cum = np.empty(n + 1)
            cum[0] = 0.0
            for j in unique:
                d = densities[j]
                dens = None if d is None else d(c.y)
                np.cumsum(lengths if dens is None else dens * lengths, out=cum[1:])
                if i1 > i0:
                    acc[j, i0:i1] += cum[k] + (partial if dens is None else partial * np.take(dens, k, mode="clip"))
                carry[j, i1] += cum[-1]
        acc += np.cumsum(carry[:, :-1], axis=1)
        out[:, order] = acc[slot]
        return out

    def extremes(self, win_start: I64, win_end: I64) -> tuple[F64, F64]:
        """Minimum and maximum of ``y`` over the intervals each window ``[start, end)`` touches; NaN for none."""
        vmin = np.full(win_start.size, np.nan)
        vmax = np.full(win_start.size, np.nan)
        for c in self.chunks:
            n = len(c)
            if not n:
                continue
            sel = np.flatnonzero((win_end > win_start) & (win_end > int(c.starts[0])) & (win_start < int(c.ends[-1])))
            if sel.size == 0:
                continue
            lo_pos = np.clip(win_start[sel], 0, _U32_MAX)
            hi_pos = np.clip(win_end[sel], 0, _U32_MAX)
            lo = np.searchsorted(c.ends, lo_pos.astype(np.uint32), side="right")
            k_end = np.searchsorted(c.ends, hi_pos.astype(np.uint32), side="right")
            # the first interval not ending at or before the window's end overlaps it iff it starts before that end
            starts_before = (k_end < n) & (np.take(c.starts, k_end, mode="clip").astype(np.int64) < hi_pos)
            hi = np.maximum(k_end + starts_before, lo)
            mn, mx = range_min_max(c.y, lo, hi)
            vmin[sel] = np.fmin(vmin[sel], mn)
            vmax[sel] = np.fmax(vmax[sel], mx)
        return vmin, vmax


def range_min_max(values: F64, lo: I64, hi: I64) -> tuple[F64, F64]:
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
