"""Read-side views of the store for the API: cell lines and models as plain dicts."""

from __future__ import annotations

from typing import Any

from store.catalog import Store
from store.cells import cell_feature_sets, cell_info
from store.registry import ModelRecord, active_model_id, get_model, list_models


def cell_lines(store: Store) -> list[dict[str, Any]]:
    """Every cell line, by name."""
    rows = store.query("SELECT name, labelled, n_genes, source, created_at, seconds FROM cell_lines ORDER BY name")
    keys = ("name", "labelled", "genes", "source", "created_at", "seconds")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def cell_detail(store: Store, name: str, active: str | None) -> dict[str, Any]:
    """A cell line with its tracks, QC, feature sets and which models have predicted it."""
    info = cell_info(store, name)
    tracks = store.query(
        "SELECT assay, kind, original_name, sha256, bytes, naming, build, log1p_mean, log1p_std, "
        "genes_without_signal, stored_path IS NOT NULL FROM tracks WHERE cell_line = ? ORDER BY assay, kind",
        [name],
    )
    keys = (
        "assay",
        "kind",
        "original_name",
        "sha256",
        "bytes",
        "naming",
        "build",
        "log1p_mean",
        "log1p_std",
        "genes_without_signal",
        "kept_in_store",
    )
    sets = cell_feature_sets(store, name)
    ready = active is not None and get_model(store, active).feature_set in sets
    preds = [r[0] for r in store.query("SELECT model_id FROM predictions WHERE cell_line = ? ORDER BY 1", [name])]
    return {
        "name": info["name"],
        "labelled": info["labelled"],
        "genes": info["n_genes"],
        "source": info["source"],
        "created_at": info["created_at"],
        "seconds": info["seconds"],
        "qc": info["qc"],
        "tracks": [dict(zip(keys, t, strict=True)) for t in tracks],
        "feature_sets": sets,
        "ready_for_active_model": ready,
        "predictions_for": preds,
    }


def model_summary(r: ModelRecord, active: str | None) -> dict[str, Any]:
    """A model, briefly."""
    return {
        "id": r.id,
        "created_at": r.created_at,
        "active": r.id == active,
        "profile": r.profile,
        "cells": r.cells,
        "features": len(r.features),
        "mask_rule": r.mask_rule,
        "threshold": r.threshold,
        "stack_spearman_masked": {
            row["cell"]: row["spearman_masked"] for row in r.metrics["summary"] if row["kind"] == "stack"
        },
    }


def models(store: Store) -> list[dict[str, Any]]:
    """Every model, newest first."""
    active = active_model_id(store)
    return [model_summary(r, active) for r in list_models(store)]


def model_detail(store: Store, model_id: str) -> dict[str, Any]:
    """A model with its parameters, lineage and validation metrics."""
    r = get_model(store, model_id)
    return model_summary(r, active_model_id(store)) | {
        "feature_set": r.feature_set,
        "seed": r.seed,
        "setups": r.setups,
        "selected_features": r.features,
        "params": r.params,
        "lineage": r.lineage,
        "metrics": r.metrics,
        "timings": r.timings,
        "n_boosters": r.n_boosters,
    }
