"""Predictions and SHAP contributions of a registered model for a cell line, computed once and kept in the store."""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl

from epigex.models.boosters import contributions, predict_stage
from epigex.models.dataset import load_cell
from epigex.models.params import STAGES, Stage
from epigex.models.persist import LoadedModel, load_model
from epigex.models.reference_predict import overlay, reference_outputs, reference_uncertainty
from epigex.models.stacking import RECIPE, Combiner, MaskRule, stack
from epigex.models.uncertainty import Uncertainty
from epigex.store.catalog import Store
from epigex.store.cells import cell_info
from epigex.store.predictions import (
    commit_predictions,
    find_predictions,
    read_prediction_table,
)
from epigex.store.types import F32, F64


@dataclass
class Predicted:
    """The ensemble's outputs for a matrix of genes, with the per-stage contributions averaged over setups."""

    gex_predicted: F64
    p_expressed: F64
    rank_predicted: F64
    contrib: dict[Stage, F64]  # genes × (features + base value)


def predict_with(
    boosters: dict[str, dict[Stage, lgb.Booster]],
    rule: MaskRule,
    threshold: float,
    X: F32,
    *,
    explain: bool = True,
    combiner: Combiner = RECIPE,
) -> Predicted:
    """Run every stacked setup's two boosters on ``X`` and stack them with ``rule`` at ``threshold``.

    SHAP values are additive, so the mean of the setups' contributions explains the mean of their raw scores.
    """
    setups = list(boosters)
    P = np.column_stack([predict_stage(boosters[s]["classifier"], "classifier", X) for s in setups])
    R = np.column_stack([predict_stage(boosters[s]["regressor"], "regressor", X) for s in setups])
    st = stack(P, R, rule, threshold, combiner)
    contrib: dict[Stage, F64] = {}
    if explain:
        for stage in STAGES:
            per_setup = np.stack([contributions(boosters[s][stage], X) for s in setups])
            w = combiner.setup_weights("p" if stage == "classifier" else "rank", len(setups))
            contrib[stage] = per_setup.mean(axis=0) if w is None else (per_setup * w[:, None, None]).sum(axis=0)
    return Predicted(st.gex_predicted, st.p_expressed, st.rank_predicted, contrib)


def predict_matrix(model: LoadedModel, X: F32, *, explain: bool = True) -> Predicted:
    """:func:`predict_with` for a registered model."""
    rule: MaskRule = model.record.mask_rule  # type: ignore[assignment]
    boosters = {s: model.boosters[s] for s in model.record.setups}
    combiner = Combiner.from_dict(model.record.params.get("stack"))
    return predict_with(boosters, rule, model.record.threshold, X, explain=explain, combiner=combiner)


@dataclass(frozen=True)
class CellPredictions:
    """Where a (model, cell)'s predictions live in the store."""

    model_id: str
    cell: str
    path: str


def compute_predictions(store: Store, cell: str, model: LoadedModel) -> pl.DataFrame:
    """Predictions of ``model`` for ``cell``, computed now (nothing is written): gene_name, split, gex_predicted,
    p_expressed, p_expressed_raw, pct_lo, pct_hi, rank_predicted, references.

    Only the predictions: a gene's SHAP contributions are computed when it is explained (a few milliseconds for
    one gene, where every gene's would cost seconds per cell).
    """
    data = load_cell(store, cell, model.record.feature_set, model.record.features)
    pred = predict_matrix(model, data.X, explain=False)
    columns = {"gex_predicted": pred.gex_predicted.copy(), **uncertain_columns(model, pred)}
    columns["rank_predicted"] = pred.rank_predicted.copy()
    references = [""] * data.genes.size
    informed = reference_outputs(store, model, data)
    if informed is not None:
        fitted = model.record.metrics.get("uncertainty")
        stack_unc = Uncertainty.from_dict(fitted["model"]) if fitted is not None else None
        references = overlay(columns, informed, reference_uncertainty(model), stack_unc)
    return pl.DataFrame(
        {
            "gene_name": data.genes,
            "split": data.split,
            **columns,
            "references": pl.Series(references, dtype=pl.String),
        }
    )


def ensure_predictions(store: Store, cell: str, model: LoadedModel | None = None) -> CellPredictions:
    """Predictions of ``model`` (default: the active one) for ``cell``: from the store, computed and kept on
    first use."""
    model = model or load_model(store)
    digest = str(cell_info(store, cell)["input_digest"])
    found = find_predictions(store, model.id, cell, digest)
    if found:
        return CellPredictions(model.id, cell, found)
    path = commit_predictions(store, model.id, cell, digest, compute_predictions(store, cell, model))
    return CellPredictions(model.id, cell, path)


def prediction_frame(store: Store, cell: str, model: LoadedModel, *, keep: bool = True) -> pl.DataFrame:
    """The (model, cell)'s predictions: kept ones read from the store; otherwise computed, and kept if ``keep``
    (a read-only service computes them in memory and writes nothing)."""
    if keep:
        return read_predictions(store, ensure_predictions(store, cell, model))
    found = find_predictions(store, model.id, cell, str(cell_info(store, cell)["input_digest"]))
    if found:
        return read_predictions(store, CellPredictions(model.id, cell, found))
    return compute_predictions(store, cell, model)


def uncertain_columns(model: LoadedModel, pred: Predicted) -> dict[str, F64]:
    """Calibrated ``p_expressed`` (and the raw stack mean) and the 90 % percentile interval of every gene.

    The percentiles are within the predicted genes of the cell. A model trained before the uncertainty existed
    gives the raw probability and no interval (NaN).
    """
    fitted = model.record.metrics.get("uncertainty")
    if fitted is None:
        nan = np.full(pred.p_expressed.size, np.nan)
        return {"p_expressed": pred.p_expressed, "p_expressed_raw": pred.p_expressed, "pct_lo": nan, "pct_hi": nan}
    unc = Uncertainty.from_dict(fitted["model"])
    lo, hi = unc.intervals(pred.gex_predicted)
    return {
        "p_expressed": unc.calibrate(pred.p_expressed),
        "p_expressed_raw": pred.p_expressed,
        "pct_lo": lo,
        "pct_hi": hi,
    }


def read_predictions(store: Store, where: CellPredictions) -> pl.DataFrame:
    """The stored predictions of a (model, cell): gene_name, split, gex_predicted, p_expressed, rank_predicted,
    pct_lo, pct_hi (null in files written before intervals existed) and references (the cells that informed each
    gene, comma-separated; empty for none)."""
    return read_prediction_table(store, where.path)
