"""Training as a service action: the request checked against the store at once, then a background job."""

from __future__ import annotations

from typing import Any

from epigex.app.services.ahead import predict_ahead
from epigex.app.services.assaysets import ModelNeeded, ensure_cell_model, target_tracks
from epigex.app.services.inventory import cell_lines
from epigex.app.services.jobs import JobRow, JobRunner, Report, track_set_job_key
from epigex.app.services.serving import Serving
from epigex.app.settings import Settings
from epigex.models.pipeline import train_from_store
from epigex.store.catalog import Store
from epigex.store.errors import ConflictError, InputError, NotFoundError
from epigex.store.registry import ModelRecord
from epigex.store.tracksets import describe
from epigex.store.types import ProgressFn


def check_training_cells(store: Store, cells: list[str] | None) -> None:
    """Refuse, before any job is queued, cells that are unknown, listed twice or unlabelled."""
    known = {c["name"]: c["labelled"] for c in cell_lines(store)}
    if cells is None:
        if not any(known.values()):
            raise ConflictError("the store has no labelled cell line to train on; ingest one with labels first")
        return
    if not cells:
        raise InputError("cells is empty; leave it out to train on every labelled cell line")
    dup = sorted({c for c in cells if cells.count(c) > 1})
    if dup:
        raise InputError(f"cell line(s) listed twice: {', '.join(dup)}")
    unknown = [c for c in cells if c not in known]
    if unknown:
        raise NotFoundError(f"unknown cell line(s): {', '.join(unknown)}; see GET /cell-lines")
    unlabelled = [c for c in cells if not known[c]]
    if unlabelled:
        raise ConflictError(f"cell line(s) {', '.join(unlabelled)} have no labels; train on labelled cells only")


def train(
    store: Store,
    settings: Settings,
    *,
    cells: list[str] | None,
    profile: str,
    seed: int = 0,
    progress: ProgressFn | None = None,
    dask: str | None = None,
    job_id: str | None = None,
) -> ModelRecord:
    """Train, register and activate a model (an identical one already registered is reused and activated)."""
    check_training_cells(store, cells)
    _, record = train_from_store(
        store,
        cells,
        profile,
        seed=seed,
        threads=settings.threads,
        progress=progress,
        dask=dask or settings.dask_scheduler,
        job_id=job_id,
    )
    assert record is not None  # registered
    predict_ahead(store, only_model=record.id)
    return record


def submit_training(
    store: Store,
    runner: JobRunner,
    serving: Serving,
    *,
    cells: list[str] | None,
    profile: str,
    seed: int,
    settings: Settings,
) -> JobRow:
    """Check the request and queue a training job; the new model becomes the active one."""
    check_training_cells(store, cells)

    def work(report: Report) -> dict[str, Any]:
        record = train(
            store,
            settings,
            cells=cells,
            profile=profile,
            seed=seed,
            progress=lambda label, f: report(f, f"training: {label}"),
            job_id=report.job_id,
        )
        serving.forget_active()
        stack = {r["cell"]: r["spearman_masked"] for r in record.metrics["summary"] if r["kind"] == "stack"}
        return {"model_id": record.id, "metrics": {"stack_spearman_masked": stack, **record.metrics["chosen"]}}

    return runner.submit("train", {"cells": cells, "profile": profile, "seed": seed}, work)


def submit_track_set_training(
    store: Store, runner: JobRunner, serving: Serving, settings: Settings, cell: str
) -> JobRow:
    """Queue (once) the training of the model ``cell``'s track set needs; the job that already does it, if any.

    A cell that has every shared track is served by the active model: 409, there is nothing to train for it.
    """
    target = target_tracks(store, cell)
    if target is None:
        raise ConflictError(
            f"cell line {cell!r} has every track the labelled cells share: the active model serves it "
            '(train a new one with POST /models {"cells": [...]})'
        )
    needed = ModelNeeded(cell, target)
    key = track_set_job_key(needed.tracks)
    running = runner.holder(key)
    if running is not None:
        return running

    def work(report: Report) -> dict[str, Any]:
        record = ensure_cell_model(
            store,
            settings,
            cell,
            progress=lambda label, f: report(f, f"training for {describe(needed.tracks)}: {label}"),
        )
        predict_ahead(store, only_model=record.id)
        serving.forget_cell(cell)
        return {"model_id": record.id, "tracks": record.tracks, "reused": record.reused}

    return runner.submit("train", {"cell_line": cell, "tracks": needed.tracks, "profile": "quick"}, work, key=key)
