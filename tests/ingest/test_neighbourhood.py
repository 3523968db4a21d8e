"""Regulatory-neighbourhood features: exact values on hand-made tracks, and sums checked against a dense array."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epigex.ingest import neighbourhood as nb
from epigex.ingest.featureset import FeatureSetDef
from epigex.ingest.neighbourhood import (
    CONTACT,
    contact,
    domain_mean,
    neighbour_features,
    peak_domain_cov,
    peak_features,
    signal_domain,
    signal_features,
    signal_rings,
)

I64 = np.int64


def _track() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Covered [0, 1 Mb): value 2 on [210,000, 215,000), 0 elsewhere."""
    return np.array([0, 210_000, 215_000], I64), np.array([210_000, 215_000, 1_000_000], I64), np.array([0.0, 2.0, 0.0])


def test_rings_and_contact_sum_by_hand() -> None:
    s, e, y = _track()
    tss = np.array([200_000, 200_000], I64)
    minus = np.array([False, True])
    f = signal_features(signal_rings(s, e, y, tss, minus, 1_000_000), mu=0.0, sd=1.0)
    # Plus strand: the block lies 10-15 kb downstream, in the 5-20 kb ring (15,000 bases).
    assert f["rdn20k"][0] == pytest.approx(2 * 5000 / 15_000)
    assert f["rup20k"][0] == 0.0
    # Minus strand: the same block is upstream.
    assert f["rup20k"][1] == pytest.approx(2 * 5000 / 15_000)
    assert f["rdn20k"][1] == 0.0
    # Sub-rings 10-14 kb (4,000 bases at 2) and 14-20 kb (1,000 bases at 2), in z·kb.
    assert f["abc"][0] == pytest.approx((8000 * CONTACT[2] + 2000 * CONTACT[3]) / 1000)
    # z-scoring: mean 1, sd 2 shifts every ring mean; the contact sum counts the excess over the mean.
    g = signal_features(signal_rings(s, e, y, tss, minus, 1_000_000), mu=1.0, sd=2.0)
    assert g["rup50k"][0] == pytest.approx(-0.5)
    assert g["rdn20k"][0] == pytest.approx((2 * 5000 / 15_000 - 1) / 2)


def test_rings_are_clipped_to_the_chromosome_and_nan_without_data() -> None:
    s, e, y = np.array([0], I64), np.array([30_000], I64), np.array([1.0])  # data on [0, 30 kb) of a 40 kb chromosome
    f = signal_features(signal_rings(s, e, y, np.array([10_000], I64), np.array([False]), 40_000), 0.0, 1.0)
    assert f["rup20k"][0] == pytest.approx(1.0)  # [-10 kb, 5 kb) clipped to [0, 5 kb)
    assert np.isnan(f["rup50k"][0])  # wholly before the chromosome start
    assert f["rdn20k"][0] == pytest.approx(1.0)  # [15 kb, 30 kb)
    assert np.isnan(f["rdn50k"][0])  # [30 kb, 40 kb): on the chromosome, without data
    assert np.isnan(f["rdn100k"][0])  # past its end


def test_domain_mean_by_hand() -> None:
    s, e, y = np.array([0, 100_000], I64), np.array([100_000, 300_000], I64), np.array([0.0, 3.0])
    dom = signal_domain(s, e, y, np.array([100_000, 20_000], I64), 300_000)
    m = domain_mean(dom, 0.0, 1.0)
    assert m[0] == pytest.approx(1.5)  # half of ±50 kb at 3
    assert m[1] == pytest.approx(0.0)  # [0, 70 kb) all at 0 (clipped at the chromosome start)


def test_peaks_by_hand() -> None:
    tss = np.array([500_000, 500_000], I64)
    minus = np.array([False, True])
    centres = np.array([508_000, 470_000, 650_000])
    starts, ends = centres - 100, centres + 100
    f = peak_features(starts, ends, np.array([4.0, 2.0, 9.0]), tss, minus)
    assert f["rdn20k"][0] == 1
    assert f["rup50k"][0] == 1
    assert f["rup20k"][0] == 0
    assert f["rdn100k"][0] == 0
    assert f["rup20k"][1] == 1
    assert f["rdn50k"][1] == 1
    assert f["abc"][0] == pytest.approx(4 * CONTACT[1] + 2 * CONTACT[5])
    assert f["top_score"][0] == pytest.approx(4 * 5000 / 8000)
    assert f["top_dist"] == pytest.approx([8000, -8000])


def test_peaks_without_signal_count_one_and_no_distal_peak_is_zero_and_nan() -> None:
    f = peak_features(
        np.array([10_000], I64), np.array([10_200], I64), np.array([np.nan]), np.array([30_000], I64), np.array([False])
    )
    assert f["top_score"][0] == pytest.approx(5000 / 19_900)
    g = peak_features(np.zeros(0, I64), np.zeros(0, I64), np.zeros(0), np.array([30_000], I64), np.array([False]))
    assert g["top_score"][0] == 0.0
    assert np.isnan(g["top_dist"][0])
    assert g["abc"][0] == 0.0


def test_strongest_is_the_same_in_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    c = np.sort(rng.integers(0, 2_000_000, 3000))
    tss = rng.integers(0, 2_000_000, 400)
    minus = rng.random(400) < 0.5
    sig = rng.lognormal(0, 1, 3000)
    whole = peak_features(c, c + 1, sig, tss, minus)
    monkeypatch.setattr(nb, "MAX_PAIRS", 50)
    chunked = peak_features(c, c + 1, sig, tss, minus)
    np.testing.assert_array_equal(whole["top_score"], chunked["top_score"])
    np.testing.assert_array_equal(whole["top_dist"], chunked["top_dist"])
    # Brute force over every (gene, peak) pair.
    cc = (c + c + 1) // 2
    d = (cc[None, :] - tss[:, None]).astype(float)
    d = np.where(minus[:, None], -d, d)
    ok = (np.abs(d) >= 5000) & (np.abs(d) <= 100_000)
    score = np.where(ok, sig[None, :] * contact(d), 0.0).max(axis=1)
    np.testing.assert_allclose(whole["top_score"], score)


def test_domain_peak_coverage_by_hand() -> None:
    cov = peak_domain_cov(
        np.array([90_000, 95_000], I64), np.array([110_000, 140_000], I64), np.array([100_000], I64), None
    )
    assert cov[0] == pytest.approx(50_000 / 100_000)  # merged [90 kb, 140 kb) inside [50 kb, 150 kb)


def test_neighbour_promoters_by_hand() -> None:
    chrom = np.array([0, 0, 0, 0, 0, 1], I64)
    tss = np.array([100, 200, 300, 400, 900_000, 300], I64)
    v = np.array([1.0, 2.0, 3.0, np.nan, 5.0, 6.0])
    out = neighbour_features(chrom, tss, {"H3K4me3": v})
    # Gene 0: neighbours (by TSS) genes 1, 2 on its right; none on its left. Gene 2: genes 0, 1, 3 (NaN), 4
    # (too far: 899,700 bp). Gene 5 is alone on its chromosome.
    assert out["nb_prom_H3K4me3"][0] == pytest.approx(2.5)
    assert out["nb_prom_H3K4me3"][2] == pytest.approx(1.5)
    assert np.isnan(out["nb_prom_H3K4me3"][5])
    np.testing.assert_array_equal(out["nb_tss_density"], [3, 3, 3, 3, 0, 0])


@settings(max_examples=60, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 249_999), min_size=1, max_size=30, unique=True),
    tss=st.lists(st.integers(0, 249_999), min_size=1, max_size=8),
    seed=st.integers(0, 2**16),
)
def test_ring_sums_match_a_dense_array(cuts: list[int], tss: list[int], seed: int) -> None:
    length = 250_000
    rng = np.random.default_rng(seed)
    edges = np.array([0, *sorted(cuts), length], I64)
    keep = rng.random(edges.size - 1) < 0.7  # some intervals without data
    s, e = edges[:-1][keep], edges[1:][keep]
    y = rng.random(s.size) * 3
    dense_y = np.zeros(length)
    dense_c = np.zeros(length)
    for a, b, v in zip(s, e, y, strict=True):
        dense_y[a:b] = v
        dense_c[a:b] = 1
    t = np.array(tss, I64)
    minus = rng.random(t.size) < 0.5
    rings = signal_rings(s, e, y, t, minus, length)
    for side, pos in enumerate(nb._sides(t, minus)):
        p = np.clip(pos, 0, length)
        for g in range(t.size):
            for k in range(p.shape[1] - 1):
                lo, hi = sorted((int(p[g, k]), int(p[g, k + 1])))
                assert rings[side, 0, g, k] == pytest.approx(dense_c[lo:hi].sum(), abs=1e-6)
                assert rings[side, 1, g, k] == pytest.approx(dense_y[lo:hi].sum(), rel=1e-9, abs=1e-6)


def test_feature_sets_from_before_the_family_keep_their_id() -> None:
    old = FeatureSetDef(neighbourhood=False)
    assert "neighbourhood" not in old.to_json()
    assert FeatureSetDef.from_json(old.to_json()) == old
    assert FeatureSetDef.from_json(FeatureSetDef().to_json()).neighbourhood
    assert old.id != FeatureSetDef().id


def test_own_domains_split_the_distal_bases_between_nearest_tss() -> None:
    # TSSs at 100 kb, 130 kb, 130 kb (a shared TSS) and 400 kb; midpoints 115 kb and 265 kb.
    tss = np.array([130_000, 100_000, 400_000, 130_000], I64)
    lo1, hi1, lo2, hi2 = nb.own_domains(tss)
    # Gene at 100 kb: left [0 kb, 98,001), right [102 kb, 115 kb) (bases ≥ 115 kb are the 130 kb gene's).
    assert (lo1[1], hi1[1], lo2[1], hi2[1]) == (0, 98_001, 102_000, 115_000)
    # The two genes at 130 kb share [115 kb, 128,001) and [132 kb, 230,001).
    for g in (0, 3):
        assert (lo1[g], hi1[g], lo2[g], hi2[g]) == (115_000, 128_001, 132_000, 230_001)
    # Gene at 400 kb: left from its midpoint with 130 kb (265 kb) or 300 kb, whichever is nearer the TSS.
    assert (lo1[2], hi1[2], lo2[2], hi2[2]) == (300_000, 398_001, 402_000, 500_001)


def test_assigned_peaks_and_signal_by_hand() -> None:
    tss = np.array([100_000, 130_000], I64)
    centres = np.array([90_000, 110_000, 120_000, 101_000])  # 120 kb is nearer 130 kb; 101 kb is promoter-proximal
    f = peak_features(centres - 50, centres + 50, np.array([1.0, 2.0, 4.0, 8.0]), tss, np.array([False, False]))
    assert f["assigned"].tolist() == [3.0, 4.0]
    assert f["assigned_n"].tolist() == [2.0, 1.0]
    # bigWig: 0 on [0, 300 kb) but 10 on [108 kb, 110 kb); the chromosome mean and sd set the hot threshold.
    s, e = np.array([0, 108_000, 110_000], I64), np.array([108_000, 110_000, 300_000], I64)
    y = np.array([0.0, 10.0, 0.0])
    lengths = (e - s).astype(float)
    mu = float((lengths * y).sum() / lengths.sum())
    sd = float(np.sqrt((lengths * (y - mu) ** 2).sum() / lengths.sum()))
    got = nb.signal_assigned(s, e, y, tss, 300_000)
    assert got[0] == pytest.approx(2000 * (10 - mu - 2 * sd) / sd / 1000)
    assert got[1] == 0.0


def test_every_catalogued_feature_is_computed_for_any_window_set(tmp_path: object) -> None:
    from epigex.ingest.catalogue import catalogue
    from epigex.ingest.featureset import WindowSpec

    # A feature set without the prom1k window (as the window ablation builds) lists no neighbour-promoter feature.
    fs = FeatureSetDef(windows=(WindowSpec("s200", "tss_symmetric", 200),), derived=False)
    names = {r.name for r in catalogue(fs)}
    assert not any(n.startswith("nb_prom_") for n in names)
    assert "nb_tss_density" in names
    assert any(n.startswith("nb_prom_") for n in (r.name for r in catalogue(FeatureSetDef())))
