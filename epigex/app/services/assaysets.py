"""Models for the tracks a cell line has: the track set its predictions need, found or trained once, cached.

A cell line may bring some of the seven assays, each as a bigWig, a BED file or both. Its predictions come from a
model trained, on the labelled cell lines, on exactly the tracks it has that the labelled cells share (the
*target* track set). A cell with every such track is served by the active model, as before. For any other set
the newest model registered with exactly that set is used; when there is none, one is trained on demand with the
quick profile (the CLI waits for it; the service trains it in the upload's ingest job, or queues a training job
when a read asks first) and registered without becoming the active model. These per-track-set models form a
cache bounded by ``EPIGEX_MAX_TRACK_SET_MODELS``: beyond it the least recently used are dropped, never the active
model.
"""

from __future__ import annotations

import threading
from typing import Any

from epigex.app.services.jobs import JobRunner, cell_job_key, track_set_job_key
from epigex.app.settings import Settings
from epigex.models.pipeline import train_from_store
from epigex.store.access import public_labelled_cells
from epigex.store.catalog import Store
from epigex.store.cells import cells_overview
from epigex.store.errors import ConflictError, InputError, NotFoundError
from epigex.store.registry import (
    ModelRecord,
    get_model,
    model_ids_with_tracks,
    models_with_tracks,
    prune_track_set_models,
    touch_model,
)
from epigex.store.tracksets import describe
from epigex.store.types import ProgressFn

PROFILE = "quick"
_training = threading.Lock()  # one on-demand training at a time per process: a second caller reuses the first's


class ModelNeeded(ConflictError):
    """A cell line whose track set no registered model was trained on yet."""

    def __init__(self, cell: str, tracks: list[str]) -> None:
        self.cell = cell
        self.tracks = tracks
        super().__init__(
            f"no model yet for cell line {cell!r}'s tracks ({describe(tracks)}); one is trained on demand "
            "(epigex predict does it; the service trains it in a job)"
        )


def model_needed_conflict(runner: JobRunner | None, needed: ModelNeeded) -> ConflictError:
    """The 409 a read answers for a cell whose track set has no model yet: what is missing, and who may train it.

    A read never starts a write; when a job is already training that model, it is named.
    """
    what = f"cell line {needed.cell!r} has {describe(needed.tracks)}, and no model has been trained for these tracks"
    running = None
    if runner is not None:
        running = runner.holder(track_set_job_key(needed.tracks)) or runner.holder(cell_job_key(needed.cell))
    if running is not None:
        return ConflictError(f"{what} yet: job {running.id} is training it (GET /jobs/{running.id}); ask again later")
    return ConflictError(
        f'{what} yet; a writer trains it with POST /models {{"for_cell": "{needed.cell}"}} '
        f"(or `epigex predict {needed.cell}` on the server's machine), then ask again"
    )


def shared_tracks(store: Store, overview: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """The tracks every labelled cell line has (what a default model is trained on; with users, every public one)."""
    cells = overview if overview is not None else cells_overview(store)
    pool = public_labelled_cells(store)  # with users: the cells shared models are trained on
    sets = [set(c["tracks"]) for name, c in cells.items() if c["labelled"] and (pool is None or name in pool)]
    return sorted(set.intersection(*sets)) if sets else []


def target_tracks(store: Store, cell: str, overview: dict[str, dict[str, Any]] | None = None) -> list[str] | None:
    """The track set ``cell``'s model is trained on; None when the cell has every shared track (the active model).

    Raises a clear error when none of the cell's tracks is one the labelled cells share. ``overview`` (from
    :func:`store.cells.cells_overview`) spares reading the catalog again.
    """
    cells = overview if overview is not None else cells_overview(store)
    if cell not in cells:
        raise NotFoundError(f"unknown cell line {cell!r} in the store at {store.home}")
    mine = cells[cell]["tracks"]
    shared = shared_tracks(store, cells)
    if not shared:
        return None  # nothing to train on: the usual "no model yet" errors apply
    target = sorted(set(mine) & set(shared))
    if target == shared:
        return None
    if not target:
        raise InputError(
            f"cell line {cell!r} has only {describe(mine)}: no labelled cell line has these tracks (they share "
            f"{describe(shared)}), so no model can be trained for it"
        )
    return target


def model_for_cell(store: Store, cell: str, overview: dict[str, dict[str, Any]] | None = None) -> str | None:
    """The model id that serves ``cell`` (None: the active model); :class:`ModelNeeded` when none exists yet."""
    target = target_tracks(store, cell, overview)
    if target is None:
        return None
    found = model_ids_with_tracks(store, target, public_labelled_cells(store))
    if not found:
        raise ModelNeeded(cell, target)
    return found[0]


def ensure_cell_model(
    store: Store, settings: Settings, cell: str, *, progress: ProgressFn | None = None
) -> ModelRecord:
    """The model for ``cell``'s track set, trained (quick profile) and registered when there is none."""
    target = target_tracks(store, cell)
    if target is None:
        return get_model(store)
    pool = public_labelled_cells(store)  # with users: shared data only, so every project may use the model
    with _training:
        found = models_with_tracks(store, target, pool)
        if found:
            touch_model(store, found[0].id)
            found[0].reused = True
            return found[0]
        _, record = train_from_store(
            store,
            None if pool is None else sorted(pool),
            PROFILE,
            seed=0,
            threads=settings.threads,
            progress=progress,
            activate=False,
            tracks=target,
        )
        assert record is not None  # registered
        prune_track_set_models(store, settings.max_track_set_models)
        return record
