"""Views of the store for the API and the CLI: cell lines and models as plain dicts; activating a model."""

from __future__ import annotations

from typing import Any

from epigex.app.services.access import Principal
from epigex.models.persist import load_model
from epigex.store.access import Owner, owner_of, set_owner
from epigex.store.access import record as audit
from epigex.store.catalog import Store
from epigex.store.cells import cell_feature_sets, cell_info, cell_tracks, list_cells, predicted_by
from epigex.store.registry import ModelRecord, activate_model, active_model_id, get_model, list_models


def cell_lines(store: Store) -> list[dict[str, Any]]:
    """Every cell line, by name."""
    return list_cells(store)


def cell_detail(store: Store, name: str, active: str | None) -> dict[str, Any]:
    """A cell line with its tracks, QC, feature sets and which models have predicted it."""
    info = cell_info(store, name)
    sets = cell_feature_sets(store, name)
    ready = active is not None and get_model(store, active).feature_set in sets
    return {
        "name": info["name"],
        "labelled": info["labelled"],
        "genes": info["n_genes"],
        "source": info["source"],
        "created_at": info["created_at"],
        "seconds": info["seconds"],
        "qc": {k: v for k, v in (info["qc"] or {}).items() if k != "track_profile"},  # the profile is QC's own
        "tracks": cell_tracks(store, name),
        "feature_sets": sets,
        "ready_for_active_model": ready,
        "predictions_for": predicted_by(store, name),
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
        "tracks": r.tracks,
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


def share_model(store: Store, by: Principal, ref: str) -> dict[str, Any]:
    """Share a model with every user (admins); the owner row as it now is."""
    record = get_model(store, ref)
    old = owner_of(store, "model", record.id)
    set_owner(store, "model", record.id, Owner(old.project, True))
    audit(store, by.name, by.project, "share", record.id)
    return {"kind": "model", "name": record.id, "project": old.project, "public": True}


def activate_checked(store: Store, ref: str) -> ModelRecord:
    """Make the model ``ref`` (an id, a unique prefix or ``latest``) active, once its files are known to load.

    The id is resolved once; a model whose booster files are damaged is refused before anything changes.
    """
    record = get_model(store, ref)
    load_model(store, record.id)
    return activate_model(store, record.id)
