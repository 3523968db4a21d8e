"""Expression of every demo gene in every demo cell: real course labels where they exist, invented elsewhere.

Pure computation. X1 and X2 keep their real CAGE labels on their real genes. Everything else is invented by one
documented model, a Gaussian copula over cell types:

- Each gene has a latent normal score per cell type; the scores of two cell types correlate by ``rho_between``
  (different lineages) or ``rho_within`` (the same lineage). X1 and X2 are two lineages, X3 a third one as far
  from both as they are from each other, and the simulated cells C1, C2, … take the three lineages in turn — so
  some references are closer to a cell than others, as in real panels of cell types.
- ``rho_between`` is chosen so that two simulated cell types correlate like the real X1 and X2 labels do
  (Spearman 0.78, zeros tied); ``rho_within`` so that two of one lineage correlate about 0.86.
- A score becomes a value through the pooled X1/X2 expression distribution, zeros included (a gene below the
  zero share's quantile is not expressed).
- On the labelled genes the real X1 and X2 are observed: their latent scores are imputed (a zero's score drawn
  below the threshold, given the other cell's) and every other cell type is drawn conditionally on them.
- On the course's chr1 test genes (no labels anywhere) X3's score follows the rank of X3's *real* promoter
  signal (H3K4me3 + H3K27ac + DNase at TSS ± 200 bp, from ``X3_tss_bins_real.tsv``) blended with noise, and
  every other cell type is drawn conditionally on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from epigex.store.types import F64

RHO_CHROMATIN = 0.90  # rank-space correlation between a gene's expression and its chromatin activity
RHO_TEST_SIGNAL = 0.85  # X3's test-gene expression vs its real promoter signal
TARGET_BETWEEN = 0.778  # Spearman of the real X1 and X2 labels (course files, zeros tied)
TARGET_WITHIN = 0.86  # Spearman of two cell types of one lineage
LINEAGES = {"X1": 0, "X2": 1, "X3": 2}


def lineage(cell: str, index: int) -> int:
    """The lineage of a cell: X1, X2, X3 their own; simulated cells take the three in turn."""
    return LINEAGES.get(cell, index % 3)


def _uniform(x: F64) -> F64:
    from scipy.stats import rankdata  # scipy.stats is slow to import; only demo-data needs it

    return (rankdata(x, method="average") - 0.5) / x.size


def _blend(u: F64, rho: float, rng: np.random.Generator) -> F64:
    z = rho * ndtri(u) + np.sqrt(1 - rho * rho) * rng.standard_normal(u.size)
    return np.asarray(ndtr(z))


def to_values(z: F64, pool: F64) -> F64:
    """Latent normal scores to expression values through the pooled distribution (ties at zero included)."""
    return np.quantile(pool, np.clip(ndtr(z), 0, 1), method="inverted_cdf")


def _spearman(a: F64, b: F64) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def calibrate_rho(target: float, pool: F64, seed: int = 0, n: int = 20_000) -> float:
    """The latent correlation at which two simulated cells' values have Spearman ``target`` (bisection)."""
    rng = np.random.default_rng([seed, 271828])
    e1, e2 = rng.standard_normal(n), rng.standard_normal(n)
    lo, hi = 0.0, 0.999
    for _ in range(30):
        rho = (lo + hi) / 2
        s = _spearman(to_values(e1, pool), to_values(rho * e1 + np.sqrt(1 - rho * rho) * e2, pool))
        lo, hi = (rho, hi) if s < target else (lo, rho)
    return (lo + hi) / 2


@dataclass(frozen=True)
class CellTypes:
    """The cell types' latent correlation matrix, in the order of ``cells``."""

    cells: tuple[str, ...]
    sigma: F64

    @classmethod
    def build(cls, cells: Sequence[str], rho_between: float, rho_within: float) -> CellTypes:
        lin = np.array([lineage(c, i) for i, c in enumerate(cells)])
        sigma = np.where(lin[:, None] == lin[None, :], rho_within, rho_between)
        np.fill_diagonal(sigma, 1.0)
        return cls(tuple(cells), sigma)

    def conditional(self, observed: dict[str, F64], rng: np.random.Generator) -> dict[str, F64]:
        """Scores of every other cell type drawn given the ``observed`` scores (Gaussian conditioning, per gene)."""
        o = [self.cells.index(c) for c in observed]
        u = [i for i in range(len(self.cells)) if i not in o]
        z_o = np.column_stack([observed[self.cells[i]] for i in o])
        s_oo, s_uo = self.sigma[np.ix_(o, o)], self.sigma[np.ix_(u, o)]
        coef = np.linalg.solve(s_oo, s_uo.T)  # observed × unobserved
        cov = self.sigma[np.ix_(u, u)] - s_uo @ coef
        chol = np.linalg.cholesky(cov + 1e-12 * np.eye(len(u)))
        z_u = z_o @ coef + rng.standard_normal((z_o.shape[0], len(u))) @ chol.T
        return {**observed, **{self.cells[i]: z_u[:, j] for j, i in enumerate(u)}}


def impute_scores(a: F64, b: F64, rho: float, rng: np.random.Generator, sweeps: int = 4) -> tuple[F64, F64]:
    """Latent scores of two observed cells: expressed genes by rank, a zero's score drawn below the zero share's
    threshold given the other cell's score (a few Gibbs sweeps), so that shared zeros stay correlated."""
    out = []
    for x in (a, b):
        z = ndtri(_uniform(x))
        zero = x == 0
        tau = float(ndtri(zero.mean())) if zero.any() else -np.inf
        z[zero] = tau - np.abs(rng.standard_normal(int(zero.sum())))
        out.append((z, zero, tau))
    s = np.sqrt(1 - rho * rho)
    for _ in range(sweeps):
        for k in (0, 1):
            z, zero, tau = out[k]
            other = out[1 - k][0]
            mu = rho * other[zero]
            hi = ndtr((tau - mu) / s)  # draw from the normal truncated above at tau
            z[zero] = mu + s * ndtri(np.clip(rng.random(int(zero.sum())) * hi, 1e-12, 1 - 1e-12))
    return out[0][0], out[1][0]


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
        Names of further simulated cells (``C1``…), lineages in turn.
    """
    pool = np.concatenate([real["X1"], real["X2"]])
    u_test = _blend(_uniform(test_signal), RHO_TEST_SIGNAL, rng)
    sub = np.random.default_rng(rng.integers(2**63))  # the cell-type model's own stream
    rho_b = calibrate_rho(TARGET_BETWEEN, pool)
    rho_w = calibrate_rho(TARGET_WITHIN, pool)
    types = CellTypes.build(["X1", "X2", "X3", *extra_cells], rho_b, rho_w)
    z1, z2 = impute_scores(real["X1"], real["X2"], rho_b, sub)
    lab = types.conditional({"X1": z1, "X2": z2}, sub)
    test = types.conditional({"X3": ndtri(np.clip(u_test, 1e-9, 1 - 1e-9))}, sub)
    out: dict[str, F64] = {}
    for cell in types.cells:
        lab_part = real[cell] if cell in real else to_values(lab[cell], pool)
        out[cell] = np.concatenate([lab_part, to_values(test[cell], pool)])
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
