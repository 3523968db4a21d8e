"""Regulatory-neighbourhood features: distal rings, contact-weighted sums, the strongest distal element, the
neighbouring promoters and the repressive domain around each gene. Pure computation, no I/O.

Enhancers act from kilobases to a hundred kilobases away (activity-by-contact, Fulco et al. 2019). Around each
TSS the signal is integrated over sub-rings whose edges ``SUB_EDGES`` grow geometrically from 5 to 100 kb, on each
side; every statistic below is a sum of those sub-ring integrals, so one search of 2 × 10 positions per gene (the
same prefix sums the window statistics use) gives them all exactly:

- ``rup20k``/``rup50k``/``rup100k`` and ``rdn…``: mean z over the covered bases of 5–20, 20–50 and 50–100 kb
  upstream or downstream (strand-aware); peaks: how many peak centres lie there;
- ``abc``: Σ over sub-rings of contact × enrichment, contact = 5 kb / (the sub-ring's geometric mid-distance)
  (a power law, 1 at 5 kb, as ABC's contact estimate falls with distance), enrichment = the bigWig's z summed
  over the sub-ring's covered bases (in z·kb) or the peaks' summed signalValue;
- ``top_score``/``top_dist``: the strongest distal peak (signalValue × contact at its exact distance, 5–100 kb)
  and its signed distance (+ downstream);
- ``assigned``: what lies in the gene's own distal domain — the bases 2–100 kb from its TSS that are nearer to
  its TSS than to any other gene's (a GREAT-like nearest-gene assignment, so that an active neighbour's
  enhancers are not counted as this gene's): the bigWig's excess over the chromosome's mean + 2 sd (in sd·kb),
  the peaks' summed signalValue and their number (``assigned_n``);
- ``dom100k``: a repressive mark's mean z (bigWig) or peak coverage (BED) over the TSS ± 50 kb;
- ``nb_prom_<assay>``: the mean promoter signal of the two nearest genes on each side within 500 kb (genes of
  one domain are co-regulated), and ``nb_tss_density``: other TSSs within ± 100 kb.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epigex.ingest.peak_stats import merge_intervals
from epigex.ingest.signal_chunks import ChunkedSignal
from epigex.ingest.signal_stats import PrefixIntegral, track_sums, value_density
from epigex.store.types import F64, I64, Mask

DISTAL_ASSAYS = ("DNase", "H3K27ac", "H3K4me1")
DOMAIN_ASSAYS = ("H3K27me3", "H3K9me3")
NEIGHBOUR_ASSAYS = ("H3K4me3", "H3K27ac", "DNase")
NEIGHBOUR_WINDOW = "prom1k"  # the window whose mean stands for a neighbouring gene's promoter
SUB_EDGES: tuple[int, ...] = (5_000, 7_000, 10_000, 14_000, 20_000, 28_000, 35_000, 50_000, 70_000, 100_000)
RINGS: tuple[tuple[str, int, int], ...] = (("20k", 5_000, 20_000), ("50k", 20_000, 50_000), ("100k", 50_000, 100_000))
RING_WINDOWS: tuple[str, ...] = tuple(f"r{side}{name}" for side in ("up", "dn") for name, _, _ in RINGS)
CONTACT_SCALE = 5_000.0
DOMAIN_HALF = 50_000
DOMAIN_WINDOW = "dom100k"
NEIGHBOURS_PER_SIDE = 2
NEIGHBOUR_REACH = 500_000
DENSITY_REACH = 100_000
ASSIGN_MIN, ASSIGN_MAX = 2_000, 100_000
HOT_Z = 2.0  # bigWig bases above the chromosome's mean + HOT_Z sd count towards ``assigned``
MAX_PAIRS = 2_000_000  # peak-gene pairs held at once when finding the strongest distal element

_EDGES = np.asarray(SUB_EDGES, dtype=np.int64)
_MID = np.sqrt(_EDGES[:-1] * _EDGES[1:].astype(np.float64))
CONTACT = CONTACT_SCALE / _MID  # per sub-ring


def contact(distance: F64) -> F64:
    """ABC-like contact of an element at ``distance`` bp: 1 up to 5 kb, then 5 kb / distance."""
    return CONTACT_SCALE / np.maximum(np.abs(distance), CONTACT_SCALE)


def _sides(tss: I64, minus: Mask) -> tuple[I64, I64]:
    """Positions ``tss ∓ edge`` upstream and ``tss ± edge`` downstream (genes × edges), in transcription terms."""
    sign = np.where(minus, -1, 1).astype(np.int64)[:, None]
    up = tss[:, None] - sign * _EDGES[None, :]
    down = tss[:, None] + sign * _EDGES[None, :]
    return up.astype(np.int64), down.astype(np.int64)


def _between(at: F64, pos: I64) -> F64:
    """Integrals between consecutive edges (genes × sub-rings), whichever way the positions run."""
    d = np.diff(at, axis=1)
    flip = pos[:, -1] < pos[:, 0]
    d[flip] *= -1.0
    return d


def ring_positions(tss: I64, minus: Mask, chrom_len: int) -> I64:
    """The sub-ring edges of each gene, clipped to the chromosome: an array (2 sides, genes, edges)."""
    return np.clip(np.stack(_sides(tss, minus)), 0, chrom_len)


def rings_from(at_len: F64, at_mass: F64, positions: I64) -> F64:
    """Covered bases and signal mass per sub-ring and side from integrals at :func:`ring_positions`: an array
    (2 sides, 2 sums, genes, sub-rings)."""
    out = np.empty((2, 2, positions.shape[1], _EDGES.size - 1))
    for s in range(2):
        out[s, 0] = _between(at_len[s], positions[s])
        out[s, 1] = _between(at_mass[s], positions[s])
    return out


def signal_rings(starts: I64, ends: I64, y: F64, tss: I64, minus: Mask, chrom_len: int) -> F64:
    """Covered bases and signal mass per sub-ring and side: an array (2 sides, 2 sums, genes, sub-rings).

    ``y`` is the (non-negative, log1p) value of each interval; positions are clipped to the chromosome, so a
    sub-ring past its end has no bases.
    """
    p = ring_positions(tss, minus, chrom_len)
    at = ChunkedSignal.whole(starts, ends, y).integrals(p.ravel(), [None, value_density]).reshape(2, *p.shape)
    return rings_from(at[0], at[1], p)


def own_domains(tss: I64) -> tuple[I64, I64, I64, I64]:
    """Each gene's distal domain as two half-open ranges ``[lo1, hi1)`` (genomic left) and ``[lo2, hi2)`` (right).

    A base belongs to the gene whose TSS is nearest (ties go to the right-hand gene) and lies 2–100 kb from it;
    genes sharing a TSS position share its domain. Empty ranges have ``hi == lo``.
    """
    n = tss.size
    order = np.argsort(tss, kind="stable")
    t = tss[order]
    uniq, inv = np.unique(t, return_inverse=True)
    mids = (uniq[:-1] + uniq[1:] + 1) // 2
    left = np.concatenate([[np.iinfo(np.int64).min // 2], mids])[inv]
    right = np.concatenate([mids, [np.iinfo(np.int64).max // 2]])[inv]
    lo1 = np.maximum(left, t - ASSIGN_MAX)
    hi1 = np.maximum(t - ASSIGN_MIN + 1, lo1)
    lo2 = t + ASSIGN_MIN
    hi2 = np.maximum(np.minimum(right, t + ASSIGN_MAX + 1), lo2)
    out = [np.empty(n, np.int64) for _ in range(4)]
    for arr, v in zip(out, (lo1, hi1, lo2, hi2), strict=True):
        arr[order] = v
    return out[0], out[1], out[2], out[3]


@dataclass(frozen=True)
class HotExcess:
    """The density ``max(y - threshold, 0)``: the signal above a chromosome's mean + ``HOT_Z`` sd."""

    threshold: float

    def __call__(self, y: F64) -> F64:
        return np.maximum(y - self.threshold, 0.0)


def assigned_positions(tss: I64, chrom_len: int) -> I64:
    """The bounds of each gene's own distal domain, clipped: an array (4, genes) of ``lo1, hi1, lo2, hi2``."""
    return np.clip(np.stack(own_domains(tss)), 0, chrom_len)


def assigned_from(at_hot: F64, sd: float) -> F64:
    """``assigned`` in sd·kb from the integrals of :class:`HotExcess` at :func:`assigned_positions`."""
    return np.asarray((at_hot[1] - at_hot[0] + at_hot[3] - at_hot[2]) / sd / 1000.0)


def hot_usable(mu: float, sd: float) -> bool:
    """Whether a chromosome's moments define a threshold (else ``assigned`` is 0 for its genes)."""
    return bool(np.isfinite(mu) and np.isfinite(sd) and sd > 0)


def signal_assigned(
    starts: I64,
    ends: I64,
    y: F64,
    tss: I64,
    chrom_len: int,
    moments: tuple[float, float] | None = None,
) -> F64:
    """Excess of ``y`` over the chromosome's mean + ``HOT_Z`` sd in each gene's own distal domain, in sd·kb.

    The mean and sd are the chromosome's own (base-weighted over covered bases); ``moments`` gives them when the
    caller has them already.
    """
    if moments is None:
        sums = track_sums(starts, ends, y)
        moments = (sums.mean, sums.std)
    mu, sd = moments
    if not hot_usable(mu, sd):
        return np.zeros(tss.size)
    p = assigned_positions(tss, chrom_len)
    at = ChunkedSignal.whole(starts, ends, y).integrals(p.ravel(), [HotExcess(mu + HOT_Z * sd)])
    return assigned_from(at[0].reshape(p.shape), sd)


def domain_positions(tss: I64, chrom_len: int) -> I64:
    """TSS ± 50 kb, clipped: an array (2, genes)."""
    return np.clip(np.stack([tss - DOMAIN_HALF, tss + DOMAIN_HALF]), 0, chrom_len)


def domain_from(at_len: F64, at_mass: F64) -> F64:
    """Covered bases and signal mass over TSS ± 50 kb from integrals at :func:`domain_positions`: (2, genes)."""
    return np.stack([at_len[1] - at_len[0], at_mass[1] - at_mass[0]])


def signal_domain(starts: I64, ends: I64, y: F64, tss: I64, chrom_len: int) -> F64:
    """Covered bases and signal mass over TSS ± 50 kb: an array (2 sums, genes)."""
    p = domain_positions(tss, chrom_len)
    at = ChunkedSignal.whole(starts, ends, y).integrals(p.ravel(), [None, value_density]).reshape(2, *p.shape)
    return domain_from(at[0], at[1])


def signal_features(rings: F64, mu: float, sd: float) -> dict[str, F64]:
    """Ring mean z-scores and the contact-weighted enrichment (z·kb) from :func:`signal_rings`'s sums."""
    out: dict[str, F64] = {}
    cov, mass = rings[:, 0], rings[:, 1]  # (sides, genes, sub-rings)
    excess = (mass - mu * cov) / sd  # z summed over covered bases
    with np.errstate(invalid="ignore", divide="ignore"):
        for s, side in enumerate(("up", "dn")):
            for name, lo, hi in RINGS:
                k = slice(SUB_EDGES.index(lo), SUB_EDGES.index(hi))
                c = cov[s, :, k].sum(axis=1)
                m = mass[s, :, k].sum(axis=1)
                out[f"r{side}{name}"] = np.where(c > 0.5, (m / np.where(c > 0.5, c, 1.0) - mu) / sd, np.nan)
    out["abc"] = (excess * CONTACT[None, None, :]).sum(axis=(0, 2)) / 1000.0
    return out


def domain_mean(dom: F64, mu: float, sd: float) -> F64:
    """Mean z over TSS ± 50 kb from :func:`signal_domain`'s sums (NaN without a covered base)."""
    cov, mass = dom
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cov > 0.5, (mass / np.where(cov > 0.5, cov, 1.0) - mu) / sd, np.nan)


def peak_features(starts: I64, ends: I64, signal: F64, tss: I64, minus: Mask) -> dict[str, F64]:
    """Ring peak counts, the contact-weighted peak signal and the strongest distal peak of each gene.

    A peak belongs where its centre lies; a peak without a signalValue counts 1. ``top_score`` is 0 and
    ``top_dist`` NaN where no peak centre lies 5–100 kb from the TSS.
    """
    n = tss.size
    centre = (starts + ends) // 2
    w = np.where(np.isfinite(signal) & (signal > 0), signal, 1.0) if signal.size else np.zeros(0)
    order = np.argsort(centre, kind="stable")
    c, w = centre[order], w[order]
    cum_w = np.concatenate([[0.0], np.cumsum(w)])
    out: dict[str, F64] = {}
    abc = np.zeros(n)
    for side, pos in zip(("up", "dn"), _sides(tss, minus), strict=True):
        # Peaks with a centre in [lo, hi) of each sub-ring, in genomic order whichever side the ring lies.
        lo_pos = np.minimum(pos[:, :-1], pos[:, 1:]) + (pos[:, 1:] < pos[:, :-1])
        hi_pos = np.maximum(pos[:, :-1], pos[:, 1:]) + (pos[:, 1:] < pos[:, :-1])
        lo = np.searchsorted(c, lo_pos.ravel(), side="left").reshape(lo_pos.shape)
        hi = np.searchsorted(c, hi_pos.ravel(), side="left").reshape(hi_pos.shape)
        count = (hi - lo).astype(np.float64)
        abc += ((cum_w[hi] - cum_w[lo]) * CONTACT[None, :]).sum(axis=1)
        for name, a, b in RINGS:
            k = slice(SUB_EDGES.index(a), SUB_EDGES.index(b))
            out[f"r{side}{name}"] = count[:, k].sum(axis=1)
    out["abc"] = abc
    out["top_score"], out["top_dist"] = _strongest(c, w, tss, minus)
    lo1, hi1, lo2, hi2 = own_domains(tss)
    at = np.searchsorted(c, np.concatenate([lo1, hi1, lo2, hi2]), side="left").reshape(4, -1)
    out["assigned"] = cum_w[at[1]] - cum_w[at[0]] + cum_w[at[3]] - cum_w[at[2]]
    out["assigned_n"] = (at[1] - at[0] + at[3] - at[2]).astype(np.float64)
    return out


def _strongest(c: I64, w: F64, tss: I64, minus: Mask) -> tuple[F64, F64]:
    """Best ``w × contact`` among peak centres 5–100 kb from each TSS, and its signed distance (+ downstream)."""
    n = tss.size
    score = np.zeros(n)
    dist = np.full(n, np.nan)
    if c.size == 0:
        return score, dist
    lo = np.searchsorted(c, tss - SUB_EDGES[-1], side="left")
    hi = np.searchsorted(c, tss + SUB_EDGES[-1], side="right")
    counts = hi - lo
    cum = np.cumsum(counts)
    start = 0
    while start < n:  # genes in chunks, so that the peak-gene pairs held at once stay bounded
        base = cum[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(cum, base + MAX_PAIRS, side="right")))
        g = np.arange(start, min(stop, n))
        k = counts[g]
        gene = np.repeat(g, k)
        offs = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
        peak = np.repeat(lo[g], k) + offs
        d = (c[peak] - tss[gene]).astype(np.float64)
        d = np.where(minus[gene], -d, d)
        distal = (np.abs(d) >= SUB_EDGES[0]) & (np.abs(d) <= SUB_EDGES[-1])
        s = np.where(distal, w[peak] * contact(d), -1.0)
        if s.size:
            # The best pair of each gene: sort by gene, then by score descending (ties: the nearer, then upstream).
            o = np.lexsort((d, np.abs(d), -s, gene))
            first = np.ones(o.size, dtype=bool)
            first[1:] = gene[o][1:] != gene[o][:-1]
            best = o[first]
            ok = s[best] > 0
            score[gene[best][ok]] = s[best][ok]
            dist[gene[best][ok]] = d[best][ok]
        start = int(g[-1]) + 1
    return score, dist


def peak_domain_cov(starts: I64, ends: I64, tss: I64, chrom_len: int | None) -> F64:
    """Fraction of TSS ± 50 kb inside a (merged) peak region, over the part of that window on the chromosome."""
    lo = np.maximum(tss - DOMAIN_HALF, 0)
    hi = tss + DOMAIN_HALF if chrom_len is None else np.minimum(tss + DOMAIN_HALF, chrom_len)
    width = np.maximum(hi - lo, 1).astype(np.float64)
    if starts.size == 0:
        return np.zeros(tss.size)
    m_start, m_end = merge_intervals(starts, ends)
    pi = PrefixIntegral(m_start, m_end)
    cum = pi.cumulative()
    covered = pi.at(cum, None, pi.locate(hi)) - pi.at(cum, None, pi.locate(lo))
    return np.asarray(covered / width)


def neighbour_features(chrom_code: I64, tss: I64, promoter: dict[str, F64]) -> dict[str, F64]:
    """Neighbouring promoters' mean signal per assay (``nb_prom_<assay>``) and the TSS density (``nb_tss_density``).

    Neighbours are the ``NEIGHBOURS_PER_SIDE`` nearest other genes on each side in genomic order on the same
    chromosome, within 500 kb; genes without signal there are skipped (NaN where none is left).
    """
    n = tss.size
    order = np.lexsort((tss, chrom_code))
    ch, t = chrom_code[order], tss[order]
    out: dict[str, F64] = {}
    density = np.zeros(n)
    # TSS density: other genes' TSSs within ± 100 kb on the same chromosome (sorted by (chrom, tss)).
    key = ch.astype(np.float64) * 1e10 + t
    lo = np.searchsorted(key, key - DENSITY_REACH, side="left")
    hi = np.searchsorted(key, key + DENSITY_REACH, side="right")
    density[order] = (hi - lo - 1).astype(np.float64)
    out["nb_tss_density"] = density
    shifts = [s for k in range(1, NEIGHBOURS_PER_SIDE + 1) for s in (-k, k)]
    for assay, values in promoter.items():
        v = values[order]
        total = np.zeros(n)
        count = np.zeros(n)
        for s in shifts:
            j = np.arange(n) + s
            inside = (j >= 0) & (j < n)
            jj = np.clip(j, 0, n - 1)
            ok = inside & (ch[jj] == ch) & (np.abs(t[jj] - t) <= NEIGHBOUR_REACH) & np.isfinite(v[jj])
            total += np.where(ok, v[jj], 0.0)
            count += ok
        res = np.full(n, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            res[order] = np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)
        out[f"nb_prom_{assay}"] = res
    return out
