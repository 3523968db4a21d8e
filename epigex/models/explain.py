"""Per-gene explanations: the SHAP contributions of both stages, computed for the gene asked about, largest first.

TreeSHAP explains each row on its own, so one gene's contributions cost a few milliseconds and are the same
numbers a whole-cell computation would give; they are averaged over the stacked setups with the stack's weights
(SHAP values are additive, so the mean explains the mean).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from epigex.models.dataset import load_cell
from epigex.models.params import STAGES, Stage
from epigex.models.persist import LoadedModel
from epigex.models.predict import CellPredictions, predict_matrix
from epigex.store.catalog import Store
from epigex.store.errors import NotFoundError
from epigex.store.predictions import read_prediction_table
from epigex.store.types import F32, F64


def top_contributions(features: list[str], values: F64, shap: F64, base: float, top: int) -> dict[str, Any]:
    """A stage's base value and its ``top`` contributions by |SHAP| for one gene (ties by feature name)."""
    order = sorted(range(shap.size), key=lambda j: (-abs(shap[j]), features[j]))[:top]
    return {
        "base_value": float(base),
        "contributions": [
            {
                "feature": features[j],
                "value": float(values[j]) if np.isfinite(values[j]) else None,
                "shap": float(shap[j]),
            }
            for j in order
        ],
    }


def _maybe(v: Any) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def explanation(
    gene: str,
    cell: str,
    model_id: str,
    prediction: dict[str, Any],
    features: list[str],
    values: F64,
    shap: Mapping[Stage, F64],
    base: Mapping[Stage, float],
    top: int,
) -> dict[str, Any]:
    """The explanation of one gene in the shape of ``GET /explain/{gene}`` (CLI and service alike)."""
    return {
        "gene": gene,
        "cell_line": cell,
        "model_id": model_id,
        "gex_predicted": float(prediction["gex_predicted"]),
        "p_expressed": float(prediction["p_expressed"]),
        "rank_predicted": float(prediction["rank_predicted"]),
        "pct_lo": _maybe(prediction.get("pct_lo")),
        "pct_hi": _maybe(prediction.get("pct_hi")),
        "stages": {stage: top_contributions(features, values, shap[stage], base[stage], top) for stage in STAGES},
    }


def explain_row(
    model: LoadedModel, cell: str, gene: str, prediction: dict[str, Any], x: F32, top: int
) -> dict[str, Any]:
    """The explanation of one gene whose feature values (in the model's feature order) are ``x``."""
    marks = predict_matrix(model, np.asarray(x, dtype=np.float32).reshape(1, -1), explain=True)
    contrib = marks.contrib
    shap = {st: contrib[st][0, :-1] for st in STAGES}
    base = {st: float(contrib[st][0, -1]) for st in STAGES}
    values = np.asarray(x, dtype=np.float64)
    out = explanation(gene, cell, model.id, prediction, model.record.features, values, shap, base, top)
    refs = str(prediction.get("references") or "")
    out["references"] = refs
    if refs:  # the references moved the prediction: the SHAP values explain the marks-only one, given beside it
        out["marks_only"] = {
            "gex_predicted": float(marks.gex_predicted[0]),
            "p_expressed": float(marks.p_expressed[0]),
            "rank_predicted": float(marks.rank_predicted[0]),
        }
    return out


def explain_gene(store: Store, where: CellPredictions, gene: str, model: LoadedModel, top: int = 20) -> dict[str, Any]:
    """The explanation of one gene of a (model, cell); 404 for a gene the cell does not have, before any work."""
    pred = read_prediction_table(store, where.path, gene)
    if pred.height == 0:
        raise NotFoundError(f"gene {gene!r} is not among cell line {where.cell}'s genes")
    data = load_cell(store, where.cell, model.record.feature_set, model.record.features)
    i = int(np.flatnonzero(data.genes == gene)[0])
    return explain_row(model, where.cell, gene, pred.row(0, named=True), data.X[i], top)
