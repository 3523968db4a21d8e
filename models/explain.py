"""Per-gene explanations: the stored SHAP contributions of both stages, largest first."""

from __future__ import annotations

from typing import Any

import polars as pl

from models.params import STAGES
from models.predict import CellPredictions, contrib_column
from store.catalog import Store
from store.errors import NotFoundError


def explain_row(row: dict[str, Any], features: list[str], top: int) -> dict[str, Any]:
    """Both stages' base value and top-``top`` contributions (by |SHAP|) from one contributions row."""
    stages: dict[str, Any] = {}
    for stage in STAGES:
        items: list[dict[str, Any]] = [
            {"feature": f, "value": _finite(row[f"value:{f}"]), "shap": float(row[contrib_column(stage, f)])}
            for f in features
        ]
        items.sort(key=lambda d: (-abs(float(d["shap"])), str(d["feature"])))
        stages[stage] = {"base_value": float(row[contrib_column(stage, "__base__")]), "contributions": items[:top]}
    return stages


def _finite(v: Any) -> float | None:
    return None if v is None or v != v else float(v)


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
