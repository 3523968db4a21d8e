"""Window statistics of called peaks (BED / narrowPeak), vectorised over all windows of a chromosome.

Pure computation, no I/O. Peaks may overlap each other; coverage and distances use the merged peak regions,
counts and maxima use the peaks themselves (overlaps found with an NCLS interval index).
"""

from __future__ import annotations

import numpy as np
from ncls import NCLS

from epigex.ingest.signal_stats import PrefixIntegral
from epigex.store.types import F64, I64, Mask

PEAK_STATS = ("has_peak", "n_peaks", "density", "cov", "max_signal", "max_q")
NEAREST_STATS = ("nearest_dist", "nearest_width")


def merge_intervals(starts: I64, ends: I64) -> tuple[I64, I64]:
    """Merge overlapping or touching intervals; returns sorted, disjoint ``(starts, ends)``."""
    if starts.size == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    new = np.ones(s.size, dtype=bool)
    new[1:] = s[1:] > reach[:-1]
    group = np.cumsum(new) - 1
    m_start = s[new]
    m_end = np.zeros(m_start.size, dtype=np.int64)
    np.maximum.at(m_end, group, e)
    return m_start, m_end


def window_peak_stats(starts: I64, ends: I64, signal: F64, qvalue: F64, win_start: I64, win_end: I64) -> dict[str, F64]:
    """Peak statistics per window ``[win_start, win_end)``.

    Returns ``has_peak`` (0/1), ``n_peaks`` (peaks overlapping the window), ``density`` (peaks per kb),
    ``cov`` (fraction of the window's bases inside a peak), ``max_signal`` and ``max_q`` (the strongest
    signalValue and best qValue among overlapping peaks; NaN where none or not given). Empty windows are NaN.
    """
    n = win_start.size
    width = (win_end - win_start).astype(np.float64)
    valid = width > 0
    count = np.zeros(n)
    max_signal = np.full(n, np.nan)
    max_q = np.full(n, np.nan)
    cov = np.zeros(n)
    if starts.size:
        index = NCLS(starts, ends, np.arange(starts.size, dtype=np.int64))
        w_idx, p_idx = index.all_overlaps_both(win_start, win_end, np.arange(n, dtype=np.int64))
        count = np.bincount(w_idx, minlength=n).astype(np.float64)
        np.fmax.at(max_signal, w_idx, signal[p_idx])
        np.fmax.at(max_q, w_idx, qvalue[p_idx])
        m_start, m_end = merge_intervals(starts, ends)
        pi = PrefixIntegral(m_start, m_end)
        cum = pi.cumulative()
        cov = pi.at(cum, None, pi.locate(win_end)) - pi.at(cum, None, pi.locate(win_start))
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(valid, width, 1.0)
        return {
            "has_peak": np.where(valid, (count > 0).astype(np.float64), np.nan),
            "n_peaks": np.where(valid, count, np.nan),
            "density": np.where(valid, count / safe * 1000.0, np.nan),
            "cov": np.where(valid, cov / safe, np.nan),
            "max_signal": np.where(valid, max_signal, np.nan),
            "max_q": np.where(valid, max_q, np.nan),
        }


def nearest_peak(starts: I64, ends: I64, tss: I64, minus: Mask) -> dict[str, F64]:
    """Signed distance from each TSS base to the nearest peak region, and that region's width.

    The distance is 0 when the TSS lies in a peak, positive when the nearest peak is downstream (in the gene's
    transcription direction), negative upstream; ties go downstream. NaN when the chromosome has no peak.
    """
    n = tss.size
    if starts.size == 0:
        return {"nearest_dist": np.full(n, np.nan), "nearest_width": np.full(n, np.nan)}
    m_start, m_end = merge_intervals(starts, ends)
    k = np.searchsorted(m_end, tss, side="right")  # first region ending after the TSS base
    kk = np.minimum(k, m_start.size - 1)
    inside = (k < m_start.size) & (m_start[kk] <= tss)
    right = np.where(k < m_start.size, m_start[kk] - tss, np.iinfo(np.int64).max).astype(np.float64)
    prev = np.maximum(k - 1, 0)
    left = np.where(k > 0, tss - (m_end[prev] - 1), np.iinfo(np.int64).max).astype(np.float64)
    # Genomic direction: +right / -left; flipped for minus-strand genes.
    downstream_is_right = ~minus
    take_right = np.where(downstream_is_right, right <= left, right < left)
    genomic = np.where(take_right, right, -left)
    chosen = np.where(take_right, kk, prev)
    dist = np.where(inside, 0.0, np.where(minus, -genomic, genomic))
    chosen = np.where(inside, kk, chosen)
    width = (m_end[chosen] - m_start[chosen]).astype(np.float64)
    return {"nearest_dist": dist, "nearest_width": width}
