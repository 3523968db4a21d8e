"""Per-gene explanations: the stored SHAP contributions of both stages, largest first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from epigex.models.params import STAGES, Stage
from epigex.models.predict import BASE, CellPredictions, contrib_column, value_column
from epigex.store.catalog import Store
from epigex.store.errors import NotFoundError
from epigex.store.types import F64


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


def explain_gene(store: Store, where: CellPredictions, gene: str, features: list[str], top: int = 20) -> dict[str, Any]:
    """The explanation of one gene of a (model, cell), read from the stored contributions."""
    contrib = pl.scan_parquet(store.home / where.contrib_path).filter(pl.col("gene_name") == gene).collect()
    if contrib.height == 0:
        raise NotFoundError(f"gene {gene!r} is not among cell line {where.cell}'s genes")
    pred = pl.scan_parquet(store.home / where.path).filter(pl.col("gene_name") == gene).collect()
    row = contrib.row(0, named=True)
    values = np.array([np.nan if row[value_column(f)] is None else row[value_column(f)] for f in features], dtype=float)
    shap = {st: np.array([row[contrib_column(st, f)] for f in features], dtype=float) for st in STAGES}
    base = {st: float(row[contrib_column(st, BASE)]) for st in STAGES}
    return explanation(gene, where.cell, where.model_id, pred.row(0, named=True), features, values, shap, base, top)
