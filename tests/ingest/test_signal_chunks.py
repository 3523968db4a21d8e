"""Chunked signal: integrals and extremes by hand, and the same answer however the chromosome is cut (Hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epigex.ingest.signal_chunks import ChunkedSignal
from epigex.ingest.signal_stats import SquaredDeviation, value_density


def arr(*xs: int) -> np.ndarray:
    return np.array(xs, dtype=np.int64)


STARTS, ENDS, Y = arr(10, 20, 40), arr(20, 30, 50), np.array([1.0, 3.0, 5.0])


@pytest.mark.parametrize("size", [1, 2, 3])
def test_integrals_by_hand(size: int) -> None:
    sig = ChunkedSignal.whole(STARTS, ENDS, Y, size=size)
    at = sig.integrals(arr(0, 10, 15, 25, 35, 45, 60), [None, value_density])
    assert at[0].tolist() == [0, 0, 5, 15, 20, 25, 30]  # bases covered below each position
    assert at[1].tolist() == [0, 0, 5, 25, 40, 65, 90]  # 10·1 + 10·3 + 10·5 in all


@pytest.mark.parametrize("size", [1, 2, 3])
def test_extremes_by_hand(size: int) -> None:
    sig = ChunkedSignal.whole(STARTS, ENDS, Y, size=size)
    lo, hi = sig.extremes(arr(0, 15, 31, 45, 0, 5), arr(12, 45, 39, 46, 10, 5))
    np.testing.assert_array_equal(lo, [1.0, 1.0, np.nan, 5.0, np.nan, np.nan])
    np.testing.assert_array_equal(hi, [1.0, 5.0, np.nan, 5.0, np.nan, np.nan])


def test_a_density_given_twice_is_the_same_row() -> None:
    sig = ChunkedSignal.whole(STARTS, ENDS, Y, size=2)
    at = sig.integrals(arr(25, 50), [value_density, None, value_density])
    assert at[0].tolist() == at[2].tolist() == [25, 90]


@st.composite
def tracks(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gaps = draw(st.lists(st.integers(0, 5), min_size=1, max_size=30))
    lengths = draw(st.lists(st.integers(1, 6), min_size=len(gaps), max_size=len(gaps)))
    starts = np.cumsum(np.array(gaps) + np.concatenate([[0], lengths[:-1]]))
    ends = starts + np.array(lengths)
    y = np.array(draw(st.lists(st.floats(0, 9, allow_nan=False), min_size=len(gaps), max_size=len(gaps))))
    return starts.astype(np.int64), ends.astype(np.int64), y


@settings(max_examples=150, deadline=None)
@given(tracks(), st.integers(1, 7), st.lists(st.tuples(st.integers(0, 260), st.integers(0, 40)), max_size=20))
def test_any_cut_gives_the_per_base_answer(
    track: tuple[np.ndarray, np.ndarray, np.ndarray], size: int, windows: list[tuple[int, int]]
) -> None:
    starts, ends, y = track
    sig = ChunkedSignal.whole(starts, ends, y, size=size)
    # per base: the value of each covered base, NaN elsewhere
    dense = np.full(300, np.nan)
    for s, e, v in zip(starts, ends, y, strict=True):
        dense[s:e] = v
    positions = arr(*(w[0] for w in windows))
    sq = SquaredDeviation(2.0)
    at = sig.integrals(positions, [None, value_density, sq])
    for j, p in enumerate(positions.tolist()):
        below = dense[:p][~np.isnan(dense[:p])]
        assert at[0, j] == pytest.approx(below.size)
        assert at[1, j] == pytest.approx(below.sum(), abs=1e-9)
        assert at[2, j] == pytest.approx(((below - 2.0) ** 2).sum(), abs=1e-9)
    lo, hi = arr(*(w[0] for w in windows)), arr(*(w[0] + w[1] for w in windows))
    vmin, vmax = sig.extremes(lo, hi)
    for j in range(lo.size):
        seen = dense[lo[j] : hi[j]][~np.isnan(dense[lo[j] : hi[j]])]
        if seen.size:
            assert (vmin[j], vmax[j]) == (seen.min(), seen.max())
        else:
            assert np.isnan(vmin[j])
            assert np.isnan(vmax[j])
