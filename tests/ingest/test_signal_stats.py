"""Window statistics: exact values on hand-made signal, and a brute-force per-base check under Hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epigex.ingest.signal_chunks import ChunkedSignal
from epigex.ingest.signal_stats import (
    ENTROPY_BINS,
    track_sums,
    window_densities,
    window_edges,
    window_stats,
    window_stats_from,
)


def arr(*xs: int) -> np.ndarray:
    return np.array(xs, dtype=np.int64)


STARTS, ENDS, VALUES = arr(10, 20, 40), arr(20, 30, 50), np.array([1.0, 3.0, 5.0])


def test_exact_values_with_a_gap_without_data() -> None:
    s = window_stats(STARTS, ENDS, VALUES, arr(15), arr(45), np.array([False]))
    # Covered: 15-20 (1), 20-30 (3), 40-45 (5); 30-40 has no data and is excluded, not zero.
    assert s["mean"][0] == pytest.approx(60 / 20)
    assert s["std"][0] == pytest.approx(np.sqrt(2.0))
    assert s["min"][0] == 1.0
    assert s["max"][0] == 5.0
    assert s["cov"][0] == pytest.approx(20 / 30)
    assert s["slope"][0] == pytest.approx(5.0 - 35 / 15)


def test_minus_strand_flips_slope_only() -> None:
    plus = window_stats(STARTS, ENDS, VALUES, arr(15), arr(45), np.array([False]))
    minus = window_stats(STARTS, ENDS, VALUES, arr(15), arr(45), np.array([True]))
    assert minus["slope"][0] == pytest.approx(-plus["slope"][0])
    for k in ("mean", "std", "min", "max", "cov", "entropy"):
        assert minus[k][0] == pytest.approx(plus[k][0])


def test_window_without_covered_base_is_missing_but_has_zero_coverage() -> None:
    s = window_stats(STARTS, ENDS, VALUES, arr(31, 0), arr(39, 0), np.array([False, False]))
    for k in ("mean", "std", "min", "max", "slope", "entropy"):
        assert np.isnan(s[k]).all()
    assert s["cov"][0] == 0.0
    assert np.isnan(s["cov"][1])  # an empty window (clipped away) has no coverage either


def test_flat_signal_has_zero_std_and_full_entropy() -> None:
    s = window_stats(arr(0), arr(1000), np.array([2.5]), arr(100), arr(300), np.array([False]))
    assert s["std"][0] == pytest.approx(0.0, abs=1e-6)
    assert s["entropy"][0] == pytest.approx(1.0)
    assert s["slope"][0] == pytest.approx(0.0)


def test_signal_in_one_sub_bin_has_zero_entropy() -> None:
    s = window_stats(arr(0, 10), arr(10, 100), np.array([4.0, 0.0]), arr(0), arr(100), np.array([False]))
    assert s["entropy"][0] == pytest.approx(0.0, abs=1e-12)


def test_track_sums_are_base_weighted() -> None:
    t = track_sums(STARTS, ENDS, VALUES)
    assert t.n_bases == 30
    assert t.mean == pytest.approx((10 + 30 + 50) / 30)
    assert t.std == pytest.approx(np.sqrt((10 + 90 + 250) / 30 - (90 / 30) ** 2))


def brute(starts, ends, values, ws, we, reverse):
    """Per-base reference: a dense array with NaN where there is no data."""
    size = int(max(ends.max(initial=0), we.max(initial=0))) + 1
    dense = np.full(size, np.nan)
    for s, e, v in zip(starts, ends, values, strict=True):
        dense[s:e] = v
    out = {k: [] for k in ("mean", "std", "min", "max", "cov", "slope", "entropy")}
    for a, b, rev in zip(ws, we, reverse, strict=True):
        seg = dense[a:b]
        cov = np.isfinite(seg)
        out["cov"].append(cov.mean() if b > a else np.nan)
        if not cov.any():
            for k in ("mean", "std", "min", "max", "slope", "entropy"):
                out[k].append(np.nan)
            continue
        vals = seg[cov]
        out["mean"].append(vals.mean())
        out["std"].append(vals.std())
        out["min"].append(vals.min())
        out["max"].append(vals.max())
        width = b - a
        edges = [a + (width * i) // ENTROPY_BINS for i in range(ENTROPY_BINS + 1)]
        mid = edges[ENTROPY_BINS // 2]
        lo, hi = dense[a:mid], dense[mid:b]
        if np.isfinite(lo).any() and np.isfinite(hi).any():
            d = np.nanmean(hi) - np.nanmean(lo)
            out["slope"].append(-d if rev else d)
        else:
            out["slope"].append(np.nan)
        mass = np.array([np.nansum(np.maximum(dense[edges[i] : edges[i + 1]], 0)) for i in range(ENTROPY_BINS)])
        if mass.sum() > 0:
            p = mass / mass.sum()
            p = p[p > 0]
            out["entropy"].append(-(p * np.log(p)).sum() / np.log(ENTROPY_BINS))
        else:
            out["entropy"].append(np.nan)
    return {k: np.array(v) for k, v in out.items()}


@st.composite
def signal_and_windows(draw):
    cuts = sorted(set(draw(st.lists(st.integers(0, 300), min_size=0, max_size=24))))
    starts, ends = [], []
    for i in range(0, len(cuts) - 1, 2):
        starts.append(cuts[i])
        ends.append(cuts[i + 1])
    value = st.one_of(st.just(0.0), st.floats(-2, 8, allow_nan=False, width=32).filter(lambda x: abs(x) > 1e-3))
    values = draw(st.lists(value, min_size=len(starts), max_size=len(starts)))
    n_win = draw(st.integers(1, 12))
    ws, we, rev = [], [], []
    for _ in range(n_win):
        a = draw(st.integers(0, 320))
        w = draw(st.integers(0, 120))
        ws.append(a)
        we.append(a + w)
        rev.append(draw(st.booleans()))
    return (
        np.array(starts, np.int64),
        np.array(ends, np.int64),
        np.array(values, np.float64),
        np.array(ws, np.int64),
        np.array(we, np.int64),
        np.array(rev),
    )


@settings(max_examples=300, deadline=None)
@given(signal_and_windows())
def test_vectorised_statistics_match_per_base_brute_force(case) -> None:
    starts, ends, values, ws, we, rev = case
    got = window_stats(starts, ends, values, ws, we, rev)
    want = brute(starts, ends, values, ws, we, rev)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-7, atol=1e-6, equal_nan=True, err_msg=k)


def test_flat_window_far_along_a_chromosome_is_exact() -> None:
    # Large prefix sums before the window make ``E[x²] - E[x]²`` round to a small non-zero number; a window of
    # one value must still report that value and no spread exactly.
    n = 20_000
    starts = np.arange(n, dtype=np.int64) * 1_000
    ends = starts + 900
    rng = np.random.default_rng(0)
    values = rng.uniform(0.0, 6.0, n)
    values[-2:] = 3.3  # two neighbouring intervals of one value, with a gap between them
    ws, we = arr(int(starts[-2]) + 10), arr(int(ends[-1]) - 10)
    s = window_stats(starts, ends, values, ws, we, np.array([False]))
    assert s["std"][0] == 0.0
    assert s["mean"][0] == 3.3
    assert s["min"][0] == s["max"][0] == 3.3
    assert s["slope"][0] == pytest.approx(0.0, abs=1e-9)


def test_near_flat_window_reports_no_spread_whatever_the_chunking() -> None:
    # Values one float32 step apart (a bigWig's own precision) far along a chromosome: their true spread (~1e-7)
    # is below the rounding of the prefix sums, so the window reports 0 — not noise that changes with chunk size.
    n = 20_000
    starts = np.arange(n, dtype=np.int64) * 1_000
    ends = starts + 900
    values = np.random.default_rng(1).uniform(0.0, 6.0, n)
    step = float(np.spacing(np.float32(3.3)))
    values[-4:] = [3.3, 3.3 + step, 3.3, 3.3 + step]
    values[-8:-4] = [3.3, 3.31, 3.3, 3.31]  # a real, small spread: std 0.005
    ws = np.array([starts[-4] + 10, starts[-8] + 10], dtype=np.int64)
    we = np.array([ends[-1] - 10, ends[-5] - 10], dtype=np.int64)
    sig = [ChunkedSignal.whole(starts, ends, values, size=size) for size in (1 << 20, 1 << 10, 7)]
    lengths = (ends - starts).astype(np.float64)
    centre = float((lengths * values).sum() / lengths.sum())
    edges = window_edges(ws, we)
    got = [
        window_stats_from(
            s.integrals(edges.ravel(), window_densities(centre, True)).reshape(4, *edges.shape),
            s.extremes(ws, we),
            ws,
            we,
            np.zeros(2, dtype=bool),
            centre,
            float((lengths * values).sum()),
        )["std"]
        for s in sig
    ]
    for g in got:
        assert g[0] == 0.0
        assert g[1] == pytest.approx(0.005, rel=1e-6)
