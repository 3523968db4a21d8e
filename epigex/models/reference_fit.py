"""Fitting and validating the reference model on pairs of labelled cells; pure computation, no I/O.

Each labelled cell is in turn the *target*, the others its references (at most :data:`models.references.MAX_REFS`,
the most similar). Its marks come from the within-cell setups of the *other* cells (boosters that never saw it),
so a target's features hold nothing of its own labels. Training rows per target: with all its references, and
with one reference drawn at random (seeded), so the model learns how much one reference is worth as well as
several — rows grow linearly with the labelled cells.

Validation crosses chromosome groups with groups of target cells: the boosters that predict target ``T`` on the
chromosomes of group ``G`` were trained on rows of other targets and other chromosomes only, so neither ``T``'s
labels nor any label on ``G`` reached them. The same out-of-fold predictions choose the mask threshold, choose
between the learned model and the closed-form blend (the learned one must win by more than ``MIN_GAIN``), and fit
the intervals and the calibration of P(expressed), conditioned on how the references agree. Beside them the
marks-only prediction, the references alone and the plain rank average of the two are scored on the same genes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np

from epigex.models.folds import balanced_groups
from epigex.models.metrics import nanmean, spearman
from epigex.models.parallel import run_concurrently
from epigex.models.params import Stage
from epigex.models.reference_uncertainty import fit_agreement_uncertainty
from epigex.models.references import (
    MAX_REFS,
    CellView,
    Features,
    ReferenceModel,
    align,
    blend_predict,
    choose_references,
    cross_predict,
    feature_names,
    label_view,
    rank01,
    reference_features,
)
from epigex.models.stacking import MaskRule
from epigex.store.types import F32, F64

MIN_GAIN = 0.002
CHROM_GROUPS = 4
CELL_GROUPS = 2
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.25, 0.76, 0.05))
Q_FACTORS = (0.6, 0.8, 0.9, 1.0)


def reference_params(stage: Stage, seed: int) -> dict[str, Any]:
    """LightGBM parameters of the reference model (deterministic, one thread per booster)."""
    return {
        "objective": "binary" if stage == "classifier" else "regression",
        "learning_rate": 0.12,
        "num_leaves": 31,
        "min_data_in_leaf": 100,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": 1,
        "verbose": -1,
    }


ROUNDS = 80


@dataclass
class LabelledCell:
    """A labelled cell for the reference model: genes, chromosomes, selected features, expression."""

    name: str
    genes: np.ndarray
    chrom: np.ndarray
    X: F32
    gex: F64


@dataclass
class TargetRows:
    """One target's features (with all its references, and with one), truth and chromosomes."""

    name: str
    full: Features
    single: Features
    y: F64
    expressed: F64
    gex: F64
    chrom: np.ndarray
    marks_gex: F64


def build_views(
    cells: list[LabelledCell],
    within: dict[str, dict[Stage, lgb.Booster]],
    rule: MaskRule,
    threshold: float,
    top: list[int],
) -> dict[str, tuple[CellView, F64]]:
    """Each labelled cell as a view over its own genes (its marks from the other cells' within setups), with its
    cross predictor's masked prediction. Empty when no cell has a within setup of another cell."""
    out: dict[str, tuple[CellView, F64]] = {}
    for c in cells:
        others = [b for s, b in within.items() if s != f"within:{c.name}"]
        if not others:
            continue
        rank, p, gex = cross_predict(others, c.X, rule, threshold)
        y, e = label_view(c.gex)
        out[c.name] = (CellView(c.name, rank, p, np.ascontiguousarray(c.X[:, top]), y, e), gex)
    return out


def _aligned(view: CellView, src: np.ndarray, dst: np.ndarray) -> CellView:
    assert view.y is not None
    assert view.expressed is not None
    return CellView(
        view.name,
        align(src, view.rank, dst),
        align(src, view.p, dst),
        align(src, view.top, dst).astype(np.float32),
        align(src, view.y, dst),
        align(src, view.expressed, dst),
    )


@dataclass
class Target:
    """A labelled cell as a target: its label-free view, its references aligned to its genes, and its truth."""

    name: str
    view: CellView  # marks and top features only: its labels are not in it
    refs: list[CellView]
    y: F64
    expressed: F64
    gex: F64
    chrom: np.ndarray
    marks_gex: F64
    single: int  # which reference (by similarity order) its one-reference rows use, drawn once


def targets(cells: list[LabelledCell], views: dict[str, tuple[CellView, F64]], seed: int) -> list[Target]:
    """Every labelled cell that has another as a reference, as a target of the others."""
    rng = np.random.default_rng([seed, 4099])
    by_name = {c.name: c for c in cells}
    out = []
    for name, (view, marks_gex) in views.items():
        c = by_name[name]
        refs = [_aligned(v, by_name[r].genes, c.genes) for r, (v, _) in views.items() if r != name]
        if not refs:
            continue
        assert view.y is not None
        assert view.expressed is not None
        pick = int(rng.integers(min(len(refs), MAX_REFS)))
        out.append(
            Target(
                name,
                CellView(name, view.rank, view.p, view.top),
                refs,
                view.y,
                view.expressed,
                c.gex,
                c.chrom,
                marks_gex,
                pick,
            )
        )
    return out


def target_rows(t: Target, top_names: list[str], genes: np.ndarray | None = None) -> TargetRows:
    """A target's features with all its references and with one; similarities over ``genes`` when given."""
    chosen = choose_references(t.view, t.refs, genes=genes)
    one = [chosen[min(t.single, len(chosen) - 1)]]
    return TargetRows(
        t.name,
        reference_features(t.view, chosen, top_names, genes),
        reference_features(t.view, one, top_names, genes),
        t.y,
        t.expressed,
        t.gex,
        t.chrom,
        t.marks_gex,
    )


@dataclass
class TrainingPool:
    """Every training row once (each target with all its references and with one), binned once per stage; a fold
    trains on a subset of it (LightGBM's subsets share the bins)."""

    X: F64
    y: F64
    expressed: F64
    cell: np.ndarray  # the target of each row
    group: np.ndarray  # the chromosome group of each row
    names: list[str]
    seed: int
    _data: dict[Stage, lgb.Dataset] = field(default_factory=dict)

    @classmethod
    def build(
        cls, rows: list[TargetRows], chrom_group: dict[str, int], names: list[str], seed: int, leave_out: int = -1
    ) -> TrainingPool:
        """The pool of ``rows``' genes with references and labels, but those of chromosome group ``leave_out``
        (left out before binning: even the bin edges never see the held-out genes)."""
        xs, ys, es, cs, gs = [], [], [], [], []
        for t in rows:
            groups = np.array([chrom_group[c] for c in t.chrom])
            for f in (t.full, t.single):
                ok = f.has_ref & np.isfinite(t.y) & (groups != leave_out)
                xs.append(f.X[ok])
                ys.append(t.y[ok])
                es.append(t.expressed[ok])
                cs.append(np.full(int(ok.sum()), t.name, dtype=object))
                gs.append(groups[ok])
        return cls(
            np.concatenate(xs),
            np.concatenate(ys),
            np.concatenate(es),
            np.concatenate(cs),
            np.concatenate(gs),
            names,
            seed,
        )

    def dataset(self, stage: Stage) -> lgb.Dataset:
        """The whole pool with this stage's labels, binned (once)."""
        if stage not in self._data:
            label = self.expressed if stage == "classifier" else self.y
            params = reference_params(stage, self.seed)
            self._data[stage] = lgb.Dataset(
                self.X, label, feature_name=self.names, free_raw_data=False, params=params
            ).construct()
        return self._data[stage]

    def fit(self, stage: Stage, rows: np.ndarray | None = None) -> lgb.Booster | None:
        """A booster on the rows ``rows`` (a mask; None: all), or None when they are too few to learn from."""
        data = self.dataset(stage)
        if rows is not None:
            label = self.expressed if stage == "classifier" else self.y
            if int(rows.sum()) < 200 or len(np.unique(label[rows])) < 2:
                return None
            data = data.subset(np.flatnonzero(rows).tolist())
        return lgb.train(reference_params(stage, self.seed), data, num_boost_round=ROUNDS)


@dataclass
class OutOfFold:
    """Every target's out-of-fold predictions over its genes (NaN without references), and the features they read."""

    features: dict[str, Features]  # assembled over the chromosome groups, each group's rows from its own fold
    rank: dict[str, F64]  # learned
    p: dict[str, F64]
    blend: dict[tuple[str, float], F64]  # (target, q factor) -> the closed form's masked prediction
    blend_p: dict[str, F64]


def _empty_oof(rows: list[TargetRows]) -> OutOfFold:
    nan = {t.name: np.full(t.y.size, np.nan) for t in rows}
    return OutOfFold(
        {
            t.name: Features(
                np.full_like(t.full.X, np.nan),
                t.full.names,
                np.zeros(t.y.size, bool),
                t.full.used[:, :0],
                [],
                t.full.zero_share,
            )
            for t in rows
        },
        {k: v.copy() for k, v in nan.items()},
        {k: v.copy() for k, v in nan.items()},
        {(t.name, q): np.full(t.y.size, np.nan) for t in rows for q in Q_FACTORS},
        {k: v.copy() for k, v in nan.items()},
    )


def validate(
    targets_: list[Target], top_names: list[str], seed: int, threads: int, tick: Callable[[], None] | None = None
) -> tuple[OutOfFold, dict[str, int]]:
    """Out-of-fold predictions over chromosome groups × target groups (see the module's docstring).

    For chromosome group ``g`` the similarities that weigh and choose references are computed without ``g``'s
    genes, the boosters are trained on rows outside ``g`` of targets outside the predicted group, and only ``g``'s
    genes are predicted: nothing of a target's labels on ``g`` reaches its predictions there.
    """
    names = feature_names(top_names)
    chrom_group = balanced_groups(np.concatenate([t.chrom for t in targets_]), CHROM_GROUPS)
    cell_group = {t.name: i % CELL_GROUPS for i, t in enumerate(sorted(targets_, key=lambda t: t.name))}
    in_g = {t.name: np.array([chrom_group[c] for c in t.chrom]) for t in targets_}
    stages: tuple[Stage, Stage] = ("classifier", "regressor")
    oof: OutOfFold | None = None
    for g in sorted(set(chrom_group.values())):
        rows = [target_rows(t, top_names, genes=in_g[t.name] != g) for t in targets_]
        oof = oof or _empty_oof(rows)
        pool = TrainingPool.build(rows, chrom_group, names, seed, leave_out=g)
        row_cells = np.array([cell_group[c] for c in pool.cell])
        for st in stages:
            pool.dataset(st)  # binned before the fits run side by side
        jobs = [(k, st) for k in sorted(set(cell_group.values())) for st in stages]

        def task(k: int, st: Stage, pool: TrainingPool = pool, rows_used: np.ndarray = row_cells, g: int = g) -> Any:
            return lambda: pool.fit(st, (rows_used != k) & (pool.group != g))

        fitted = run_concurrently([task(k, st) for k, st in jobs], threads, (lambda i: tick()) if tick else None)
        for r in rows:
            m = (in_g[r.name] == g) & r.full.has_ref
            if not m.any():
                continue
            f = oof.features[r.name]
            f.X[m] = r.full.X[m]
            f.has_ref[m] = True
            for q in Q_FACTORS:
                b = blend_predict(r.full, q)
                oof.blend[(r.name, q)][m] = b.gex_predicted[m]
                oof.blend_p[r.name][m] = b.p_expressed[m]
            for (k, st), booster in zip(jobs, fitted, strict=True):
                if cell_group[r.name] != k:
                    continue
                if booster is None:  # too little to learn from: the closed form stands in
                    fb = blend_predict(r.full, 1.0)
                    val = fb.p_expressed if st == "classifier" else fb.rank_predicted
                else:
                    pred = booster.predict(r.full.X[m])
                    val = np.full(r.y.size, np.nan)
                    val[m] = pred if st == "classifier" else np.clip(pred, 0.0, 1.0)
                (oof.p if st == "classifier" else oof.rank)[r.name][m] = val[m]
    assert oof is not None
    return oof, chrom_group


def _masked(rank: F64, p: F64, t: float) -> F64:
    return np.where(p >= t, rank, 0.0)


def _score(pred: F64, truth: F64) -> float:
    ok = np.isfinite(pred) & np.isfinite(truth)
    return spearman(pred[ok], truth[ok]) if int(ok.sum()) > 10 else float("nan")


def baselines(t: Target, f: Features) -> dict[str, F64]:
    """The naive contenders over the target's genes with references (NaN elsewhere): the marks alone, the
    references' unweighted mean alone, and the plain rank average of the two."""
    m = f.has_ref
    refs_alone = np.where(m, f.column("ref_mean"), np.nan)
    ravg = np.full(t.y.size, np.nan)
    ravg[m] = rank01(t.marks_gex[m]) + rank01(refs_alone[m])
    return {"marks only": np.where(m, t.marks_gex, np.nan), "references alone": refs_alone, "rank average": ravg}


@dataclass
class ReferenceFit:
    """The fitted reference model and its evidence (kept in the model's metrics)."""

    model: ReferenceModel
    metrics: dict[str, Any]


def _tables(
    ts: list[Target], oof: OutOfFold, t_best: float, q_best: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per target cell and per (cell, chromosome): every contender's Spearman on the genes with references."""
    per_cell: list[dict[str, Any]] = []
    per_chrom: list[dict[str, Any]] = []
    for t in ts:
        f = oof.features[t.name]
        contenders = {
            "learned": _masked(oof.rank[t.name], oof.p[t.name], t_best),
            "blend": oof.blend[(t.name, q_best)],
            **baselines(t, f),
        }
        per_cell.append(
            {"cell": t.name, "genes": int(f.has_ref.sum()), **{k: _score(v, t.gex) for k, v in contenders.items()}}
        )
        for ch in sorted(set(t.chrom[f.has_ref].tolist())):
            m = t.chrom == ch
            per_chrom.append(
                {
                    "cell": t.name,
                    "chrom": ch,
                    "genes": int((m & f.has_ref).sum()),
                    **{k: _score(np.where(m, v, np.nan), t.gex) for k, v in contenders.items()},
                }
            )
    return per_cell, per_chrom


def fit_reference_model(
    cells: list[LabelledCell],
    within: dict[str, dict[Stage, lgb.Booster]],
    rule: MaskRule,
    threshold: float,
    top_names: list[str],
    top: list[int],
    *,
    seed: int = 0,
    threads: int = 1,
    tick: Callable[[], None] | None = None,
) -> ReferenceFit:
    """Fit the reference model on pairs of ``cells`` and validate it (see the module's docstring)."""
    # long by design: fit, choice and evidence share the out-of-fold predictions
    ts = targets(cells, build_views(cells, within, rule, threshold, top), seed)
    if not ts:  # one labelled cell: nothing to learn the trust from; the closed form, unvalidated
        return ReferenceFit(
            ReferenceModel("blend", top_names),
            {"mode": "blend", "why": "one labelled cell: no pair of cells to learn from", "cells": []},
        )
    oof, chrom_group = validate(ts, top_names, seed, threads, tick)

    def mean_score(pred: Callable[[Target], F64]) -> float:
        return nanmean([_score(pred(t), t.gex) for t in ts])

    t_best = max(
        THRESHOLDS, key=lambda x: (mean_score(lambda t: _masked(oof.rank[t.name], oof.p[t.name], x)), -abs(x - 0.5))
    )
    q_best = max(Q_FACTORS, key=lambda q: (mean_score(lambda t: oof.blend[(t.name, q)]), q))
    per_cell, per_chrom = _tables(ts, oof, t_best, q_best)
    learned_mean = nanmean([c["learned"] for c in per_cell])
    blend_mean = nanmean([c["blend"] for c in per_cell])
    mode = "learned" if learned_mean > blend_mean + MIN_GAIN else "blend"
    boosters: dict[str, lgb.Booster] = {}
    rows = [target_rows(t, top_names) for t in ts]
    if mode == "learned":
        pool = TrainingPool.build(rows, chrom_group, feature_names(top_names), seed)
        fits = run_concurrently([lambda: pool.fit("classifier"), lambda: pool.fit("regressor")], threads)
        boosters = {st: b for st, b in zip(("classifier", "regressor"), fits, strict=True) if b is not None}
    chosen = [
        (
            t.name,
            oof.features[t.name],
            _masked(oof.rank[t.name], oof.p[t.name], t_best) if mode == "learned" else oof.blend[(t.name, q_best)],
            oof.p[t.name] if mode == "learned" else oof.blend_p[t.name],
            t.gex,
        )
        for t in ts
    ]
    unc, evidence = fit_agreement_uncertainty(chosen)
    model = ReferenceModel(mode, top_names, t_best, q_best, boosters, unc)
    metrics = {
        "mode": mode,
        "why": f"learned {learned_mean:.4f} vs blend {blend_mean:.4f} out of fold (learned needs +{MIN_GAIN})",
        "threshold": t_best,
        "q_factor": q_best,
        "cells": per_cell,
        "chromosomes": per_chrom,
        "uncertainty": evidence,
        "training_rows": int(sum(int(f.has_ref.sum()) for r in rows for f in (r.full, r.single))),
    }
    return ReferenceFit(model, metrics)
