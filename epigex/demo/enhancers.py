"""Gene-linked enhancers of the demo: sites shared by the cells, active in a cell with its gene's activity.

Pure computation. Real enhancers sit kilobases to a hundred kilobases from the promoter they drive, are largely
shared between cell types as DNA elements, and are switched on where their gene is active (activity-by-contact,
Fulco et al. 2019). The demo mimics that:

- **sites** (one set for every cell): each gene gets a Poisson(``MEAN_SITES``) number of sites; each lies at a
  log-uniform distance of 2–100 kb from the TSS, on either side, 400–1,500 bp wide, with a strength drawn once
  (lognormal) — the element's intrinsic potency;
- **activity** (per cell): a site is active with probability ``P_BASE + P_GAIN × act²`` of its gene's latent
  activity ``act`` (0 for silent chromatin, 0.35–1 for active genes), so an active gene has more active
  enhancers; an active site's amplitude is its strength × (0.3 + act) × cell noise;
- **marks**: an active site carries H3K27ac over the element and 300 bp around it, H3K4me1 over a 1.2 kb wider
  region, and DNase accessibility at its core (the middle half), each with its own per-track noise (added in
  :mod:`demo.signal`).

A gene's enhancers therefore hold a second, independent, noisy view of its activity beside its promoter — the
information that distal features can add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epigex.store.genome import HG38_SIZES
from epigex.store.types import F64, I64, Strs

MEAN_SITES = 8.0
MIN_DIST, MAX_DIST = 2_000, 100_000
P_BASE, P_GAIN = 0.02, 0.95
# Per assay: (extra bp on each side of the element, or a negative share of the width trimmed to the core; gain).
MARKS: dict[str, tuple[float, float]] = {"H3K27ac": (300, 1.2), "H3K4me1": (1200, 1.0), "DNase": (-0.5, 0.8)}


@dataclass(frozen=True)
class EnhancerSites:
    """Enhancer sites as arrays: the gene each belongs to, its chromosome, centre, width and strength."""

    gene: I64
    chrom: Strs
    centre: I64
    width: I64
    strength: F64
    distance: I64  # signed genomic offset of the centre from the gene's TSS


@dataclass(frozen=True)
class ActiveEnhancers:
    """The sites active in one cell, with their amplitudes (log1p units before a track's own noise)."""

    chrom: Strs
    centre: I64
    width: I64
    amp: F64
    gene: I64 | None = None  # the gene each site belongs to (the simulation's truth, never in a track)


def enhancer_sites(chrom: Strs, tss: I64, rng: np.random.Generator) -> EnhancerSites:
    """Draw every gene's enhancer sites (kept only where they lie inside the chromosome)."""
    n = tss.size
    k = rng.poisson(MEAN_SITES, n)
    gene = np.repeat(np.arange(n, dtype=np.int64), k)
    dist = np.exp(rng.uniform(np.log(MIN_DIST), np.log(MAX_DIST), gene.size)).astype(np.int64)
    side = np.where(rng.random(gene.size) < 0.5, -1, 1)
    width = rng.integers(400, 1_500, gene.size)
    strength = rng.lognormal(0.0, 0.35, gene.size)
    offset = side * dist
    centre = tss[gene] + offset
    size = np.array([HG38_SIZES.get(str(c), 0) for c in chrom], dtype=np.int64)[gene]
    keep = (centre - width > 0) & (centre + width < size)
    return EnhancerSites(gene[keep], chrom[gene][keep], centre[keep], width[keep], strength[keep], offset[keep])


def activate(sites: EnhancerSites, act: F64, rng: np.random.Generator) -> ActiveEnhancers:
    """The sites active in a cell whose genes have latent activity ``act`` (0..1)."""
    a = act[sites.gene]
    on = rng.random(a.size) < P_BASE + P_GAIN * a * a
    amp = sites.strength * (0.3 + a) * rng.lognormal(0.0, 0.25, a.size)
    return ActiveEnhancers(sites.chrom[on], sites.centre[on], sites.width[on], amp[on], sites.gene[on])


def own_enhancers(enh: ActiveEnhancers, n_genes: int) -> tuple[I64, F64]:
    """Per gene, its own active sites: how many, and their summed amplitude (the oracle distal view)."""
    assert enh.gene is not None
    count = np.bincount(enh.gene, minlength=n_genes).astype(np.int64)
    amp = np.bincount(enh.gene, weights=enh.amp, minlength=n_genes).astype(np.float64)
    return count, amp


def enhancer_pieces(enh: ActiveEnhancers, assay: str, rng: np.random.Generator) -> tuple[Strs, I64, I64, F64]:
    """The ``(chrom, start, end, value)`` pieces an assay's track gets from the active enhancers (none if unmarked)."""
    if assay not in MARKS or enh.centre.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=str), empty, empty, np.zeros(0)
    pad, gain = MARKS[assay]
    half = enh.width // 2
    grow = (half * pad).astype(np.int64) if pad < 0 else np.full(half.size, int(pad), dtype=np.int64)
    start = enh.centre - half - grow
    end = enh.centre + half + grow
    value = gain * enh.amp * rng.lognormal(0.0, 0.3, enh.amp.size)
    return enh.chrom, np.maximum(start, 0), end, value
