"""Where the track work runs: a local thread pool (a task per track), or a Dask cluster (a task per (cell, assay)).

A track job is a plain, picklable description (file path, feature-set definition; the cell's genes travel with
its plan); its result is the track's feature columns and QC. Only the caller commits a cell, in one catalog
transaction, so a worker that dies mid-task costs a retry of that task (Dask reschedules it), never a
half-written table. Workers read the track files by path: on a cluster the data folder must be on a filesystem
every worker sees.
"""

from __future__ import annotations

import os
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from epigex.ingest.assemble import CellPlan, assemble_cell, assemble_serialised, run_planned_tracks
from epigex.ingest.featureset import FeatureSetDef
from epigex.ingest.hashing import sha256_file
from epigex.ingest.trackjobs import run_track
from epigex.ingest.tracks import TrackResult
from epigex.store.cells import CellIngest
from epigex.store.errors import EpigexError
from epigex.store.types import ProgressFn


class TrackRunner(Protocol):
    """Runs the track jobs of cells and assembles each cell's feature table; yields cells in order."""

    def run_cells(
        self,
        plans: Iterable[CellPlan],
        fs: FeatureSetDef,
        source: str,
        progress: ProgressFn | None,
        spool_dir: Path | None = None,
    ) -> Iterator[CellIngest]:
        """Every cell's assembled ingest, cell by cell, in order.

        ``spool_dir`` (the store's ``tmp/``) is where a runner may write finished feature tables, if it can.
        """
        ...

    def hash_files(self, paths: list[Path]) -> list[str]:
        """The sha256 of each file."""
        ...


class LocalRunner:
    """A thread pool on this machine (NumPy and zlib release the GIL, so threads use the cores).

    One cell ahead: while a cell is assembled and committed here, the pool already computes the next cell's tracks.
    """

    def __init__(self, threads: int | None = None) -> None:
        self.threads = max(1, threads or os.cpu_count() or 1)

    def run_cells(
        self,
        plans: Iterable[CellPlan],
        fs: FeatureSetDef,
        source: str,
        progress: ProgressFn | None,
        spool_dir: Path | None = None,
    ) -> Iterator[CellIngest]:
        """Run each cell's tracks on the pool and assemble it here; ``spool_dir`` is not needed."""
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            pending: deque[tuple[CellPlan, list[Future[TrackResult]]]] = deque()

            def submit(plan: CellPlan) -> None:
                def one(i: int) -> TrackResult:
                    job = plan.jobs[i]
                    cb = (lambda f: progress(job.label, f)) if progress else None
                    return run_track(job, plan.genes, cb)

                pending.append((plan, [pool.submit(one, i) for i in range(len(plan.jobs))]))

            def finish() -> CellIngest:
                plan, futures = pending.popleft()
                return assemble_cell(plan, fs, [f.result() for f in futures], source)

            try:
                for plan in plans:
                    submit(plan)
                    if len(pending) > 1:
                        yield finish()
                while pending:
                    yield finish()
            finally:
                for _plan, futures in pending:
                    for f in futures:
                        f.cancel()

    def hash_files(self, paths: list[Path]) -> list[str]:
        """Hash here, one file after another (the pool is busy with the previous cell's tracks meanwhile)."""
        return [sha256_file(p) for p in paths]


def _identity(x: Any) -> Any:
    return x


def _sees_token(path: str, token: str) -> bool:
    """Whether this worker reads ``token`` in ``path`` and may write in its folder."""
    try:
        return Path(path).read_text() == token and os.access(Path(path).parent, os.W_OK)
    except OSError:
        return False


class DaskRunner:
    """The workers of a Dask cluster (``tcp://host:8786``, or a ``distributed.Client``).

    Cells are submitted ahead, up to ``window`` cells in flight, so a cluster with more workers than one cell has
    assays stays busy; each task may be retried ``retries`` times (a lost worker's tasks are rescheduled by the
    scheduler). A cell's plan (its genes and labels) is one task whose result its (cell, assay) tasks share, so
    the genes reach each worker once per cell, not once per track; the input files are hashed on the workers (at
    high priority); and when every worker sees the store's ``tmp/`` folder (probed once per run), the assembled
    feature table is written there by the worker and only its name comes back to the client.
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
        self.window = window or max(3, n_workers // 4 + 2)
        self.retries = retries
        self._spool_seen: dict[str, bool] = {}

    def shared_spool(self, spool_dir: Path) -> bool:
        """Whether every worker sees ``spool_dir`` (a token file written here is read back there)."""
        key = str(spool_dir.resolve())
        if key not in self._spool_seen:
            token = uuid.uuid4().hex
            probe = spool_dir / f"probe-{token}"
            probe.write_text(token)
            try:
                seen = self.client.run(_sees_token, str(probe.resolve()), token)
                self._spool_seen[key] = bool(seen) and all(seen.values())
            finally:
                probe.unlink(missing_ok=True)
        return self._spool_seen[key]

    def hash_files(self, paths: list[Path]) -> list[str]:
        """Hash the files on the workers, ahead of queued track tasks."""
        if not paths:
            return []
        tag = uuid.uuid4().hex[:8]
        futures = self.client.map(
            sha256_file,
            [str(p) for p in paths],
            key=[f"sha256-{tag}-{i}" for i in range(len(paths))],
            retries=self.retries,
            priority=10,
            pure=False,
        )
        return list(self.client.gather(futures))

    def run_cells(
        self,
        plans: Iterable[CellPlan],
        fs: FeatureSetDef,
        source: str,
        progress: ProgressFn | None,
        spool_dir: Path | None = None,
    ) -> Iterator[CellIngest]:
        """Submit cells ahead (plan, tracks, then an assembling task per cell) and yield them in order."""
        from distributed import as_completed

        spool = str(spool_dir.resolve()) if spool_dir is not None and self.shared_spool(spool_dir) else None
        pending: list[tuple[Any, list[Any], dict[str, list[str]]]] = []
        it = iter(plans)
        try:
            for plan in it:
                pending.append(self._submit(plan, fs, source, spool))
                if len(pending) >= self.window:
                    break
            while pending:
                cell_future, futures, labels = pending.pop(0)
                for fut in as_completed(futures):
                    if progress:
                        for label in labels[fut.key]:
                            progress(label, 1.0)
                yield cell_future.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(self._submit(nxt, fs, source, spool))
        finally:
            for cell_future, futures, _ in pending:
                self.client.cancel([cell_future, *futures])

    def _submit(
        self, plan: CellPlan, fs: FeatureSetDef, source: str, spool: str | None
    ) -> tuple[Any, list[Any], dict[str, list[str]]]:
        tag = uuid.uuid4().hex[:8]
        name = plan.files.name
        plan_future = self.client.submit(_identity, plan, key=f"plan-{name}-{tag}", retries=self.retries, pure=False)
        # One task per (cell, assay): the assay's bigWig and BED jobs together (fewer, larger tasks for the
        # scheduler; the progress bars count per assay anyway).
        by_assay: dict[str, list[int]] = {}
        for i, job in enumerate(plan.jobs):
            by_assay.setdefault(job.assay, []).append(i)
        futures, labels = [], {}
        for assay, indices in by_assay.items():
            key = f"track-{name}-{assay}-{tag}"
            futures.append(
                self.client.submit(run_planned_tracks, plan_future, indices, key=key, retries=self.retries, pure=False)
            )
            labels[key] = [plan.jobs[i].label for i in indices]
        cell = self.client.submit(
            assemble_serialised,
            plan_future,
            fs.to_json(),
            source,
            spool,
            list(by_assay.values()),
            *futures,
            key=f"assemble-{name}-{tag}",
            retries=self.retries,
            pure=False,
        )
        return cell, futures, labels

    def close(self) -> None:
        """Close the client if this runner opened it."""
        if self._own:
            self.client.close()
