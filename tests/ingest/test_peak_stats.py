"""Peak statistics: exact values and a brute-force per-base check under Hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epigex.ingest.peak_stats import merge_intervals, nearest_peak, window_peak_stats


def a(*xs: int) -> np.ndarray:
    return np.array(xs, dtype=np.int64)


def test_window_counts_coverage_and_maxima() -> None:
    # Two overlapping peaks and one apart; signal of the third missing (-1 read as NaN).
    s = window_peak_stats(
        a(100, 150, 400),
        a(200, 250, 500),
        np.array([2.0, 7.0, np.nan]),
        np.array([1.0, 0.5, 9.0]),
        a(0, 180, 260, 300),
        a(1000, 260, 400, 300),
    )
    np.testing.assert_array_equal(s["n_peaks"][:3], [3, 2, 0])
    np.testing.assert_array_equal(s["has_peak"][:3], [1, 1, 0])
    assert s["cov"][0] == pytest.approx(250 / 1000)  # merged 100-250 and 400-500
    assert s["cov"][1] == pytest.approx(70 / 80)
    assert s["max_signal"][0] == 7.0
    assert s["max_q"][0] == 9.0
    assert np.isnan(s["max_signal"][2])
    assert s["density"][0] == pytest.approx(3.0)
    assert np.isnan(s["n_peaks"][3])  # empty window


def test_merge_intervals() -> None:
    ms, me = merge_intervals(a(50, 0, 10, 100), a(60, 20, 30, 101))
    np.testing.assert_array_equal(ms, [0, 50, 100])
    np.testing.assert_array_equal(me, [30, 60, 101])


def test_nearest_peak_is_signed_by_strand() -> None:
    starts, ends = a(100, 1000), a(200, 1100)
    tss = a(150, 500, 500, 50)
    minus = np.array([False, False, True, True])
    near = nearest_peak(starts, ends, tss, minus)
    # inside; + strand: left peak ends at 199 -> 301 upstream vs 500 downstream; - strand: same peak is downstream
    np.testing.assert_array_equal(near["nearest_dist"], [0, -301, 301, -50])
    np.testing.assert_array_equal(near["nearest_width"], [100, 100, 100, 100])


def test_no_peaks_gives_missing_distance() -> None:
    near = nearest_peak(a(), a(), a(5), np.array([False]))
    assert np.isnan(near["nearest_dist"]).all()


@st.composite
def peaks_and_windows(draw):
    n = draw(st.integers(0, 15))
    starts = [draw(st.integers(0, 250)) for _ in range(n)]
    ends = [s + draw(st.integers(1, 60)) for s in starts]
    sig = [draw(st.floats(0, 100, allow_nan=False)) for _ in range(n)]
    m = draw(st.integers(1, 10))
    ws = [draw(st.integers(0, 300)) for _ in range(m)]
    we = [w + draw(st.integers(0, 100)) for w in ws]
    return (
        np.array(starts, np.int64),
        np.array(ends, np.int64),
        np.array(sig),
        np.array(ws, np.int64),
        np.array(we, np.int64),
    )


@settings(max_examples=300, deadline=None)
@given(peaks_and_windows())
def test_peak_stats_match_brute_force(case) -> None:
    starts, ends, sig, ws, we = case
    got = window_peak_stats(starts, ends, sig, sig, ws, we)
    dense = np.zeros(500, dtype=bool)
    for s, e in zip(starts, ends, strict=True):
        dense[s:e] = True
    for i, (x, y) in enumerate(zip(ws, we, strict=True)):
        if y == x:
            assert np.isnan(got["n_peaks"][i])
            continue
        hits = [j for j in range(starts.size) if starts[j] < y and ends[j] > x]
        assert got["n_peaks"][i] == len(hits)
        assert got["cov"][i] == pytest.approx(dense[x:y].mean())
        if hits:
            assert got["max_signal"][i] == max(sig[j] for j in hits)
        else:
            assert np.isnan(got["max_signal"][i])


@settings(max_examples=200, deadline=None)
@given(peaks_and_windows(), st.integers(0, 320), st.booleans())
def test_nearest_matches_brute_force(case, tss, minus) -> None:
    starts, ends = case[0], case[1]
    got = nearest_peak(starts, ends, np.array([tss], np.int64), np.array([minus]))["nearest_dist"][0]
    if starts.size == 0:
        assert np.isnan(got)
        return
    covered = np.zeros(500, dtype=bool)
    for s, e in zip(starts, ends, strict=True):
        covered[s:e] = True
    pos = np.flatnonzero(covered)
    d = pos - tss
    best = np.abs(d).min()
    cands = d[np.abs(d) == best] * (-1 if minus else 1)
    assert got == cands.max()  # ties go downstream
