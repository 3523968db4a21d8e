"""Simulated chromatin signal of one (cell, assay): piecewise-constant log1p signal plus called peaks.

Pure computation. The signal follows expression the way real chromatin does: DNase, H3K4me3 and H3K27ac peak at
active TSSs, H3K4me1 flanks them, H3K36me3 covers expressed gene bodies rising towards the 3' end, H3K27me3
and H3K9me3 form domains over a share of silent genes (H3K27me3 also at bivalent promoters) and at random
places; gene-linked enhancers 2–100 kb away (:mod:`demo.enhancers`) carry H3K27ac, H3K4me1 and DNase where
their gene is active. Promoter peak heights follow the real X3 promoter signal's distribution
(``X3_tss_bins_real.tsv``); a per-(cell, assay) scale shift and per-gene noise blur the link. Most of a promoter's
noise is shared by its marks (:class:`PromoterState`: in real cells the marks of one promoter agree with each other
far better than with CAGE), so stacking more promoter marks cannot average it away; the gene body's H3K36me3 and
the enhancers are views with noise of their own. The genome-wide log1p mean and std over covered bases are then
matched to ``global_track_stats.json`` by a gamma-distributed background in 5 kb bins.
Gaps without data (chromosome starts, a centromere-like block, random holes) are left uncovered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from epigex.demo.enhancers import ActiveEnhancers, enhancer_pieces
from epigex.store.genome import HG38_SIZES
from epigex.store.types import F64, I64, Mask, Strs

BIN = 100
HALF = 3000
BG_BIN = 5000
OFFSETS = np.arange(-HALF, HALF, BIN, dtype=np.int64)

# (centre, sigma, weight) of Gaussian bumps around the TSS, in transcription direction.
PROMOTER_SHAPES: dict[str, tuple[tuple[float, float, float], ...]] = {
    "DNase": ((0.0, 250.0, 1.0),),
    "H3K4me3": ((300.0, 600.0, 1.0),),
    "H3K27ac": ((-400.0, 500.0, 0.6), (500.0, 600.0, 1.0)),
    "H3K4me1": ((-1500.0, 600.0, 1.0), (1500.0, 600.0, 1.0)),
    "H3K27me3": ((0.0, 1500.0, 1.0),),
}


@dataclass(frozen=True)
class GeneArrays:
    """The genes of one cell as arrays (its own coordinates)."""

    chrom: Strs
    gene_start: I64
    gene_end: I64
    tss: I64
    minus: Mask


@dataclass(frozen=True)
class PromoterState:
    """A cell's per-gene promoter deviations shared by every promoter mark: rank-score shift, log-amplitude shift."""

    score: F64
    log_amp: F64


SHARED_SCORE_SD, OWN_SCORE_SD = 0.3, 0.12
SHARED_AMP_SD, OWN_AMP_SD = 0.45, 0.4


def promoter_state(n: int, rng: np.random.Generator) -> PromoterState:
    """Draw a cell's shared promoter deviations for ``n`` genes."""
    return PromoterState(rng.normal(0.0, SHARED_SCORE_SD, n), rng.normal(0.0, SHARED_AMP_SD, n))


@dataclass
class ChromSignal:
    """Elementary intervals of one chromosome with their log1p values."""

    starts: I64
    ends: I64
    y: F64


def _shape(assay: str) -> F64:
    prof = np.zeros(OFFSETS.size)
    mid = OFFSETS + BIN / 2
    for c, s, w in PROMOTER_SHAPES.get(assay, ()):
        prof += w * np.exp(-0.5 * ((mid - c) / s) ** 2)
    return prof / prof.max() if prof.max() > 0 else prof


def _gene_pieces(
    genes: GeneArrays,
    act: F64,
    assay: str,
    amp_quantiles: F64 | None,
    rng: np.random.Generator,
    shared: PromoterState | None = None,
) -> tuple[Strs, I64, I64, F64]:
    """Every gene-driven piece ``(chrom, start, end, log1p value)`` of the assay."""
    # long by design: the per-gene pieces of the simulation, mark by mark
    n = act.size
    silent = act == 0
    shared = shared or PromoterState(np.zeros(n), np.zeros(n))
    noise = np.exp(shared.log_amp + rng.normal(0.0, OWN_AMP_SD, n))
    own_noise = rng.lognormal(0.0, float(np.hypot(SHARED_AMP_SD, OWN_AMP_SD)), n)
    poised = silent & (rng.random(n) < 0.15)
    score = act + shared.score + rng.normal(0.0, OWN_SCORE_SD, n)
    u = (np.argsort(np.argsort(score)) + 0.5) / n
    if amp_quantiles is not None:
        base = np.interp(u, np.linspace(0, 1, amp_quantiles.size), amp_quantiles)
        amp = np.maximum(base - amp_quantiles[int(0.05 * amp_quantiles.size)], 0.0) * noise
    else:
        amp = 1.5 * act * noise
    chrom_l: list[Strs] = []
    s_l: list[I64] = []
    e_l: list[I64] = []
    v_l: list[F64] = []

    def add(chrom: Strs, s: I64, e: I64, v: F64) -> None:
        keep = (v > 1e-3) & (e > s)
        chrom_l.append(chrom[keep])
        s_l.append(s[keep])
        e_l.append(e[keep])
        v_l.append(v[keep])

    if assay in ("DNase", "H3K4me3", "H3K27ac", "H3K4me1", "H3K27me3"):
        prom_amp = amp.copy()
        if assay == "H3K4me3":
            prom_amp[poised] = 0.8 * noise[poised]
        if assay == "H3K27me3":
            prom_amp = np.where(poised, 1.0 * noise, 0.0)
        prof = _shape(assay)
        lo = np.where(genes.minus[:, None], genes.tss[:, None] - OFFSETS[None, :] - BIN, genes.tss[:, None] + OFFSETS)
        vals = prom_amp[:, None] * prof[None, :]
        add(np.repeat(genes.chrom, OFFSETS.size), lo.ravel(), (lo + BIN).ravel(), vals.ravel())
    if assay == "H3K36me3":
        seg = 8
        length = genes.gene_end - genes.gene_start
        k = np.arange(seg)
        edges = genes.gene_start[:, None] + (length[:, None] * k[None, :]) // seg
        ends = genes.gene_start[:, None] + (length[:, None] * (k[None, :] + 1)) // seg
        ramp = 0.4 + 0.6 * (k + 0.5) / seg
        ramp2 = np.where(genes.minus[:, None], ramp[::-1][None, :], ramp[None, :])
        vals = (1.2 * act * own_noise)[:, None] * ramp2
        add(np.repeat(genes.chrom, seg), edges.ravel(), ends.ravel(), vals.ravel())
    if assay == "H3K27me3":
        dom = silent & (rng.random(n) < 0.5)
        add(genes.chrom[dom], genes.gene_start[dom] - 5000, genes.gene_end[dom] + 5000, 0.9 * noise[dom])
    if assay == "H3K9me3":
        dom = silent & (rng.random(n) < 0.12)
        add(genes.chrom[dom], genes.gene_start[dom], genes.gene_end[dom], 0.8 * noise[dom])
    return np.concatenate(chrom_l), np.concatenate(s_l), np.concatenate(e_l), np.concatenate(v_l)


def _random_pieces(assay: str, rng: np.random.Generator) -> tuple[Strs, I64, I64, F64]:
    """Signal unrelated to genes: unlinked enhancer-like peaks and heterochromatin domains."""
    names = np.array(list(HG38_SIZES))
    sizes = np.array(list(HG38_SIZES.values()), dtype=np.float64)
    if assay in ("H3K27me3", "H3K9me3"):
        n, width, amp = 300, rng.integers(50_000, 300_000, 300), rng.lognormal(np.log(0.6), 0.3, 300)
    else:
        n, width, amp = 20_000, rng.integers(200, 2_000, 20_000), rng.lognormal(np.log(0.8), 0.6, 20_000)
    chrom_idx = rng.choice(names.size, size=n, p=sizes / sizes.sum())
    start = (rng.random(n) * (sizes[chrom_idx] - 400_000)).astype(np.int64) + 100_000
    return names[chrom_idx], start, start + width, amp


def _gaps(chrom_len: int, rng: np.random.Generator) -> tuple[I64, I64]:
    """Regions without data: the first 10 kb, a centromere-like block and four random holes."""
    if chrom_len < 1_000_000:
        return np.array([0], np.int64), np.array([min(1000, chrom_len // 10)], np.int64)
    mid = int(chrom_len * rng.uniform(0.35, 0.55))
    starts = [0, mid, *rng.integers(100_000, chrom_len - 300_000, 4).tolist()]
    ends = [
        10_000,
        mid + int(rng.integers(500_000, 2_000_000)),
        *[s + int(rng.integers(20_000, 200_000)) for s in starts[2:]],
    ]
    return np.array(starts, np.int64), np.minimum(np.array(ends, np.int64), chrom_len)


def _covered(gap_s: I64, gap_e: I64, chrom_len: int) -> tuple[I64, I64]:
    order = np.argsort(gap_s)
    gs, ge = gap_s[order], np.maximum.accumulate(gap_e[order])
    starts = np.concatenate([[0], ge])
    ends = np.concatenate([gs, [chrom_len]])
    keep = ends > starts
    return starts[keep], ends[keep]


def simulate_track(
    genes: GeneArrays,
    act: F64,
    assay: str,
    target_mean: float,
    target_std: float,
    amp_quantiles: F64 | None,
    rng: np.random.Generator,
    enhancers: ActiveEnhancers | None = None,
    shared: PromoterState | None = None,
) -> dict[str, ChromSignal]:
    """The whole-genome log1p signal of one (cell, assay), calibrated to the target genome-wide stats.

    ``enhancers``: the cell's active gene-linked enhancers (:mod:`demo.enhancers`), marked on the assays that
    carry them; ``shared``: the cell's promoter deviations shared by its marks.
    """
    # long by design: the simulation's recipe for one track, mark by mark
    scale = float(np.exp(rng.normal(0.0, 0.15)))
    gc, gs, ge, gv = _gene_pieces(genes, act, assay, amp_quantiles, rng, shared)
    if enhancers is not None:
        ec, es, ee, ev = enhancer_pieces(enhancers, assay, rng)
        gc, gs = np.concatenate([gc, ec]), np.concatenate([gs, es])
        ge, gv = np.concatenate([ge, ee]), np.concatenate([gv, ev])
    rc, rs, re_, rv = _random_pieces(assay, rng)
    pc = np.concatenate([gc, rc])
    ps = np.concatenate([gs, rs])
    pe = np.concatenate([ge, re_])
    pv = np.concatenate([gv * scale, rv])
    order = np.argsort(pc, kind="stable")
    pc, ps, pe, pv = pc[order], ps[order], pe[order], pv[order]
    out: dict[str, ChromSignal] = {}
    bins: dict[str, I64] = {}
    sum_l = sum_y = sum_y2 = 0.0
    for chrom, clen in HG38_SIZES.items():
        lo, hi = np.searchsorted(pc, chrom, "left"), np.searchsorted(pc, chrom, "right")
        s, e, v = np.clip(ps[lo:hi], 0, clen), np.clip(pe[lo:hi], 0, clen), pv[lo:hi]
        cov_s, cov_e = _covered(*_gaps(clen, rng), clen)
        bg_edges = np.arange(0, clen, BG_BIN, dtype=np.int64)
        bp = np.unique(np.concatenate([s, e, cov_s, cov_e, bg_edges, [clen]]))
        i_s, i_e = np.searchsorted(bp, s), np.searchsorted(bp, e)
        diff = np.bincount(i_s, weights=v, minlength=bp.size) - np.bincount(i_e, weights=v, minlength=bp.size)
        y = np.cumsum(diff)[:-1]
        c_s, c_e = np.searchsorted(bp, cov_s), np.searchsorted(bp, cov_e)
        cdiff = np.bincount(c_s, minlength=bp.size) - np.bincount(c_e, minlength=bp.size)
        covered = np.cumsum(cdiff)[:-1] > 0
        st, en, y = bp[:-1][covered], bp[1:][covered], np.maximum(y[covered], 0.0)
        length = (en - st).astype(np.float64)
        sum_l += length.sum()
        sum_y += float((length * y).sum())  # not ``@``: BLAS rounding depends on its thread count
        sum_y2 += float((length * y * y).sum())
        out[chrom] = ChromSignal(st, en, y)
        bins[chrom] = st // BG_BIN
    mg = sum_y / sum_l
    vg = max(sum_y2 / sum_l - mg * mg, 1e-12)
    t_var = target_std**2
    f = min(1.0, 0.6 * target_mean / mg, float(np.sqrt(0.8 * t_var / vg)))
    mean_b, var_b = target_mean - f * mg, t_var - f * f * vg
    k, theta = mean_b**2 / var_b, var_b / mean_b
    for chrom, sig in out.items():
        nb = HG38_SIZES[chrom] // BG_BIN + 1
        bg = rng.gamma(k, theta, nb)
        sig.y = f * sig.y + bg[bins[chrom]]
    return out


def call_peaks(signal: dict[str, ChromSignal], rng: np.random.Generator) -> tuple[Strs, I64, I64, F64, F64, F64, I64]:
    """Call narrowPeak-style peaks: runs of intervals above mean + 3 sd, with a few misses and false calls."""
    sum_l = sum(float((c.ends - c.starts).sum()) for c in signal.values())
    sum_y = sum(float(((c.ends - c.starts) * c.y).sum()) for c in signal.values())
    sum_y2 = sum(float(((c.ends - c.starts) * c.y * c.y).sum()) for c in signal.values())
    mu = sum_y / sum_l
    sd = float(np.sqrt(max(sum_y2 / sum_l - mu * mu, 1e-12)))
    cols: list[list[npt.NDArray[np.generic]]] = [[] for _ in range(7)]
    for chrom, c in signal.items():
        above = c.y > mu + 3 * sd
        if not above.any():
            continue
        idx = np.flatnonzero(above)
        new = np.ones(idx.size, dtype=bool)
        new[1:] = (idx[1:] != idx[:-1] + 1) | (c.starts[idx[1:]] != c.ends[idx[:-1]])
        first = np.flatnonzero(new)
        last = np.append(first[1:], idx.size) - 1
        pstart, pend = c.starts[idx[first]], c.ends[idx[last]]
        ymax = np.maximum.reduceat(c.y[idx], first)
        keep = rng.random(first.size) > 0.05
        z = (ymax - mu) / sd
        pval = 2.0 + 1.5 * z + rng.normal(0, 0.3, z.size)
        cols[0].append(np.full(int(keep.sum()), chrom))
        cols[1].append(pstart[keep])
        cols[2].append(pend[keep])
        cols[3].append((np.expm1(ymax) / max(np.expm1(mu), 1e-3))[keep])
        cols[4].append(pval[keep])
        cols[5].append(np.maximum(pval - 1.0, 0.0)[keep])
        cols[6].append(((pend - pstart) // 2)[keep])
    if not cols[0]:  # nothing above the threshold anywhere: no peaks
        return (
            np.zeros(0, dtype=str),
            *(np.zeros(0, dtype=np.int64) for _ in range(2)),
            *(np.zeros(0) for _ in range(3)),
            np.zeros(0, dtype=np.int64),
        )  # type: ignore[return-value]
    out = tuple(np.concatenate(c) for c in cols)
    return out  # type: ignore[return-value]
