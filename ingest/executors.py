"""Where the per-(cell, assay, kind) track work runs: a local thread pool, or the workers of a Dask cluster.

A track job is a plain, picklable description (file path, genes, feature-set definition); its result is the
track's feature columns and QC. Only the caller assembles a cell's feature table and commits it, so a worker
that dies mid-task costs a retry of that task (Dask reschedules it), never a half-written table. Workers read
the track files by path: on a cluster the data folder must be on a filesystem every worker sees.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from ingest.featureset import FeatureSetDef
from ingest.tracks import TrackResult, bed_features, bigwig_features
from store.errors import EpigexError

ProgressFn = Callable[[str, float], None]


@dataclass(frozen=True)
class TrackJob:
    """One track of one cell to turn into feature columns."""

    cell: str
    assay: str
    kind: str
    path: str
    genes: pl.DataFrame
    fs_json: str
    force_build: bool

    @property
    def label(self) -> str:
        """``"CELL ASSAY KIND"`` (the progress bars group by the first two words)."""
        return f"{self.cell} {self.assay} {self.kind}"


def run_track(job: TrackJob, progress: Callable[[float], None] | None = None) -> TrackResult:
    """Compute one track's feature columns (runs in a thread or on a Dask worker)."""
    fs = FeatureSetDef.from_json(job.fs_json)
    fn = bigwig_features if job.kind == "bigwig" else bed_features
    return fn(Path(job.path), job.assay, job.genes, fs, force_build=job.force_build, progress=progress)


class TrackRunner(Protocol):
    """Runs batches of track jobs; yields each batch's results in job order."""

    def run(self, batches: Sequence[list[TrackJob]], progress: ProgressFn | None) -> Iterator[list[TrackResult]]:
        """Results of every batch, batch by batch, in order."""
        ...


class LocalRunner:
    """A thread pool on this machine (NumPy and zlib release the GIL, so threads use the cores)."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = max(1, threads or os.cpu_count() or 1)

    def run(self, batches: Sequence[list[TrackJob]], progress: ProgressFn | None) -> Iterator[list[TrackResult]]:
        """Run each batch on the pool, one batch after another."""
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            for jobs in batches:

                def one(job: TrackJob) -> TrackResult:
                    cb = (lambda f: progress(job.label, f)) if progress else None
                    return run_track(job, cb)

                yield list(pool.map(one, jobs))


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

    def run(self, batches: Sequence[list[TrackJob]], progress: ProgressFn | None) -> Iterator[list[TrackResult]]:
        """Submit batches ahead and yield their gathered results in order."""
        from distributed import as_completed

        pending: list[tuple[list[Any], dict[str, str]]] = []
        it = iter(batches)
        try:
            for jobs in it:
                pending.append(self._submit(jobs))
                if len(pending) >= self.window:
                    break
            while pending:
                futures, labels = pending.pop(0)
                for fut in as_completed(futures):
                    if progress:
                        progress(labels[fut.key], 1.0)
                yield self.client.gather(futures)
                del futures
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(self._submit(nxt))
        finally:
            for futures, _ in pending:
                self.client.cancel(futures)

    def _submit(self, jobs: list[TrackJob]) -> tuple[list[Any], dict[str, str]]:
        futures, labels = [], {}
        for job in jobs:
            key = f"track-{job.cell}-{job.assay}-{job.kind}-{uuid.uuid4().hex[:8]}"
            futures.append(self.client.submit(run_track, job, key=key, retries=self.retries, pure=False))
            labels[key] = job.label
        return futures, labels

    def close(self) -> None:
        """Close the client if this runner opened it."""
        if self._own:
            self.client.close()
