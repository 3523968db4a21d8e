"""Derived feature families of the course-winning recipe, defined once for computing and for the catalogue.

Pure computation, no I/O. Each :class:`DerivedSpec` names its inputs, so a feature set without an assay or a
window simply leaves out the derived features that need it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from epigex.ingest.featureset import ASSAYS, FeatureSetDef, bed_column, bigwig_column
from epigex.ingest.windows import GeneCoords
from epigex.store.types import F64

Fn = Callable[[list[F64]], F64]

ACTIVE = ("DNase", "H3K27ac", "H3K4me3", "H3K4me1")
REPRESSIVE = ("H3K27me3", "H3K9me3")
CROSS_PAIRS = (("H3K4me3", "DNase"), ("H3K4me3", "H3K27ac"), ("H3K27ac", "DNase"), ("H3K4me3", "H3K4me1"))


@dataclass(frozen=True)
class DerivedSpec:
    """One derived feature: its name, family, formula (for people) and computation (for machines)."""

    name: str
    family: str
    formula: str
    inputs: tuple[str, ...]
    fn: Fn


def _m(a: str, w: str) -> str:
    return bigwig_column(a, w, "mean")


def _mean_of(xs: list[F64]) -> F64:
    return np.nanmean(np.stack(xs), axis=0) if xs else np.array([])


def _norm_diff(a: F64, b: F64) -> F64:
    return (a - b) / (np.abs(a) + np.abs(b) + 1.0)


def _entropy_across(xs: list[F64]) -> F64:
    """The softmax entropy across marks, normalised to [0, 1]; NaN for a gene with no mark at all."""
    m = np.stack(xs)
    none = np.isnan(m).all(axis=0)
    top = np.nanmax(np.where(none, 0.0, m), axis=0, keepdims=True)
    e = np.exp(m - top)
    p = e / np.nansum(e, axis=0, keepdims=True)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return np.where(none, np.nan, -np.nansum(plogp, axis=0) / np.log(m.shape[0]))


def _specs() -> list[DerivedSpec]:
    # long by design: a table, one spec per derived feature
    specs: list[DerivedSpec] = []
    for a in ASSAYS:
        p, b = _m(a, "prom1k"), _m(a, "body")
        specs += [
            DerivedSpec(f"{a}_d_prom_body_delta", "promoter_vs_body", f"{p} - {b}", (p, b), lambda x: x[0] - x[1]),
            DerivedSpec(f"{a}_d_prom_body_sum", "promoter_vs_body", f"{p} + {b}", (p, b), lambda x: x[0] + x[1]),
            DerivedSpec(
                f"{a}_d_prom_body_ratio",
                "promoter_vs_body",
                f"({p} - {b}) / (|{p}| + |{b}| + 1)",
                (p, b),
                lambda x: _norm_diff(x[0], x[1]),
            ),
        ]
    act = tuple(_m(a, "tss") for a in ACTIVE)
    rep = tuple(_m(a, "prom1k") for a in REPRESSIVE)
    for act_mark, rep_mark, short in (
        ("H3K27ac", "H3K27me3", "K27ac_minus_K27me3"),
        ("H3K4me3", "H3K9me3", "K4me3_minus_K9me3"),
    ):
        ta, tr = _m(act_mark, "tss"), _m(rep_mark, "tss")
        specs.append(
            DerivedSpec(f"d_bal_{short}", "activation_vs_repression", f"{ta} - {tr}", (ta, tr), lambda x: x[0] - x[1])
        )
    specs += [
        DerivedSpec("d_activation_index", "activation_vs_repression", f"mean({', '.join(act)})", act, _mean_of),
        DerivedSpec("d_repression_index", "activation_vs_repression", f"mean({', '.join(rep)})", rep, _mean_of),
        DerivedSpec(
            "d_act_minus_rep",
            "activation_vs_repression",
            "d_activation_index - d_repression_index",
            act + rep,
            lambda x: _mean_of(x[: len(ACTIVE)]) - _mean_of(x[len(ACTIVE) :]),
        ),
        DerivedSpec(
            "d_open_minus_rep",
            "openness_vs_repression",
            f"{_m('DNase', 'tss')} - d_repression_index",
            (_m("DNase", "tss"), *rep),
            lambda x: x[0] - _mean_of(x[1:]),
        ),
    ]
    prom_all = tuple(_m(a, "prom1k") for a in ASSAYS)
    specs += [
        DerivedSpec(
            "d_prom_marks_std",
            "promoter_variability",
            "std across assays of <assay>_bw_prom1k_mean",
            prom_all,
            lambda x: np.nanstd(np.stack(x), axis=0),
        ),
        DerivedSpec(
            "d_prom_marks_entropy",
            "promoter_variability",
            "normalised entropy of softmax over assays of <assay>_bw_prom1k_mean",
            prom_all,
            _entropy_across,
        ),
    ]
    for a, b in CROSS_PAIRS:
        ta, tb = _m(a, "tss"), _m(b, "tss")
        specs += [
            DerivedSpec(f"d_x_{a}_{b}_prod", "cross_mark", f"{ta} * {tb}", (ta, tb), lambda x: x[0] * x[1]),
            DerivedSpec(
                f"d_x_{a}_{b}_ratio",
                "cross_mark",
                f"({ta} - {tb}) / (|{ta}| + |{tb}| + 1)",
                (ta, tb),
                lambda x: _norm_diff(x[0], x[1]),
            ),
        ]
    k4, k27 = _m("H3K4me3", "prom1k"), _m("H3K27me3", "prom1k")
    specs += [
        DerivedSpec("d_bivalency_min", "bivalency", f"min({k4}, {k27})", (k4, k27), lambda x: np.minimum(x[0], x[1])),
        DerivedSpec(
            "d_bivalency_prod",
            "bivalency",
            f"max({k4}, 0) * max({k27}, 0)",
            (k4, k27),
            lambda x: np.maximum(x[0], 0) * np.maximum(x[1], 0),
        ),
    ]
    k36, k27b = _m("H3K36me3", "body"), _m("H3K27me3", "body")
    specs += [
        DerivedSpec(
            "d_coh_act_x_K36body",
            "coherence",
            f"d_activation_index * {k36}",
            (*act, k36),
            lambda x: _mean_of(x[:-1]) * x[-1],
        ),
        DerivedSpec("d_coh_K36_minus_K27me3_body", "coherence", f"{k36} - {k27b}", (k36, k27b), lambda x: x[0] - x[1]),
    ]
    for a in ASSAYS:
        hp, tm = bed_column(a, "tss", "has_peak"), _m(a, "tss")
        pc, pm = bed_column(a, "prom1k", "cov"), _m(a, "prom1k")
        specs += [
            DerivedSpec(f"{a}_d_xl_haspeak_x_tss", "cross_layer", f"{hp} * {tm}", (hp, tm), lambda x: x[0] * x[1]),
            DerivedSpec(f"{a}_d_xl_peakcov_x_prom", "cross_layer", f"{pc} * {pm}", (pc, pm), lambda x: x[0] * x[1]),
        ]
    return specs


DERIVED: tuple[DerivedSpec, ...] = tuple(_specs())

GEOMETRY: tuple[tuple[str, str], ...] = (
    ("gene_is_minus", "1 if the gene is on the − strand"),
    ("gene_log10_length", "log10(gene_end - gene_start + 1)"),
    ("gene_tss_width", "TSS_end - TSS_start"),
    ("gene_tss_to_5p", "distance from the TSS to the gene's 5' end (strand-aware, signed)"),
    ("gene_tss_to_3p", "distance from the TSS to the gene's 3' end (strand-aware, signed)"),
    ("gene_tss_to_5p_rel", "gene_tss_to_5p / gene length"),
    ("gene_tss_to_3p_rel", "gene_tss_to_3p / gene length"),
    ("gene_tss_in_body", "1 if the TSS base lies inside the gene body"),
)


def geometry_features(genes: GeneCoords) -> dict[str, F64]:
    """Strand flag and TSS geometry: distances from the TSS to the gene ends, absolute and length-normalised."""
    t = genes.tss_point.astype(np.float64)
    gs, ge = genes.gene_start.astype(np.float64), genes.gene_end.astype(np.float64)
    minus = genes.minus
    length = np.maximum(ge - gs, 1.0)
    to5 = np.where(minus, ge - 1 - t, t - gs)
    to3 = np.where(minus, t - gs, ge - 1 - t)
    return {
        "gene_is_minus": minus.astype(np.float64),
        "gene_log10_length": np.log10(length + 1.0),
        "gene_tss_width": (genes.tss_end - genes.tss_start).astype(np.float64),
        "gene_tss_to_5p": to5,
        "gene_tss_to_3p": to3,
        "gene_tss_to_5p_rel": to5 / length,
        "gene_tss_to_3p_rel": to3 / length,
        "gene_tss_in_body": ((t >= gs) & (t < ge)).astype(np.float64),
    }


def available_derived(fs: FeatureSetDef, columns: set[str]) -> list[DerivedSpec]:
    """The derived features whose inputs are all among ``columns`` (none when the set disables them)."""
    if not fs.derived:
        return []
    return [d for d in DERIVED if all(i in columns for i in d.inputs)]


def derived_features(fs: FeatureSetDef, columns: Mapping[str, F64]) -> dict[str, F64]:
    """Compute every available derived feature from the primary columns."""
    out: dict[str, F64] = {}
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN gene rightly gives NaN
        for d in available_derived(fs, set(columns)):
            out[d.name] = np.asarray(d.fn([columns[i] for i in d.inputs]), dtype=np.float64)
    return out
