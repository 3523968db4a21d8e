"""Chromosome folds: every training chromosome held out once, inner validation disjoint from it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from epigex.models.folds import balanced_groups, chrom_sort_key, outer_folds


def test_chrom_order() -> None:
    names = ["chrX", "chr10", "chr2", "chr1", "chrM", "chr22", "chrUn_x"]
    assert sorted(names, key=chrom_sort_key) == ["chr1", "chr2", "chr10", "chr22", "chrX", "chrM", "chrUn_x"]


def test_balanced_groups_cover_and_balance() -> None:
    chroms = np.array(["chr1"] * 10 + ["chr2"] * 6 + ["chr3"] * 5 + ["chr4"] * 4 + ["chr5"] * 1)
    g = balanced_groups(chroms, 2)
    assert set(g) == {"chr1", "chr2", "chr3", "chr4", "chr5"}
    loads = [sum(int((chroms == c).sum()) for c, k in g.items() if k == i) for i in range(2)]
    assert sorted(loads) == [12, 14]  # largest first to the lightest group: {10, 4} and {6, 5, 1}


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=1, max_value=50), min_size=2, max_size=23),
    k=st.integers(min_value=1, max_value=6),
)
def test_outer_folds_property(counts: list[int], k: int) -> None:
    chroms = np.concatenate([np.full(n, f"chr{i + 1}") for i, n in enumerate(counts)])
    folds = outer_folds(chroms, k)
    assert [f.held_out for f in folds] == [f"chr{i + 1}" for i in range(len(counts))]  # each once, in order
    for f in folds:
        assert f.inner_val, "every fold has an inner validation set"
        assert f.held_out not in f.inner_val
        assert set(f.inner_val) <= {f"chr{i + 1}" for i in range(len(counts))}
