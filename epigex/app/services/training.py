"""Training as a service action: the request checked against the store at once, then a background job."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from epigex.app.services.access import ANYONE, Access, Principal
from epigex.app.services.ahead import predict_ahead
from epigex.app.services.assaysets import ModelNeeded, ensure_cell_model, target_tracks
from epigex.app.services.inventory import cell_lines
from epigex.app.services.jobs import JobRow, JobRunner, Report, track_set_job_key
from epigex.app.services.serving import Serving
from epigex.app.settings import Settings
from epigex.models.pipeline import train_from_store
from epigex.store.access import Owner, claim, record
from epigex.store.catalog import Store
from epigex.store.errors import ConflictError, InputError, NotFoundError
from epigex.store.registry import ModelRecord
from epigex.store.tracksets import describe
from epigex.store.types import ProgressFn


def check_training_cells(store: Store, cells: list[str] | None, readable: Callable[[str], bool] | None = None) -> None:
    """Refuse, before any job is queued, cells that are unknown (or not ``readable``), listed twice or unlabelled."""
    known = {c["name"]: c["labelled"] for c in cell_lines(store) if readable is None or readable(c["name"])}
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
    by: Principal = ANYONE,
) -> ModelRecord:
    """Train, register and activate a model (an identical one already registered is reused and activated).

    A user who is not an admin trains a model of its project: registered, not activated (the active model is what
    every project reads by default), private to the project unless an admin shares it.
    """
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
        activate=by.admin,
    )
    assert record is not None  # registered
    if by.project is not None:
        claim(store, "model", record.id, Owner(by.project, False))
    if by.admin:
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
    access: Access | None = None,
    by: Principal = ANYONE,
) -> JobRow:
    """Check the request and queue a training job for ``by``; an admin's new model becomes the active one.

    With users, a cell ``by`` may not read is unknown to it, and no cells means every labelled cell it may read.
    """
    view = access.view() if access is not None else None
    if view is not None and view.users_mode and not by.admin:
        readable = partial(view.may_read_cell, by)
        check_training_cells(store, cells, readable)
        if cells is None:
            cells = [c["name"] for c in cell_lines(store) if c["labelled"] and readable(c["name"])]
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
            by=by,
        )
        serving.forget_active()
        stack = {r["cell"]: r["spearman_masked"] for r in record.metrics["summary"] if r["kind"] == "stack"}
        return {"model_id": record.id, "metrics": {"stack_spearman_masked": stack, **record.metrics["chosen"]}}

    job = runner.submit("train", {"cells": cells, "profile": profile, "seed": seed}, work, by=by)
    record(store, by.name, by.project, "train", ",".join(cells or ["(every labelled cell)"]), detail=f"job {job.id}")
    return job


def submit_track_set_training(
    store: Store, runner: JobRunner, serving: Serving, settings: Settings, cell: str, *, by: Principal = ANYONE
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

    job = runner.submit("train", {"cell_line": cell, "tracks": needed.tracks, "profile": "quick"}, work, key=key, by=by)
    record(store, by.name, by.project, "train", cell, detail=f"job {job.id}: the model for its tracks")
    return job
