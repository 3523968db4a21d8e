"""The demo's simulated chromatin: promoter and body pieces placed by hand, gaps, genome-wide calibration, peaks."""

from __future__ import annotations

import numpy as np
import pytest

from epigex.demo.signal import (
    BIN,
    OFFSETS,
    ChromSignal,
    GeneArrays,
    _covered,
    _gaps,
    _gene_pieces,
    _shape,
    call_peaks,
    promoter_state,
    simulate_track,
)
from epigex.store.genome import HG38_SIZES


def genes(*rows: tuple[str, int, int, int, str]) -> GeneArrays:
    """Genes from ``(chrom, gene_start, gene_end, tss, strand)``."""
    return GeneArrays(
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array([r[2] for r in rows], dtype=np.int64),
        np.array([r[3] for r in rows], dtype=np.int64),
        np.array([r[4] == "-" for r in rows]),
    )


PLUS = ("chr1", 100_000, 150_000, 100_000, "+")
MINUS = ("chr1", 200_000, 260_000, 259_999, "-")


def test_promoter_state_shapes_and_spread() -> None:
    s = promoter_state(20_000, np.random.default_rng(0))
    assert s.score.shape == (20_000,)
    assert s.log_amp.shape == (20_000,)
    assert float(s.score.std()) == pytest.approx(0.3, abs=0.01)
    assert float(s.log_amp.std()) == pytest.approx(0.45, abs=0.01)


def test_shapes_peak_at_one_where_their_bumps_are() -> None:
    mid = OFFSETS + BIN / 2
    k4 = _shape("H3K4me3")
    # the bump's centre, 300, is the edge between the bins centred at 250 and 350: both are the maximum
    assert k4[mid == 250.0][0] == 1.0
    assert k4[mid == 350.0][0] == 1.0
    assert int((k4 == 1.0).sum()) == 2
    k4me1 = _shape("H3K4me1")
    np.testing.assert_allclose(k4me1, k4me1[::-1])  # two bumps at ±1500: symmetric
    assert abs(abs(mid[np.argmax(k4me1)]) - 1500.0) == 50.0  # a bin beside the bump's centre at ±1500
    assert k4me1[np.abs(mid) < 100].max() < 0.1  # little at the TSS itself
    np.testing.assert_array_equal(_shape("H3K9me3"), np.zeros(OFFSETS.size))  # no promoter shape


def test_promoter_pieces_follow_the_strand() -> None:
    g = genes(PLUS, MINUS)
    chrom, s, e, v = _gene_pieces(g, np.array([1.0, 1.0]), "H3K4me3", None, np.random.default_rng(1))
    assert set(chrom.tolist()) == {"chr1"}
    np.testing.assert_array_equal(e - s, BIN)
    prof = _shape("H3K4me3")
    for tss, minus in ((100_000, False), (259_999, True)):
        near = np.abs(s - tss) <= 3000
        starts, vals = s[near], v[near]
        # the + gene's bins start at TSS + offset; the − gene's are mirrored: TSS - offset - BIN
        expected = tss - OFFSETS - BIN if minus else tss + OFFSETS
        keep = vals.max() * prof > 1e-3  # the amplitude times the shape; tiny tails are dropped
        np.testing.assert_array_equal(np.sort(starts), np.sort(expected[keep]))
        top = np.sort(starts[np.argsort(vals)[-2:]])
        # the two highest bins meet 300 bp into the gene: [TSS + 200, TSS + 400) on +, mirrored on −
        assert top.tolist() == ([tss - 400, tss - 300] if minus else [tss + 200, tss + 300])
        # one amplitude per gene times the shape
        order = np.argsort(starts)[::-1] if minus else np.argsort(starts)
        np.testing.assert_allclose(vals[order] / vals.max(), prof[keep])


def test_silent_genes_have_no_active_promoter() -> None:
    g = genes(PLUS, MINUS)
    for assay in ("DNase", "H3K27ac", "H3K4me1", "H3K36me3"):
        chrom, _, _, _ = _gene_pieces(g, np.zeros(2), assay, None, np.random.default_rng(2))
        assert chrom.size == 0, assay


def test_gene_body_h3k36me3_rises_towards_the_3_prime_end() -> None:
    g = genes(("chr1", 1000, 1803, 1000, "+"), ("chr2", 5000, 5800, 5799, "-"))
    chrom, s, e, v = _gene_pieces(g, np.array([1.0, 0.5]), "H3K36me3", None, np.random.default_rng(3))
    k = np.arange(8)
    ramp = 0.4 + 0.6 * (k + 0.5) / 8
    plus, minus = chrom == "chr1", chrom == "chr2"
    np.testing.assert_array_equal(s[plus], 1000 + (803 * k) // 8)
    np.testing.assert_array_equal(e[plus], 1000 + (803 * (k + 1)) // 8)
    np.testing.assert_array_equal(s[minus], 5000 + 100 * k)
    np.testing.assert_allclose(v[plus] / v[plus].max(), ramp / ramp.max())
    np.testing.assert_allclose(v[minus] / v[minus].max(), ramp[::-1] / ramp.max())


def test_repressive_domains_cover_silent_genes_only() -> None:
    rows = [("chr3", 100_000 * i, 100_000 * i + 20_000, 100_000 * i, "+") for i in range(1, 201)]
    g = genes(*rows)
    act = np.where(np.arange(200) < 100, 0.0, 0.8)  # first half silent
    for assay, pad in (("H3K27me3", 5000), ("H3K9me3", 0)):
        _, s, e, _ = _gene_pieces(g, act, assay, None, np.random.default_rng(4))
        domains = (e - s) > BIN
        gene_of = (s[domains] + pad) // 100_000 - 1
        assert bool((gene_of < 100).all())  # only silent genes
        np.testing.assert_array_equal(s[domains], g.gene_start[gene_of] - pad)
        np.testing.assert_array_equal(e[domains], g.gene_end[gene_of] + pad)
        share = domains.sum() / 100
        assert 0.3 < share < 0.7 if assay == "H3K27me3" else 0.02 < share < 0.3


@pytest.mark.parametrize(
    ("gap_s", "gap_e", "length", "cov_s", "cov_e"),
    [
        ([0, 50, 55], [10, 60, 70], 100, [10, 70], [50, 100]),
        ([55, 0, 50], [70, 10, 60], 100, [10, 70], [50, 100]),  # unsorted gaps
        ([20, 30], [80, 40], 100, [0, 80], [20, 100]),  # a gap inside another
        ([0], [100], 100, [], []),
        ([90], [100], 100, [0], [90]),
    ],
)
def test_covered_is_the_complement_of_the_gaps(
    gap_s: list[int], gap_e: list[int], length: int, cov_s: list[int], cov_e: list[int]
) -> None:
    s, e = _covered(np.array(gap_s, np.int64), np.array(gap_e, np.int64), length)
    assert s.tolist() == cov_s
    assert e.tolist() == cov_e


def test_gaps_of_small_and_large_chromosomes() -> None:
    s, e = _gaps(16_569, np.random.default_rng(5))
    assert (s.tolist(), e.tolist()) == ([0], [1000])
    s, e = _gaps(5000, np.random.default_rng(5))
    assert (s.tolist(), e.tolist()) == ([0], [500])
    n = 50_000_000
    s, e = _gaps(n, np.random.default_rng(6))
    assert s.size == 6
    assert (int(s[0]), int(e[0])) == (0, 10_000)
    assert 0.35 * n <= s[1] < 0.55 * n
    assert 500_000 <= e[1] - s[1] < 2_000_000
    assert bool((e <= n).all())
    assert bool(((e[2:] - s[2:]) >= 20_000).all())


def test_simulated_track_is_calibrated_and_well_formed() -> None:
    rows = [("chr1", 1_000_000 + 300_000 * i, 1_050_000 + 300_000 * i, 1_000_000 + 300_000 * i, "+") for i in range(30)]
    g = genes(*rows)
    act = np.where(np.arange(30) < 20, 1.0, 0.0)
    out = simulate_track(g, act, "H3K4me3", 0.5, 0.6, None, np.random.default_rng(7))
    assert list(out) == list(HG38_SIZES)
    n = s1 = s2 = 0.0
    for chrom, sig in out.items():
        assert bool((sig.ends > sig.starts).all())
        assert bool((sig.starts[1:] >= sig.ends[:-1]).all())  # sorted, no overlaps
        assert int(sig.starts[0]) >= (1000 if chrom == "chrM" else 10_000)  # the first bases have no data
        assert int(sig.ends[-1]) <= HG38_SIZES[chrom]
        assert bool((sig.y >= 0).all())
        w = (sig.ends - sig.starts).astype(float)
        n, s1, s2 = n + w.sum(), s1 + (w * sig.y).sum(), s2 + (w * sig.y**2).sum()
    mean = s1 / n
    assert mean == pytest.approx(0.5, rel=0.02)
    assert np.sqrt(s2 / n - mean**2) == pytest.approx(0.6, rel=0.03)
    # the active promoters stand out above the genome-wide mean; the silent ones do not
    c1 = out["chr1"]

    def promoter_mean(i: int) -> float:
        at = np.searchsorted(c1.starts, 1_000_000 + 300_000 * i + 200, side="right") - 1
        return float(c1.y[at])

    assert np.mean([promoter_mean(i) for i in range(20)]) > mean + 2 * 0.6
    assert np.mean([promoter_mean(i) for i in range(20, 30)]) < mean + 2 * 0.6
    again = simulate_track(g, act, "H3K4me3", 0.5, 0.6, None, np.random.default_rng(7))
    np.testing.assert_array_equal(again["chr7"].y, out["chr7"].y)


def test_call_peaks_on_a_hand_made_signal() -> None:
    # chr1: 1000 intervals of 10 bp at 0; 20 runs of two adjacent intervals at (5 + i, 10 + i), every 50th place;
    # chr2: two high intervals separated by a gap without data (two peaks, not one).
    starts = np.arange(0, 10_000, 10, dtype=np.int64)
    y = np.zeros(starts.size)
    for i in range(20):
        y[50 * i + 10], y[50 * i + 11] = 5.0 + i, 10.0 + i
    y[50 * 19 + 10] = 0.0  # the last run is one interval
    c2s, c2e = np.array([0, 10, 30], np.int64), np.array([10, 20, 40], np.int64)
    signal = {
        "chr1": ChromSignal(starts, starts + 10, y),
        "chr2": ChromSignal(c2s, c2e, np.array([0.0, 40.0, 40.0])),
    }
    chrom, pstart, pend, sig, pval, qval, summit = call_peaks(signal, np.random.default_rng(8))
    w = np.concatenate([np.full(starts.size, 10.0), [10.0, 10.0, 10.0]])
    allv = np.concatenate([y, [0.0, 40.0, 40.0]])
    mu = float((w * allv).sum() / w.sum())
    sd = float(np.sqrt((w * allv**2).sum() / w.sum() - mu**2))
    assert 12.0 < mu + 3 * sd < 13.0  # runs 3-7 have only their higher interval above; runs 8-18 both
    expected: dict[tuple[str, int, int], float] = {("chr2", 10, 20): 40.0, ("chr2", 30, 40): 40.0}
    for i in range(20):
        top = 10.0 + i
        lo = 0.0 if i == 19 else 5.0 + i
        lo_ok, hi_ok = lo > mu + 3 * sd, top > mu + 3 * sd
        if lo_ok and hi_ok:
            expected[("chr1", 500 * i + 100, 500 * i + 120)] = top
        elif hi_ok:
            expected[("chr1", 500 * i + 110, 500 * i + 120)] = top
    got = list(zip(chrom.tolist(), pstart.tolist(), pend.tolist(), strict=True))
    assert set(got) <= set(expected)
    assert len(got) >= len(expected) - 3  # about one in twenty is missed on purpose
    ymax = np.array([expected[k] for k in got])
    np.testing.assert_allclose(sig, np.expm1(ymax) / max(np.expm1(mu), 1e-3))
    np.testing.assert_array_equal(summit, (pend - pstart) // 2)
    np.testing.assert_array_equal(qval, np.maximum(pval - 1.0, 0.0))
    z = (ymax - mu) / sd
    assert bool((np.abs(pval - (2.0 + 1.5 * z)) < 2.0).all())  # the p-value follows the height, with noise


def test_call_peaks_on_a_flat_signal_finds_none() -> None:
    flat = {"chr1": ChromSignal(np.array([0, 10], np.int64), np.array([10, 20], np.int64), np.array([1.0, 1.0]))}
    out = call_peaks(flat, np.random.default_rng(0))
    assert len(out) == 7
    assert all(a.size == 0 for a in out)
