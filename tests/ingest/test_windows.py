"""Window coordinates per gene: exact bounds on hand-placed genes, and strand/clip properties against dense masks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epigex.ingest.featureset import WindowKind, WindowSpec
from epigex.ingest.windows import GeneCoords, window_bounds

KINDS: tuple[WindowKind, ...] = ("tss_onesided", "tss_symmetric", "body", "upstream", "downstream")


def coords(*rows: tuple[int, int, int, int, str]) -> GeneCoords:
    """Genes from ``(gene_start, gene_end, tss_start, tss_end, strand)`` rows."""
    a = np.array([r[:4] for r in rows], dtype=np.int64).reshape(-1, 4)
    return GeneCoords(a[:, 0], a[:, 1], a[:, 2], a[:, 3], np.array([r[4] == "-" for r in rows], dtype=bool))


# A + gene with its TSS at its 5' (left) end, a − gene with its TSS at its 5' (right) end.
PLUS = (1000, 5000, 1000, 1050, "+")
MINUS = (6000, 9000, 8950, 9000, "-")
GENES = coords(PLUS, MINUS)


def bounds(kind: WindowKind, size: int, genes: GeneCoords = GENES, chrom_len: int | None = None) -> list[list[int]]:
    s, e = window_bounds(genes, WindowSpec("w", kind, size), chrom_len)
    return [s.tolist(), e.tolist()]


def test_tss_point_is_the_middle_base_of_the_tss_region() -> None:
    g = coords((0, 10, 100, 101, "+"), (0, 10, 100, 110, "+"), (0, 10, 100, 111, "-"), (0, 10, 7, 9, "-"))
    assert g.tss_point.tolist() == [100, 104, 105, 7]


def test_len_and_take_select_whole_genes() -> None:
    g = coords(PLUS, MINUS, (10, 20, 12, 13, "-"))
    assert len(g) == 3
    t = g.take(np.array([2, 0], dtype=np.int64))
    assert len(t) == 2
    assert t.gene_start.tolist() == [10, 1000]
    assert t.gene_end.tolist() == [20, 5000]
    assert t.tss_start.tolist() == [12, 1000]
    assert t.tss_end.tolist() == [13, 1050]
    assert t.minus.tolist() == [True, False]


@pytest.mark.parametrize(
    ("kind", "size", "expected"),
    [
        # + : [TSS_start - w, TSS_end); − : [TSS_start, TSS_end + w)
        ("tss_onesided", 100, [[900, 8950], [1050, 9100]]),
        ("tss_symmetric", 100, [[900, 8850], [1150, 9100]]),
        ("body", 0, [[1000, 6000], [5000, 9000]]),
        # upstream of the 5' end: left of the + gene, right of the − gene
        ("upstream", 500, [[500, 9000], [1000, 9500]]),
        # downstream of the 3' end: right of the + gene, left of the − gene
        ("downstream", 500, [[5000, 5500], [5500, 6000]]),
    ],
)
def test_bounds_by_hand(kind: WindowKind, size: int, expected: list[list[int]]) -> None:
    assert bounds(kind, size) == expected


def test_bounds_are_int64_arrays() -> None:
    s, e = window_bounds(GENES, WindowSpec("w", "body"))
    assert s.dtype == np.int64
    assert e.dtype == np.int64


def test_body_bounds_do_not_alias_the_gene_arrays() -> None:
    s, _ = window_bounds(GENES, WindowSpec("w", "body"))
    s[0] = -1
    assert GENES.gene_start[0] == 1000


def test_clipped_at_zero_and_at_the_chromosome_end() -> None:
    g = coords((50, 400, 50, 60, "+"), (600, 980, 970, 980, "-"))
    assert bounds("tss_symmetric", 100, g, chrom_len=1000) == [[0, 870], [160, 1000]]
    assert bounds("upstream", 100, g, chrom_len=1000) == [[0, 980], [50, 1000]]
    # without a chromosome length only the left clip applies
    assert bounds("upstream", 100, g) == [[0, 980], [50, 1080]]


def test_window_entirely_off_the_chromosome_is_empty() -> None:
    g = coords((0, 30, 0, 10, "-"), (1100, 1500, 1100, 1110, "+"))
    s, e = window_bounds(g, WindowSpec("w", "downstream", 200), 1000)
    # − gene: downstream is [gene_start - 200, gene_start) = [-200, 0), clipped away; + gene lies past the end.
    assert (e - s).tolist() == [0, 0]
    assert s[0] == 0


gene_rows = st.tuples(
    st.integers(0, 400), st.integers(1, 200), st.integers(0, 199), st.integers(1, 30), st.booleans()
).map(lambda t: (t[0], t[0] + t[1], t[0] + min(t[2], t[1] - 1), t[4], t[3]))


def make_genes(rows: list[tuple[int, int, int, bool, int]]) -> GeneCoords:
    gs = np.array([r[0] for r in rows], dtype=np.int64)
    ge = np.array([r[1] for r in rows], dtype=np.int64)
    ts = np.array([r[2] for r in rows], dtype=np.int64)
    te = ts + np.array([r[4] for r in rows], dtype=np.int64)
    return GeneCoords(gs, ge, ts, te, np.array([r[3] for r in rows], dtype=bool))


def dense(start: np.ndarray, end: np.ndarray, size: int, offset: int = 0) -> np.ndarray:
    """One boolean row per window over ``[-offset, size - offset)``."""
    pos = np.arange(size)[None, :] - offset
    return (pos >= start[:, None]) & (pos < end[:, None])


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(gene_rows, min_size=1, max_size=8), kind=st.sampled_from(KINDS), w=st.integers(1, 300))
def test_minus_strand_window_is_the_mirror_of_the_plus_strand_window(
    rows: list[tuple[int, int, int, bool, int]], kind: WindowKind, w: int
) -> None:
    length = 1200
    g = make_genes(rows)
    # Reflect every gene through the chromosome: x -> length - x, strands swapped.
    m = GeneCoords(length - g.gene_end, length - g.gene_start, length - g.tss_end, length - g.tss_start, ~g.minus)
    spec = WindowSpec("w", kind, w)
    s, e = window_bounds(g, spec, length)
    ms, me = window_bounds(m, spec, length)
    np.testing.assert_array_equal(dense(s, e, length), dense(ms, me, length)[:, ::-1])


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(gene_rows, min_size=1, max_size=8), kind=st.sampled_from(KINDS), w=st.integers(1, 300))
def test_clipping_is_the_intersection_with_the_chromosome(
    rows: list[tuple[int, int, int, bool, int]], kind: WindowKind, w: int
) -> None:
    g = make_genes(rows)
    spec = WindowSpec("w", kind, w)
    length = 500
    s, e = window_bounds(g, spec, length)
    assert bool((s >= 0).all())
    assert bool((e >= s).all())
    assert bool((e <= np.maximum(s, length)).all())
    # The unclipped window, placed on a wide canvas, cut to [0, length): the same bases.
    free_s, free_e = window_bounds(g, spec)  # left clip only
    raw_len = {
        "tss_onesided": g.tss_end - g.tss_start + w,
        "tss_symmetric": g.tss_end - g.tss_start + 2 * w,
        "body": g.gene_end - g.gene_start,
        "upstream": np.full(len(g), w),
        "downstream": np.full(len(g), w),
    }[kind]
    # Left of 0 the window lost exactly the bases below 0; otherwise it has its full size.
    np.testing.assert_array_equal(free_e - free_s, np.minimum(raw_len, np.maximum(free_e, 0)))
    canvas = 2000
    want = dense(free_s, free_e, canvas)[:, :length]
    np.testing.assert_array_equal(dense(s, e, length), want)
