"""Derived features and gene geometry: exact values for three hand-made genes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from epigex.ingest.derived import (
    ACTIVE,
    DERIVED,
    GEOMETRY,
    REPRESSIVE,
    available_derived,
    derived_features,
    geometry_features,
)
from epigex.ingest.featureset import ASSAYS, FeatureSetDef
from epigex.ingest.tracks import bed_column, bigwig_column
from epigex.ingest.windows import GeneCoords


def m(assay: str, window: str) -> str:
    return bigwig_column(assay, window, "mean")


def arr(*xs: float) -> np.ndarray:
    return np.array(xs, dtype=np.float64)


def every_input() -> set[str]:
    return {i for d in DERIVED for i in d.inputs}


def test_catalogue_names_are_unique_and_inputs_are_primary_columns() -> None:
    names = [d.name for d in DERIVED]
    assert len(names) == len(set(names))
    # 7 assays x (3 promoter-vs-body + 2 cross-layer), 2 balances, 4 indices, 2 variability, 4 pairs x 2,
    # 2 bivalency, 2 coherence
    assert len(DERIVED) == 7 * 5 + 2 + 4 + 2 + 8 + 2 + 2
    for col in every_input():
        assert ("_bw_" in col) or ("_bed_" in col)
    assert [g for g, _ in GEOMETRY] == list(geometry_features(genes()).keys())


def genes() -> GeneCoords:
    # + gene [1000, 2000) with TSS base 1000; − gene [5000, 6000) with TSS region [5990, 6000) → base 5994;
    # + gene [100, 110) whose TSS base 200 lies outside its body.
    return GeneCoords(
        arr(1000, 5000, 100).astype(np.int64),
        arr(2000, 6000, 110).astype(np.int64),
        arr(1000, 5990, 200).astype(np.int64),
        arr(1001, 6000, 201).astype(np.int64),
        np.array([False, True, False]),
    )


def test_geometry_by_hand() -> None:
    g = geometry_features(genes())
    np.testing.assert_array_equal(g["gene_is_minus"], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(g["gene_log10_length"], np.log10([1001.0, 1001.0, 11.0]))
    np.testing.assert_array_equal(g["gene_tss_width"], [1.0, 10.0, 1.0])
    # + : to5 = t - gs, to3 = ge - 1 - t; − : to5 = ge - 1 - t, to3 = t - gs
    np.testing.assert_array_equal(g["gene_tss_to_5p"], [0.0, 5.0, 100.0])
    np.testing.assert_array_equal(g["gene_tss_to_3p"], [999.0, 994.0, -91.0])
    np.testing.assert_allclose(g["gene_tss_to_5p_rel"], [0.0, 0.005, 10.0])
    np.testing.assert_allclose(g["gene_tss_to_3p_rel"], [0.999, 0.994, -9.1])
    np.testing.assert_array_equal(g["gene_tss_in_body"], [1.0, 1.0, 0.0])


def test_geometry_of_a_zero_length_gene_does_not_divide_by_zero() -> None:
    one = GeneCoords(
        arr(50).astype(np.int64),
        arr(50).astype(np.int64),
        arr(50).astype(np.int64),
        arr(51).astype(np.int64),
        np.array([False]),
    )
    g = geometry_features(one)
    assert g["gene_log10_length"][0] == pytest.approx(math.log10(2.0))  # length floored at 1
    assert g["gene_tss_to_3p_rel"][0] == -1.0
    assert g["gene_tss_in_body"][0] == 0.0


def full_columns() -> dict[str, np.ndarray]:
    """Every input column over 3 genes: prom1k means 1..7 by assay order, tss means 10 + i, body means 0.5 i."""
    cols: dict[str, np.ndarray] = {}
    for i, a in enumerate(ASSAYS):
        cols[m(a, "prom1k")] = arr(i + 1, 0.0, np.nan)
        cols[m(a, "tss")] = arr(10 + i, -1.0, np.nan)
        cols[m(a, "body")] = arr(0.5 * i, 2.0, np.nan)
        cols[bed_column(a, "tss", "has_peak")] = arr(1.0, 0.0, np.nan)
        cols[bed_column(a, "prom1k", "cov")] = arr(0.25, 0.5, np.nan)
    return cols


def test_every_derived_feature_is_computed_from_complete_inputs() -> None:
    out = derived_features(FeatureSetDef(), full_columns())
    assert set(out) == {d.name for d in DERIVED}
    for name, v in out.items():
        assert v.dtype == np.float64
        assert v.shape == (3,)
        assert np.isnan(v[2]), name  # a gene without any signal gets NaN, without a warning


def test_promoter_entropy_of_a_gene_without_signal_is_missing() -> None:
    out = derived_features(FeatureSetDef(), full_columns())
    assert np.isnan(out["d_prom_marks_entropy"][2])


def test_derived_values_by_hand() -> None:
    cols = full_columns()
    out = derived_features(FeatureSetDef(), cols)
    idx = {a: i for i, a in enumerate(ASSAYS)}
    p = {a: idx[a] + 1.0 for a in ASSAYS}  # prom1k of gene 0
    t = {a: 10.0 + idx[a] for a in ASSAYS}  # tss of gene 0
    # promoter vs body, DNase: prom 1, body 0 (gene 0); prom 0, body 2 (gene 1)
    np.testing.assert_allclose(out["DNase_d_prom_body_delta"][:2], [1.0, -2.0])
    np.testing.assert_allclose(out["DNase_d_prom_body_sum"][:2], [1.0, 2.0])
    np.testing.assert_allclose(out["DNase_d_prom_body_ratio"][:2], [1 / 2, -2 / 3])
    # H3K9me3 (index 6): prom 7, body 3 → (7 - 3) / (7 + 3 + 1)
    assert out["H3K9me3_d_prom_body_ratio"][0] == pytest.approx(4 / 11)
    assert out["d_bal_K27ac_minus_K27me3"][0] == pytest.approx(t["H3K27ac"] - t["H3K27me3"])
    assert out["d_bal_K4me3_minus_K9me3"][0] == pytest.approx(t["H3K4me3"] - t["H3K9me3"])
    act = np.mean([t[a] for a in ACTIVE])
    rep = np.mean([p[a] for a in REPRESSIVE])
    assert out["d_activation_index"][0] == pytest.approx(act)
    assert out["d_repression_index"][0] == pytest.approx(rep)
    assert out["d_act_minus_rep"][0] == pytest.approx(act - rep)
    assert out["d_open_minus_rep"][0] == pytest.approx(t["DNase"] - rep)
    assert out["d_prom_marks_std"][0] == pytest.approx(np.std(np.arange(1, 8)))  # population std
    assert out["d_prom_marks_std"][1] == 0.0
    assert out["d_x_H3K4me3_DNase_prod"][0] == pytest.approx(t["H3K4me3"] * t["DNase"])
    assert out["d_x_H3K4me3_DNase_ratio"][0] == pytest.approx((13 - 10) / (13 + 10 + 1))
    assert out["d_x_H3K27ac_DNase_ratio"][1] == 0.0  # equal marks
    assert out["d_bivalency_min"][0] == pytest.approx(min(p["H3K4me3"], p["H3K27me3"]))
    assert out["d_bivalency_prod"][0] == pytest.approx(p["H3K4me3"] * p["H3K27me3"])
    assert out["d_coh_act_x_K36body"][0] == pytest.approx(act * 0.5 * idx["H3K36me3"])
    assert out["d_coh_act_x_K36body"][1] == pytest.approx(-1.0 * 2.0)
    assert out["d_coh_K36_minus_K27me3_body"][0] == pytest.approx(0.5 * (idx["H3K36me3"] - idx["H3K27me3"]))
    assert out["H3K4me1_d_xl_haspeak_x_tss"][:2].tolist() == [t["H3K4me1"], -0.0]
    assert out["H3K4me1_d_xl_peakcov_x_prom"][:2].tolist() == [0.25 * p["H3K4me1"], 0.0]


def test_bivalency_product_ignores_negative_marks() -> None:
    cols = full_columns()
    cols[m("H3K4me3", "prom1k")] = arr(-2.0, 3.0, 4.0)
    cols[m("H3K27me3", "prom1k")] = arr(5.0, -1.0, 0.5)
    out = derived_features(FeatureSetDef(), cols)
    np.testing.assert_array_equal(out["d_bivalency_prod"], [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(out["d_bivalency_min"], [-2.0, -1.0, 0.5])


def test_promoter_entropy_by_hand() -> None:
    cols = full_columns()
    # gene 0: one assay at ln 3, the others 0 → softmax (3/9, 1/9 x 6); gene 1: all equal → uniform;
    # gene 2: one assay far above the rest → (nearly) all mass on it.
    for i, a in enumerate(ASSAYS):
        cols[m(a, "prom1k")] = arr(math.log(3.0) if i == 0 else 0.0, 2.5, 500.0 if i == 3 else 0.0)
    out = derived_features(FeatureSetDef(), cols)["d_prom_marks_entropy"]
    assert out[0] == pytest.approx((math.log(3) / 3 + 6 / 9 * math.log(9)) / math.log(7))
    assert out[1] == pytest.approx(1.0)
    assert out[2] == pytest.approx(0.0, abs=1e-12)


def test_promoter_entropy_skips_a_missing_assay() -> None:
    cols = full_columns()
    for i, a in enumerate(ASSAYS):
        cols[m(a, "prom1k")] = arr(np.nan if i == 0 else 1.0, 1.0, 1.0)
    out = derived_features(FeatureSetDef(), cols)["d_prom_marks_entropy"]
    # six equal assays and a missing one: spread evenly over the six, so neither missing nor concentrated
    assert np.isfinite(out[0])
    assert 0.9 < out[0] <= 1.0
    assert out[1] == pytest.approx(1.0)


def test_nan_in_one_index_input_is_skipped_by_the_mean() -> None:
    cols = full_columns()
    cols[m("DNase", "tss")] = arr(np.nan, -1.0, np.nan)
    out = derived_features(FeatureSetDef(), cols)
    others = [10.0 + ASSAYS.index(a) for a in ACTIVE if a != "DNase"]
    assert out["d_activation_index"][0] == pytest.approx(np.mean(others))
    assert np.isnan(out["d_open_minus_rep"][0])


def test_only_features_whose_inputs_exist_are_available() -> None:
    fs = FeatureSetDef()
    cols = {m("DNase", "prom1k"), m("DNase", "body"), m("H3K4me3", "tss"), m("DNase", "tss")}
    names = [d.name for d in available_derived(fs, cols)]
    assert names == [
        "DNase_d_prom_body_delta",
        "DNase_d_prom_body_sum",
        "DNase_d_prom_body_ratio",
        "d_x_H3K4me3_DNase_prod",
        "d_x_H3K4me3_DNase_ratio",
    ]
    out = derived_features(fs, {c: arr(1.0, 2.0) for c in cols})
    assert list(out) == names


def test_a_feature_set_without_derived_features_gets_none() -> None:
    fs = FeatureSetDef(derived=False)
    assert available_derived(fs, every_input()) == []
    assert derived_features(fs, full_columns()) == {}
