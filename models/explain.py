"""Per-gene explanations: the stored SHAP contributions of both stages, largest first."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from models.params import STAGES
from models.predict import CellPredictions, contrib_column
from store.catalog import Store
from store.errors import NotFoundError

F64 = npt.NDArray[np.float64]


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


def explain_row(row: dict[str, Any], features: list[str], top: int) -> dict[str, Any]:
    """Both stages' explanation from one row of the contributions file."""
    values = np.array([np.nan if row[f"value:{f}"] is None else row[f"value:{f}"] for f in features], dtype=float)
    return {
        stage: top_contributions(
            features,
            values,
            np.array([row[contrib_column(stage, f)] for f in features], dtype=float),
            row[contrib_column(stage, "__base__")],
            top,
        )
        for stage in STAGES
    }


def explain_gene(store: Store, where: CellPredictions, gene: str, features: list[str], top: int = 20) -> dict[str, Any]:
    """The explanation of one gene of a (model, cell), in the shape of ``GET /explain/{gene}``."""
    contrib = pl.scan_parquet(store.home / where.contrib_path).filter(pl.col("gene_name") == gene).collect()
    if contrib.height == 0:
        raise NotFoundError(f"gene {gene!r} is not among cell line {where.cell}'s genes")
    pred = pl.scan_parquet(store.home / where.path).filter(pl.col("gene_name") == gene).collect()
    return {
        "gene": gene,
        "cell_line": where.cell,
        "model_id": where.model_id,
        "gex_predicted": float(pred["gex_predicted"][0]),
        "p_expressed": float(pred["p_expressed"][0]),
        "rank_predicted": float(pred["rank_predicted"][0]),
        "stages": explain_row(contrib.row(0, named=True), features, top),
    }
