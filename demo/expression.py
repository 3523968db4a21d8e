"""Expression of every demo gene in every demo cell: real course labels where they exist, invented elsewhere.

Pure computation. X1 and X2 keep their real CAGE labels on their real genes. Everything else is invented by
one documented model: a Gaussian copula in rank space. X3's expression on the course's chr1 test genes (which
have no labels anywhere) follows the rank of X3's *real* promoter signal (H3K4me3 + H3K27ac + DNase at TSS ±
200 bp, from ``X3_tss_bins_real.tsv``) blended with noise; on the other genes it follows the mean rank of X1 and
X2 blended with noise, so that X3 correlates with X1 and X2 about as much as they do with each other (0.78).
Ranks become values through the pooled X1/X2 expression distribution, zeros included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.special import ndtr, ndtri

from epigex.store.types import F64

RHO_CHROMATIN = 0.90  # rank-space correlation between a gene's expression and its chromatin activity
RHO_CELLS = 0.80  # rank-space correlation between an invented cell and its source


@dataclass(frozen=True)
class DemoGenes:
    """The gene universe of the demo and the coordinates each cell uses."""

    genes: pl.DataFrame  # gene_name chrom gene_start gene_end tss_start tss_end strand set(train|val|test)
    coords: dict[str, pl.DataFrame]  # cell -> same rows, the cell's own coordinates


def _uniform(x: F64) -> F64:
    from scipy.stats import rankdata  # scipy.stats is slow to import; only demo-data needs it

    return (rankdata(x, method="average") - 0.5) / x.size


def _blend(u: F64, rho: float, rng: np.random.Generator) -> F64:
    z = rho * ndtri(u) + np.sqrt(1 - rho * rho) * rng.standard_normal(u.size)
    return np.asarray(ndtr(z))


def _to_values(u: F64, pool: F64) -> F64:
    return np.quantile(pool, np.clip(u, 0, 1), method="inverted_cdf")


def invent_expression(
    real: dict[str, F64],
    test_signal: F64,
    n_labelled_genes: int,
    extra_cells: list[str],
    rng: np.random.Generator,
) -> dict[str, F64]:
    """Expression per cell over the gene universe (labelled genes first, then the test genes).

    Parameters
    ----------
    real
        ``{"X1": gex, "X2": gex}`` over the labelled genes.
    test_signal
        X3's real promoter signal over the test genes (any monotone scale).
    n_labelled_genes
        How many genes carry real labels (they come first in the universe).
    extra_cells
        Names of further simulated cells (``C1``…), invented like X3.
    """
    pool = np.concatenate([real["X1"], real["X2"]])
    u_mean = _uniform(_uniform(real["X1"]) + _uniform(real["X2"]))
    u_test = _blend(_uniform(test_signal), 0.85, rng)
    out: dict[str, F64] = {}
    for cell in ("X1", "X2"):
        test_part = _to_values(_blend(u_test, RHO_CELLS, rng), pool)
        out[cell] = np.concatenate([real[cell], test_part])
    for cell in ("X3", *extra_cells):
        lab = _to_values(_blend(u_mean, RHO_CELLS + 0.1, rng), pool)
        test_part = _to_values(u_test if cell == "X3" else _blend(u_test, RHO_CELLS, rng), pool)
        out[cell] = np.concatenate([lab, test_part])
    assert all(v.size == n_labelled_genes + test_signal.size for v in out.values())
    return out


def activity(gex: F64, rng: np.random.Generator, rho: float = RHO_CHROMATIN) -> F64:
    """Chromatin activity 0..1 of each gene: a noisy copy of its expression rank, 0 for silent chromatin.

    The latent activity is a Gaussian-copula blend (``rho``) of the gene's expression rank (zeros in random
    order) with noise, so that chromatin and CAGE disagree the way they do in real data: some genes with open,
    marked promoters have no CAGE signal, some lowly expressed genes sit in silent chromatin. The share of
    silent chromatin equals the share of zeros in ``gex``; active genes get 0.35..1 by latent rank.
    """
    n = gex.size
    from scipy.stats import rankdata  # see above

    u = (rankdata(gex + rng.random(n) * 1e-9 * (gex == 0), method="ordinal") - 0.5) / n
    latent = _blend(u, rho, rng)
    z0 = float((gex == 0).mean())
    act = np.zeros(n)
    on = latent >= z0
    if on.any():
        act[on] = 0.35 + 0.65 * _uniform(latent[on])
    return act
