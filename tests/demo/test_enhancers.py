"""The demo's gene-linked enhancers: where the sites lie, how activity switches them on, which marks they carry."""

from __future__ import annotations

import numpy as np
import pytest

from epigex.demo.enhancers import (
    MARKS,
    MAX_DIST,
    MEAN_SITES,
    MIN_DIST,
    P_BASE,
    P_GAIN,
    ActiveEnhancers,
    activate,
    enhancer_pieces,
    enhancer_sites,
    own_enhancers,
)


def _sites(n: int = 4000, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    chrom = np.array(["chr1"] * n)
    tss = rng.integers(2_000_000, 200_000_000, n)
    return tss, enhancer_sites(chrom, tss, np.random.default_rng(seed + 1))


def test_sites_lie_2_to_100_kb_from_their_gene_on_both_sides() -> None:
    tss, s = _sites()
    d = np.abs(s.centre - tss[s.gene])
    assert d.min() >= MIN_DIST
    assert d.max() <= MAX_DIST
    np.testing.assert_array_equal(s.centre - tss[s.gene], s.distance)
    assert 0.4 < float((s.distance > 0).mean()) < 0.6
    assert s.gene.size / tss.size == pytest.approx(MEAN_SITES, rel=0.05)  # Poisson sites per gene
    assert ((s.width >= 400) & (s.width < 1500)).all()


def test_sites_near_a_chromosome_end_are_dropped() -> None:
    chrom = np.array(["chrM"] * 200)  # 16,569 bp: most sites 2-100 kb from base 100 fall off it
    s = enhancer_sites(chrom, np.full(200, 100), np.random.default_rng(3))
    assert 0 < s.gene.size < 0.5 * MEAN_SITES * 200
    assert (s.centre - s.width > 0).all()
    assert (s.centre + s.width < 16_569).all()
    assert (s.distance > 0).all()  # nothing upstream of base 100 fits


def test_activity_raises_the_share_of_active_sites() -> None:
    tss, s = _sites()
    rng = np.random.default_rng(5)
    silent = activate(s, np.zeros(tss.size), rng).centre.size / s.gene.size
    active = activate(s, np.ones(tss.size), rng).centre.size / s.gene.size
    assert silent == pytest.approx(P_BASE, abs=0.01)
    assert active == pytest.approx(P_BASE + P_GAIN, abs=0.02)


def test_same_seed_same_sites() -> None:
    _, a = _sites(seed=9)
    _, b = _sites(seed=9)
    np.testing.assert_array_equal(a.centre, b.centre)
    np.testing.assert_array_equal(a.strength, b.strength)


def test_marks_cover_the_element_as_documented() -> None:
    enh = ActiveEnhancers(np.array(["chr2"]), np.array([10_000]), np.array([1000]), np.array([1.0]))
    rng = np.random.default_rng(0)
    spans = {a: enhancer_pieces(enh, a, rng)[1:3] for a in MARKS}
    assert (spans["H3K27ac"][0][0], spans["H3K27ac"][1][0]) == (9_200, 10_800)  # element ± 300 bp
    assert (spans["H3K4me1"][0][0], spans["H3K4me1"][1][0]) == (8_300, 11_700)  # element ± 1.2 kb
    assert (spans["DNase"][0][0], spans["DNase"][1][0]) == (9_750, 10_250)  # the middle half
    for assay in ("H3K4me3", "H3K27me3", "H3K36me3", "H3K9me3"):
        assert enhancer_pieces(enh, assay, rng)[1].size == 0


def test_own_enhancers_count_and_sum_each_genes_active_sites() -> None:
    enh = ActiveEnhancers(
        np.array(["chr2"] * 4),
        np.array([1, 2, 3, 4]),
        np.array([500] * 4),
        np.array([0.5, 1.0, 2.0, 0.25]),
        np.array([0, 2, 0, 2]),
    )
    n, amp = own_enhancers(enh, 4)
    np.testing.assert_array_equal(n, [2, 0, 2, 0])
    np.testing.assert_allclose(amp, [2.5, 0.0, 1.25, 0.0])


def test_activated_sites_keep_their_gene() -> None:
    tss, sites = _sites(seed=3)
    act = np.random.default_rng(2).random(tss.size)
    enh = activate(sites, act, np.random.default_rng(1))
    assert enh.gene is not None
    assert 0 < enh.gene.size < sites.gene.size
    # each active site is one of its gene's sites
    owned = set(zip(sites.gene.tolist(), sites.centre.tolist(), strict=True))
    assert set(zip(enh.gene.tolist(), enh.centre.tolist(), strict=True)) <= owned
