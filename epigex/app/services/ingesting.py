"""Ingest as a service action, for the CLI and the service alike: the track runner chosen once from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from epigex.app.services.ahead import predict_ahead
from epigex.app.settings import Settings
from epigex.ingest.committer import IngestOutcome
from epigex.ingest.executors import DaskRunner, LocalRunner, TrackRunner
from epigex.ingest.pipeline import ingest_dataset
from epigex.store.access import Owner
from epigex.store.catalog import Store
from epigex.store.types import ProgressFn


@contextmanager
def track_runner(settings: Settings, dask: str | None = None) -> Iterator[TrackRunner]:
    """Where track jobs run: the Dask cluster at ``dask`` (or ``EPIGEX_DASK_SCHEDULER``), else local threads."""
    address = dask or settings.dask_scheduler
    runner: TrackRunner = DaskRunner(address) if address else LocalRunner(settings.threads)
    try:
        yield runner
    finally:
        if isinstance(runner, DaskRunner):
            runner.close()


def ingest_folder(
    store: Store,
    settings: Settings,
    data_dir: Path,
    cells: list[str] | None = None,
    *,
    force_build: bool = False,
    progress: ProgressFn | None = None,
    dask: str | None = None,
    require_all: bool = False,
    replace: bool = False,
    owner: Owner | None = None,
) -> list[IngestOutcome]:
    """Ingest every (or the named) cell of a course-layout folder, within the settings' read budget; a cell may
    bring some of the tracks unless ``require_all``; a cell held from other files is replaced only with ``replace``;
    ``owner``: the project the cells belong to from now on (None: as before, a new cell public)."""
    with track_runner(settings, dask) as runner:
        outcomes = ingest_dataset(
            store,
            data_dir,
            cells,
            force_build=force_build,
            progress=progress,
            runner=runner,
            limits=settings.read_limits(),
            require_all=require_all,
            replace=replace,
            owner=owner,
        )
    predict_ahead(store, [o.cell for o in outcomes if o.status != "unchanged"])
    return outcomes
