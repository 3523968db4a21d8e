"""Chromosome folds: the course's train/val split, leave-one-chromosome-out, and the inner chromosome groups.

Pure computation over per-gene chromosome and split labels; a fold is a pair of boolean masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epigex.store.types import Mask, Strs


@dataclass(frozen=True)
class OuterFold:
    """One outer fold: the held-out chromosome and the inner split that picks its round count."""

    held_out: str
    inner_val: tuple[str, ...]


def chrom_sort_key(chrom: str) -> tuple[int, str]:
    """Order chromosomes as chr1, chr2, …, chr22, chrX, chrY, then the rest."""
    tail = chrom.removeprefix("chr")
    if tail.isdigit():
        return (int(tail), "")
    return (100 + ("X", "Y", "M").index(tail) if tail in ("X", "Y", "M") else 200, tail)


def balanced_groups(chroms: Strs, k: int) -> dict[str, int]:
    """Assign chromosomes to ``k`` groups of similar gene counts (largest first, to the lightest group)."""
    names, counts = np.unique(chroms, return_counts=True)
    order = sorted(range(names.size), key=lambda i: (-int(counts[i]), chrom_sort_key(str(names[i]))))
    load = [0] * max(1, min(k, names.size))
    group: dict[str, int] = {}
    for i in order:
        g = min(range(len(load)), key=lambda j: (load[j], j))
        group[str(names[i])] = g
        load[g] += int(counts[i])
    return group


def outer_folds(chroms: Strs, k_inner: int) -> list[OuterFold]:
    """Leave-one-chromosome-out folds; each validates early stopping on the next chromosome group."""
    groups = balanced_groups(chroms, k_inner)
    n_groups = max(groups.values()) + 1
    folds = []
    for c in sorted(groups, key=chrom_sort_key):
        target = (groups[c] + 1) % n_groups
        inner = tuple(sorted((x for x, g in groups.items() if g == target and x != c), key=chrom_sort_key))
        if not inner:  # a single chromosome group: validate on any other chromosome
            inner = tuple(x for x in sorted(groups, key=chrom_sort_key) if x != c)[:1]
        folds.append(OuterFold(c, inner))
    return folds


def in_chroms(chroms: Strs, names: tuple[str, ...] | list[str]) -> Mask:
    """Mask of genes on any of ``names``."""
    return np.isin(chroms, np.asarray(names, dtype=chroms.dtype if chroms.size else object))
