"""Window coordinates per gene, from a gene table and a window spec. Pure computation, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epigex.ingest.featureset import WindowSpec
from epigex.store.types import I64, Mask


@dataclass(frozen=True)
class GeneCoords:
    """Gene coordinates as arrays (0-based half-open, BED style); ``minus`` is True on the − strand."""

    gene_start: I64
    gene_end: I64
    tss_start: I64
    tss_end: I64
    minus: Mask

    def __len__(self) -> int:
        return int(self.gene_start.size)

    def take(self, idx: I64) -> GeneCoords:
        """The genes at positions ``idx``."""
        return GeneCoords(
            self.gene_start[idx], self.gene_end[idx], self.tss_start[idx], self.tss_end[idx], self.minus[idx]
        )

    @property
    def tss_point(self) -> I64:
        """One base per gene standing for its TSS: the middle of the TSS region."""
        return (self.tss_start + self.tss_end - 1) // 2


def window_bounds(genes: GeneCoords, spec: WindowSpec, chrom_len: int | None = None) -> tuple[I64, I64]:
    """Return ``(start, end)`` of the window for every gene, clipped to ``[0, chrom_len)``.

    One-sided TSS window of size w: ``[TSS_start - w, TSS_end)`` on +, ``[TSS_start, TSS_end + w)`` on −.
    Symmetric: ``[TSS_start - w, TSS_end + w)``. Upstream/downstream flanks are strand-aware.
    """
    w = spec.size
    m = genes.minus
    if spec.kind == "tss_onesided":
        start = np.where(m, genes.tss_start, genes.tss_start - w)
        end = np.where(m, genes.tss_end + w, genes.tss_end)
    elif spec.kind == "tss_symmetric":
        start, end = genes.tss_start - w, genes.tss_end + w
    elif spec.kind == "body":
        start, end = genes.gene_start.copy(), genes.gene_end.copy()
    elif spec.kind == "upstream":
        start = np.where(m, genes.gene_end, genes.gene_start - w)
        end = np.where(m, genes.gene_end + w, genes.gene_start)
    elif spec.kind == "downstream":
        start = np.where(m, genes.gene_start - w, genes.gene_end)
        end = np.where(m, genes.gene_start, genes.gene_end + w)
    else:  # pragma: no cover - guarded by the Literal type
        raise ValueError(spec.kind)
    start = np.maximum(start, 0)
    if chrom_len is not None:
        end = np.minimum(end, chrom_len)
    end = np.maximum(end, start)
    return start.astype(np.int64), end.astype(np.int64)


def named_windows(
    genes: GeneCoords, specs: list[WindowSpec], rings: tuple[tuple[str, int, int], ...], chrom_len: int | None = None
) -> list[tuple[str, I64, I64]]:
    """Every window the features read, by name: the feature set's windows and the neighbourhood's rings
    (``rings``: name, inner and outer distance from the TSS; strand-aware, ``up`` before the TSS)."""
    out = [(spec.name, *window_bounds(genes, spec, chrom_len)) for spec in specs]
    tss, m = genes.tss_point, genes.minus
    for name, lo, hi in rings:
        up = (np.where(m, tss + lo, tss - hi), np.where(m, tss + hi, tss - lo))
        dn = (np.where(m, tss - hi, tss + lo), np.where(m, tss - lo, tss + hi))
        for side, (s, e) in (("up", up), ("dn", dn)):
            s = np.maximum(s, 0)
            e = e if chrom_len is None else np.minimum(e, chrom_len)
            out.append((f"r{side}{name}", s.astype(np.int64), np.maximum(e, s).astype(np.int64)))
    return out
