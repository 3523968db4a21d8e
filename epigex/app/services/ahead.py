"""Predictions and QC verdicts computed ahead of the first read: after a model is trained and after a cell is ingested.

A read of a (model, cell) then finds its predictions in the store (a lookup), instead of computing them while
the client waits. Only what the store already implies is computed — the model that serves each cell (the active
one, or the one for its track set) — and a cell that cannot be predicted yet is skipped, never an error.
"""

from __future__ import annotations

import logging

from epigex.app.services.assaysets import model_for_cell
from epigex.app.services.qc import cell_qc
from epigex.models.persist import LoadedModel, load_model
from epigex.models.predict import ensure_predictions
from epigex.store.catalog import Store
from epigex.store.cells import cell_feature_sets, cells_overview
from epigex.store.errors import EpigexError
from epigex.store.predictions import note_served
from epigex.store.registry import active_model_id

log = logging.getLogger("epigex.ahead")


def predict_ahead(store: Store, cells: list[str] | None = None, only_model: str | None = None) -> list[str]:
    """Keep the predictions of the model that serves each of ``cells`` (default: every cell); the cells done.

    With ``only_model``, only the cells that model serves are predicted (after it was trained).
    """
    overview = cells_overview(store)
    if cells is not None and any(overview.get(c, {}).get("labelled") for c in cells):
        cells = None  # a new labelled cell is a new reference for every cell's verdict
    active = active_model_id(store)
    loaded: dict[str, LoadedModel] = {}
    done: list[str] = []
    for cell in cells if cells is not None else list(overview):
        if cell not in overview:
            continue
        try:
            own = model_for_cell(store, cell, overview)
            mid = own or active
            if mid is None or (only_model is not None and mid != only_model):
                continue
            if mid not in loaded:
                loaded[mid] = load_model(store, mid)
            if loaded[mid].record.feature_set not in cell_feature_sets(store, cell):
                continue
            ensure_predictions(store, cell, loaded[mid])
            cell_qc(store, cell, mid)  # the verdict a read of these predictions shows, kept
            note_served(store, cell, mid, via_active=mid == active and own is None)
            done.append(cell)
        except EpigexError as err:  # no model for its tracks yet, features of another set: the read will say so
            log.info("no predictions ahead for %s: %s", cell, err)
    return done
