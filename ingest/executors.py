"""Where the per-(cell, assay, kind) track work runs: a local thread pool, or the workers of a Dask cluster.

A track job is a plain, picklable description (file path, genes, feature-set definition); its result is the
track's feature columns and QC. Only the caller assembles a cell's feature table and commits it, so a worker
that dies mid-task costs a retry of that task (Dask reschedules it), never a half-written table. Workers read
the track files by path: on a cluster the data folder must be on a filesystem every worker sees.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from ingest.assemble import CellPlan, assemble_cell, assemble_serialised
from ingest.featureset import FeatureSetDef
from ingest.trackjobs import TrackJob, run_track
from ingest.tracks import TrackResult
from store.cells import CellIngest
from store.errors import EpigexError

ProgressFn = Callable[[str, float], None]


class TrackRunner(Protocol):
    """Runs the track jobs of cells and assembles each cell's feature table; yields cells in order."""

    def run_cells(
        self, plans: Iterable[CellPlan], fs: FeatureSetDef, source: str, progress: ProgressFn | None
    ) -> Iterator[CellIngest]:
        """Every cell's assembled ingest, cell by cell, in order."""
        ...


class LocalRunner:
    """A thread pool on this machine (NumPy and zlib release the GIL, so threads use the cores)."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = max(1, threads or os.cpu_count() or 1)

    def run_cells(
        self, plans: Iterable[CellPlan], fs: FeatureSetDef, source: str, progress: ProgressFn | None
    ) -> Iterator[CellIngest]:
        """Run each cell's tracks on the pool, then assemble it here, one cell after another."""
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            for plan in plans:

                def one(job: TrackJob) -> TrackResult:
                    cb = (lambda f: progress(job.label, f)) if progress else None
                    return run_track(job, cb)

                yield assemble_cell(plan, fs, list(pool.map(one, plan.jobs)), source)


class DaskRunner:
    """The workers of a Dask cluster (``tcp://host:8786``, or a ``distributed.Client``).

    Batches are submitted ahead, up to ``window`` batches in flight, so a cluster with more workers than one
    cell has tracks stays busy; each task may be retried ``retries`` times (a lost worker's tasks are
    rescheduled by the scheduler).
    """

    def __init__(self, address_or_client: Any, window: int | None = None, retries: int = 3) -> None:
        from distributed import Client

        self._own = not isinstance(address_or_client, Client)
        if self._own:
            try:
                self.client = Client(address_or_client, timeout=10)
            except (OSError, TimeoutError, ValueError) as err:
                raise EpigexError(f"cannot reach the Dask scheduler at {address_or_client!r} ({err})") from None
        else:
            self.client = address_or_client
        n_workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        self.window = window or max(2, n_workers // 4 + 1)
        self.retries = retries

    def run_cells(
        self, plans: Iterable[CellPlan], fs: FeatureSetDef, source: str, progress: ProgressFn | None
    ) -> Iterator[CellIngest]:
        """Submit cells ahead (tracks, then an assembling task per cell) and yield them in order."""
        from distributed import as_completed

        pending: list[tuple[Any, list[Any], dict[str, str]]] = []
        it = iter(plans)
        try:
            for plan in it:
                pending.append(self._submit(plan, fs, source))
                if len(pending) >= self.window:
                    break
            while pending:
                cell_future, futures, labels = pending.pop(0)
                for fut in as_completed(futures):
                    if progress:
                        progress(labels[fut.key], 1.0)
                yield cell_future.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(self._submit(nxt, fs, source))
        finally:
            for cell_future, futures, _ in pending:
                self.client.cancel([cell_future, *futures])

    def _submit(self, plan: CellPlan, fs: FeatureSetDef, source: str) -> tuple[Any, list[Any], dict[str, str]]:
        futures, labels = [], {}
        for job in plan.jobs:
            key = f"track-{job.cell}-{job.assay}-{job.kind}-{uuid.uuid4().hex[:8]}"
            futures.append(self.client.submit(run_track, job, key=key, retries=self.retries, pure=False))
            labels[key] = job.label
        cell = self.client.submit(
            assemble_serialised,
            plan,
            fs.to_json(),
            source,
            *futures,
            key=f"assemble-{plan.files.name}-{uuid.uuid4().hex[:8]}",
            retries=self.retries,
            pure=False,
        )
        return cell, futures, labels

    def close(self) -> None:
        """Close the client if this runner opened it."""
        if self._own:
            self.client.close()
