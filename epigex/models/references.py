"""Reference-informed prediction: what labelled reference cell lines measured on a gene, weighed against the marks.

Pure computation, no I/O. A *target* cell (the one predicted) and its *references* (labelled cells with a label for
the gene) are seen through :class:`CellView`: per gene, the marks model's prediction for the cell from boosters that
never saw it (the *cross predictor*: the mean of the within-cell setups trained on other cells), a few of its most
important feature values and, for a reference, its measured expression (rank-normalised within the cell) and
whether the gene is expressed. A target's own labels are never read.

Per gene with at least one reference, :func:`reference_features` builds what the reference model reads:

========== =============================================================================================
feature    meaning
========== =============================================================================================
marks      the target's predicted rank from its marks (rank-normalised within the cell)
p_marks    the target's predicted P(expressed) from its marks
ref        the references' measured rank, weighted by similarity (only references with a label)
ref_mean   the references' measured rank, unweighted (the naive baseline "the references alone")
ref_sd     how much the references disagree (weighted standard deviation of their ranks)
ref_expr   the weighted share of references that express the gene
n_refs     how many references have a label for the gene
sim_max    the similarity of the most similar of them; ``sim_mean`` their weighted mean
blend      the rank average of ``marks`` and ``ref`` (the known hard baseline)
d_<f>      the change in the marks: the target's value of feature ``f`` minus the references' weighted mean
========== =============================================================================================

Similarity of the target to a reference is genome-wide, from the target's marks: the Spearman correlation of its
cross-predicted ranks with the reference's measured ranks; references weigh ``exp(KAPPA × similarity)``, so a
close reference counts more. A fitted :class:`ReferenceModel` turns the features into a rank, a P(expressed) and
a masked prediction — learned (LightGBM, trained on pairs of labelled cells) or the closed-form blend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np

from epigex.models.boosters import predict_stage
from epigex.models.metrics import average_ranks
from epigex.models.params import Stage
from epigex.models.stacking import MaskRule, stack
from epigex.store.types import F32, F64

KAPPA = 10.0  # similarity weighting: exp(KAPPA × Spearman)
MAX_REFS = 8  # references a target reads at most (the most similar)
N_TOP = 8  # features whose change between target and references is a feature of its own
BASE_FEATURES = ("marks", "p_marks", "ref", "ref_mean", "ref_sd", "ref_expr", "n_refs", "sim_max", "sim_mean", "blend")


@dataclass(frozen=True)
class CellView:
    """One cell aligned to the target's genes: marks prediction, top features and (references) labels.

    ``rank`` is the cross predictor's rank prediction rank-normalised over the cell's genes, ``p`` its
    P(expressed), ``top`` the values of the model's most important features (genes × ``N_TOP``); for a reference,
    ``y`` its measured expression rank-normalised over its labelled genes and ``expressed`` 1/0 (NaN: no label).
    """

    name: str
    rank: F64
    p: F64
    top: F32
    y: F64 | None = None
    expressed: F64 | None = None

    @property
    def zero_share(self) -> float:
        """The share of the labelled genes a reference does not express."""
        assert self.expressed is not None
        ok = np.isfinite(self.expressed)
        return float(1.0 - self.expressed[ok].mean()) if ok.any() else 0.5


def rank01(x: F64, basis: np.ndarray | None = None) -> F64:
    """Average ranks / n over the finite values (NaN stays NaN), in ``(0, 1]``.

    With ``basis`` (a mask), each value is placed among the finite values at ``basis`` only (its average rank among
    them / their count): validation ranks a chromosome group's genes against the other groups' so that their
    values never shift anyone else's rank.
    """
    out = np.full(x.size, np.nan)
    ok = np.isfinite(x)
    if basis is None:
        if ok.any():
            out[ok] = average_ranks(x[ok]) / ok.sum()
        return out
    ref = np.sort(x[ok & basis])
    if ref.size:
        lo, hi = np.searchsorted(ref, x[ok], "left"), np.searchsorted(ref, x[ok], "right")
        out[ok] = (lo + hi + 1) / 2 / ref.size  # a value among equals: their mean rank; between: half way
    return out


def align(src_genes: np.ndarray, values: np.ndarray, dst_genes: np.ndarray) -> np.ndarray:
    """``values`` (rows follow ``src_genes``) reordered to ``dst_genes``; NaN rows for genes ``src`` lacks."""
    order = np.argsort(src_genes, kind="stable")
    sorted_src = src_genes[order]
    pos = np.clip(np.searchsorted(sorted_src, dst_genes), 0, max(0, sorted_src.size - 1))
    found = sorted_src.size > 0
    hit = (sorted_src[pos] == dst_genes) if found else np.zeros(dst_genes.size, dtype=bool)
    shape = (dst_genes.size, *values.shape[1:])
    out = np.full(shape, np.nan, dtype=np.float64)
    out[hit] = values[order[pos[hit]]]
    return out


def cross_predict(
    setups: list[dict[Stage, lgb.Booster]], X: F32, rule: MaskRule, threshold: float
) -> tuple[F64, F64, F64]:
    """The cross predictor: the mean of within-cell setups (trained on other cells) as the stack combines them.

    Returns the rank prediction rank-normalised over the genes, the P(expressed) and the masked prediction.
    """
    P = np.column_stack([predict_stage(b["classifier"], "classifier", X) for b in setups])
    R = np.column_stack([predict_stage(b["regressor"], "regressor", X) for b in setups])
    st = stack(P, R, rule, threshold)
    return rank01(st.rank_predicted), st.p_expressed, st.gex_predicted


def label_view(gex: F64) -> tuple[F64, F64]:
    """A reference's measured expression as (rank within its labelled genes, expressed 1/0), NaN where unlabelled."""
    expressed = np.where(np.isfinite(gex), (gex > 0).astype(np.float64), np.nan)
    return rank01(gex), expressed


def similarity(target: CellView, ref: CellView, genes: np.ndarray | None = None) -> float:
    """Spearman correlation of the target's cross-predicted ranks with the reference's measured ranks (over
    ``genes`` only, when given: validation leaves out the held-out chromosomes)."""
    assert ref.y is not None
    ok = np.isfinite(target.rank) & np.isfinite(ref.y)
    if genes is not None:
        ok &= genes
    if int(ok.sum()) < 50:
        return 0.0
    a, b = average_ranks(target.rank[ok]), average_ranks(ref.y[ok])
    c = np.corrcoef(a, b)[0, 1]
    return float(c) if np.isfinite(c) else 0.0


def choose_references(
    target: CellView, refs: list[CellView], limit: int = MAX_REFS, genes: np.ndarray | None = None
) -> list[tuple[CellView, float]]:
    """The references a target reads (the ``limit`` most similar; never the target itself), with similarities."""
    scored = [(r, similarity(target, r, genes)) for r in refs if r.name != target.name]
    scored.sort(key=lambda x: (-x[1], x[0].name))
    return scored[:limit]


@dataclass
class Features:
    """The reference model's input for one target: a matrix over its genes and who informed each gene."""

    X: F64  # genes × feature_names
    names: list[str]
    has_ref: np.ndarray  # genes with at least one reference label
    used: np.ndarray  # genes × references: that reference's label informed the gene
    refs: list[str]
    zero_share: float  # similarity-weighted share of genes the references do not express

    def column(self, name: str) -> F64:
        """One feature column."""
        return self.X[:, self.names.index(name)]

    def references_of(self) -> list[str]:
        """Per gene, the comma-separated references that informed it ("" for none)."""
        if not self.refs:
            return [""] * self.X.shape[0]
        keys, inverse = np.unique(self.used, axis=0, return_inverse=True)
        texts = [",".join(r for r, u in zip(self.refs, key, strict=True) if u) for key in keys]
        return [texts[i] for i in np.asarray(inverse).reshape(-1)]


def feature_names(top_names: list[str]) -> list[str]:
    """The reference model's feature names for the given top features."""
    return [*BASE_FEATURES, *(f"d_{f}" for f in top_names)]


def reference_features(
    target: CellView, chosen: list[tuple[CellView, float]], top_names: list[str], genes: np.ndarray | None = None
) -> Features:
    """The reference model's features for every gene of ``target`` (see the module's table).

    ``genes`` (validation) limits what the within-cell ranks of ``blend`` are taken against to those genes.
    """
    n = target.rank.size
    names = feature_names(top_names)
    if not chosen:
        return Features(np.full((n, len(names)), np.nan), names, np.zeros(n, bool), np.zeros((n, 0), bool), [], 0.5)
    Y = np.column_stack([r.y for r, _ in chosen])  # type: ignore[misc]
    E = np.column_stack([r.expressed for r, _ in chosen])  # type: ignore[misc]
    sims = np.array([s for _, s in chosen])
    have = np.isfinite(Y)
    w = np.where(have, np.exp(KAPPA * (sims - sims.max())), 0.0)
    total = w.sum(axis=1)
    has_ref = total > 0
    w = w / np.where(has_ref, total, 1.0)[:, None]
    ybar = np.where(has_ref, np.nansum(w * np.nan_to_num(Y), axis=1), np.nan)
    ymean = np.where(has_ref, np.nansum(np.nan_to_num(Y), axis=1) / np.maximum(have.sum(axis=1), 1), np.nan)
    sd = np.sqrt(np.maximum(0.0, (w * (np.nan_to_num(Y) - np.nan_to_num(ybar)[:, None]) ** 2).sum(axis=1)))
    ebar = np.where(has_ref, (w * np.nan_to_num(E)).sum(axis=1), np.nan)
    n_refs = have.sum(axis=1).astype(np.float64)
    sim_max = np.where(has_ref, np.where(have, sims, -np.inf).max(axis=1), np.nan)
    sim_mean = np.where(has_ref, (w * sims).sum(axis=1), np.nan)
    basis = has_ref if genes is None else has_ref & genes
    blend = np.where(has_ref, (rank01(target.rank, basis) + rank01(ybar, basis)) / 2, np.nan)
    ref_top = np.zeros_like(target.top, dtype=np.float64)
    wsum = np.zeros_like(ref_top)
    for j, (r, _) in enumerate(chosen):
        ok = np.isfinite(r.top)
        ref_top += np.where(ok, w[:, j : j + 1] * r.top, 0.0)
        wsum += np.where(ok, w[:, j : j + 1], 0.0)
    d = target.top - ref_top / np.where(wsum > 0, wsum, np.nan)
    cols = [target.rank, target.p, ybar, ymean, sd, ebar, n_refs, sim_max, sim_mean, blend, *d.T]
    X = np.column_stack(cols).astype(np.float64)
    X[~has_ref] = np.nan
    zeros = np.array([r.zero_share for r, _ in chosen])
    share = float((zeros * np.exp(KAPPA * (sims - sims.max()))).sum() / np.exp(KAPPA * (sims - sims.max())).sum())
    return Features(X, names, has_ref, have, [r.name for r, _ in chosen], share)


@dataclass(frozen=True)
class Prediction:
    """Reference-informed outputs over the genes that have references (NaN elsewhere)."""

    gex_predicted: F64
    p_expressed: F64
    rank_predicted: F64


def blend_predict(f: Features, q_factor: float) -> Prediction:
    """The closed form: the rank average of marks and references; the lowest ``q_factor × zero share`` are silent."""
    n = f.X.shape[0]
    rank, gex, p = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    m = f.has_ref
    if m.any():
        rank[m] = rank01(f.column("blend")[m])
        cut = np.quantile(rank[m], min(0.99, q_factor * f.zero_share))
        gex[m] = np.where(rank[m] > cut, rank[m], 0.0)
        p[m] = (f.column("p_marks")[m] + f.column("ref_expr")[m]) / 2
    return Prediction(gex, p, rank)


@dataclass
class ReferenceModel:
    """A fitted reference model: ``learned`` (two LightGBM boosters on the features) or the closed-form ``blend``."""

    mode: str  # "learned" or "blend"
    top_features: list[str]
    threshold: float = 0.5  # learned: P(expressed) below it is silent
    q_factor: float = 1.0  # blend: the share of the references' silent genes predicted silent
    boosters: dict[str, lgb.Booster] = field(default_factory=dict)  # "classifier", "regressor" (learned)
    uncertainty: dict[str, Any] | None = None  # per agreement class: a models.uncertainty.Uncertainty as a dict

    def predict(self, f: Features) -> Prediction:
        """Rank, P(expressed) and masked prediction of the genes that have references."""
        if self.mode != "learned" or not f.has_ref.any():
            return blend_predict(f, self.q_factor)
        n = f.X.shape[0]
        rank, gex, p = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        m = f.has_ref
        rank[m] = np.clip(self.boosters["regressor"].predict(f.X[m]), 0.0, 1.0)
        p[m] = self.boosters["classifier"].predict(f.X[m])
        gex[m] = np.where(p[m] >= self.threshold, rank[m], 0.0)
        return Prediction(gex, p, rank)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able parameters (the boosters are kept as files beside the model's others)."""
        return {
            "mode": self.mode,
            "top_features": self.top_features,
            "threshold": self.threshold,
            "q_factor": self.q_factor,
            "kappa": KAPPA,
            "max_refs": MAX_REFS,
            "uncertainty": self.uncertainty,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], boosters: dict[str, lgb.Booster]) -> ReferenceModel:
        """Back from :meth:`to_dict` and the loaded boosters."""
        return cls(d["mode"], list(d["top_features"]), d["threshold"], d["q_factor"], boosters, d.get("uncertainty"))


def agreement_class(f: Features) -> np.ndarray:
    """Per gene, how its references agree: ``single`` (one reference), ``agree`` or ``disagree`` (sd of their
    ranks below or above 0.12), ``""`` without references — the categories of the reference-mode intervals."""
    out = np.full(f.X.shape[0], "", dtype=object)
    n_refs, sd = f.column("n_refs"), f.column("ref_sd")
    out[f.has_ref & (n_refs == 1)] = "single"
    out[f.has_ref & (n_refs > 1) & (sd <= 0.12)] = "agree"
    out[f.has_ref & (n_refs > 1) & (sd > 0.12)] = "disagree"
    return out
