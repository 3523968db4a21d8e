"""One chromosome of a bigWig: its raw chunks transformed and summed, then every window and neighbourhood sum of its
genes from one pass of integrals. Pure computation, no I/O.

The transform is ``log1p(max(value, 0))``. Each raw chunk (12 bytes an interval) gives way to its transformed
chunk (16 bytes) as it is summed, so a chromosome is held once; the window statistics, the rings, the own-domain
excess and the domain sums all read the four densities (bases, values, squares about the chromosome's mean, the
excess over its mean + ``HOT_Z`` sd) at one concatenated set of positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from epigex.ingest.bigwig import RawChunk
from epigex.ingest.neighbourhood import (
    HOT_Z,
    HotExcess,
    assigned_from,
    assigned_positions,
    domain_from,
    domain_positions,
    hot_usable,
    ring_positions,
    rings_from,
)
from epigex.ingest.signal_chunks import Chunk, ChunkedSignal
from epigex.ingest.signal_stats import (
    SIGNAL_STATS,
    SquaredDeviation,
    TrackSums,
    value_density,
    weighted_sums,
    window_edges,
    window_stats_from,
)
from epigex.ingest.signal_type import SignalShape, shape_of
from epigex.ingest.windows import GeneCoords, WindowSpec, window_bounds
from epigex.store.types import F64, I64


@dataclass(frozen=True)
class SignalQC:
    """What a track's QC sums over its records (of one chromosome, or added up over all)."""

    log_sums: TrackSums = field(default_factory=lambda: TrackSums(0, 0.0, 0.0))
    lin_sums: TrackSums = field(default_factory=lambda: TrackSums(0, 0.0, 0.0))
    negative_bases: int = 0
    nan_bases: int = 0
    n_intervals: int = 0
    shape: SignalShape = field(default_factory=SignalShape)

    def __add__(self, other: SignalQC) -> SignalQC:
        return SignalQC(
            self.log_sums + other.log_sums,
            self.lin_sums + other.lin_sums,
            self.negative_bases + other.negative_bases,
            self.nan_bases + other.nan_bases,
            self.n_intervals + other.n_intervals,
            self.shape + other.shape,
        )


@dataclass(frozen=True)
class ChromSignal:
    """A chromosome's transformed signal and what the track's QC sums over it."""

    signal: ChunkedSignal
    qc: SignalQC


def transform(raw: list[RawChunk]) -> ChromSignal:
    """``log1p(max(v, 0))`` of every chunk, with the sums of the values before and after; ``raw`` is emptied."""
    log_sums = lin_sums = TrackSums(0, 0.0, 0.0)
    negative = nan = n = 0
    shape = SignalShape()
    chunks: list[Chunk] = []
    while raw:
        c = raw.pop(0)
        values = c.values.astype(np.float64)
        lengths = (c.ends - c.starts).astype(np.float64)  # ends > starts: no wrap
        neg = values < 0
        if bool(neg.any()):
            negative += int(lengths[neg].sum())
        shape = shape + shape_of(lengths, values)
        y = np.log1p(np.maximum(values, 0.0))
        lin_sums = lin_sums + weighted_sums(lengths, values)
        log_sums = log_sums + weighted_sums(lengths, y)
        nan += c.nan_bases
        n += len(c)
        chunks.append(Chunk(c.starts, c.ends, y))
    return ChromSignal(ChunkedSignal(tuple(chunks)), SignalQC(log_sums, lin_sums, negative, nan, n, shape))


@dataclass(frozen=True)
class ChromSums:
    """Per gene of one chromosome: window statistics (statistic, window, gene), ring sums (side, sum, gene,
    sub-ring), own-domain excess (gene,) and domain sums (sum, gene); None where not asked for."""

    stats: F64
    rings: F64 | None
    assigned: F64 | None
    domain: F64 | None


def chrom_sums(
    cs: ChromSignal,
    coords: GeneCoords,
    windows: Sequence[WindowSpec],
    chrom_len: int,
    *,
    distal: bool,
    domain: bool,
) -> ChromSums:
    """Every window statistic and neighbourhood sum of the genes at ``coords`` from one pass over the chunks."""
    sig, sums = cs.signal, cs.qc.log_sums
    bounds = [window_bounds(coords, w, chrom_len) for w in windows]
    win_start = np.concatenate([b[0] for b in bounds])
    win_end = np.concatenate([b[1] for b in bounds])
    edges = window_edges(win_start, win_end)
    tss = coords.tss_point
    mu, sd = sums.mean, sums.std
    hot = hot_usable(mu, sd)
    parts: list[I64] = [edges.ravel()]
    if distal:
        rp = ring_positions(tss, coords.minus, chrom_len)
        ap = assigned_positions(tss, chrom_len)
        parts += [rp.ravel(), ap.ravel()]
    if domain:
        dp = domain_positions(tss, chrom_len)
        parts.append(dp.ravel())
    centre = sums.mean if sums.n_bases else 0.0
    dens = [None, value_density, SquaredDeviation(centre), HotExcess(mu + HOT_Z * sd if hot else 0.0)]
    at = sig.integrals(np.concatenate(parts), dens)
    cut = np.cumsum([0, *(p.size for p in parts)])
    piece = iter(range(len(parts)))

    def take(rows: list[int], shape: tuple[int, ...]) -> F64:
        k = next(piece)
        return at[rows, cut[k] : cut[k + 1]].reshape(len(rows), *shape)

    window_at = take([0, 1, 1, 2], edges.shape)
    stats = window_stats_from(
        window_at,
        sig.extremes(win_start, win_end),
        win_start,
        win_end,
        np.tile(coords.minus, len(bounds)),
        centre,
        sums.total,
    )
    table = np.stack([stats[s].reshape(len(bounds), tss.size) for s in SIGNAL_STATS])
    rings = assigned = dom = None
    if distal:
        r_at = take([0, 1], rp.shape)
        rings = rings_from(r_at[0], r_at[1], rp)
        a_at = take([3], ap.shape)[0]
        assigned = assigned_from(a_at, sd) if hot else np.zeros(tss.size)
    if domain:
        d_at = take([0, 1], dp.shape)
        dom = domain_from(d_at[0], d_at[1])
    return ChromSums(table, rings, assigned, dom)


@dataclass(frozen=True)
class ChromResult:
    """What one chromosome gives the track: its QC sums and, when it has genes, their sums."""

    qc: SignalQC
    sums: ChromSums | None


def chrom_pass(
    raw: list[RawChunk],
    coords: GeneCoords | None,
    windows: Sequence[WindowSpec],
    chrom_len: int,
    *,
    distal: bool,
    domain: bool,
) -> ChromResult:
    """Transform one chromosome and read its genes' sums (none when ``coords`` is None); the signal is let go."""
    cs = transform(raw)
    got = None if coords is None else chrom_sums(cs, coords, windows, chrom_len, distal=distal, domain=domain)
    return ChromResult(cs.qc, got)
