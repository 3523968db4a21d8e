"""Committing ingested cells: one cell at once, or every cell that is ready in one transaction, off the main thread."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from epigex.ingest.assemble import CellPlan
from epigex.store.access import Owner
from epigex.store.catalog import Store
from epigex.store.cells import CellIngest, commit_cells
from epigex.store.tracksets import TrackKey


@dataclass
class IngestOutcome:
    """What one cell's ingest did."""

    cell: str
    status: str  # ingested | unchanged
    genes: int
    seconds: float
    qc: dict[str, Any]


def commit_planned(
    store: Store,
    done: list[tuple[CellPlan, CellIngest]],
    keep_files: bool,
    *,
    link: bool = False,
    owner: Owner | None = None,
) -> list[IngestOutcome]:
    """Commit finished cells in one transaction (all or none); ``keep_files`` keeps their tracks in the store —
    moved there (an upload's), or ``link``-ed (a folder the user keeps: a hard link, or a copy). ``owner``: the
    project the cells then belong to (None: as before)."""
    batch = []
    for plan, ing in done:
        ing.owner = owner
        ing.seconds = time.perf_counter() - plan.started
        ing.qc["seconds"] = round(ing.seconds, 2)
        cf = plan.files
        kept = {
            TrackKey(a, k).path: p for k, files in (("bigwig", cf.bigwig), ("bed", cf.bed)) for a, p in files.items()
        }
        batch.append((ing, kept if keep_files else None))
    commit_cells(store, batch, link=link)
    return [IngestOutcome(ing.name, "ingested", ing.genes.height, ing.seconds, ing.qc) for _plan, ing in done]


class BatchCommitter:
    """Commits cells handed to it on a background thread, all cells waiting at that moment in one transaction.

    A catalog commit costs mostly its connection, transaction and checkpoint, not its rows, so batching what is
    ready saves the client that fixed cost per cell while the cells stay visible as soon as they are done. The
    first failure stops further commits and is raised by :meth:`put` or :meth:`close`.
    """

    def __init__(self, store: Store, keep_tracks: bool = True, owner: Owner | None = None) -> None:
        self.store = store
        self.keep_tracks = keep_tracks
        self.owner = owner
        self.outcomes: list[IngestOutcome] = []
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[CellPlan, CellIngest] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="epigex-commit", daemon=True)
        self._thread.start()

    def put(self, plan: CellPlan, ing: CellIngest) -> None:
        """Queue a finished cell for commit."""
        if self.error is not None:
            raise self.error
        self._queue.put((plan, ing))

    def close(self) -> list[IngestOutcome]:
        """Commit what is queued, stop the thread, and return the outcomes (or raise the first failure)."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.outcomes

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch, last = [item], False
            while True:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    last = True
                    break
                batch.append(nxt)
            if self.error is None:
                try:
                    self.outcomes += commit_planned(
                        self.store, batch, keep_files=self.keep_tracks, link=True, owner=self.owner
                    )
                except BaseException as err:  # handed to the caller's thread
                    self.error = err
            if last:
                return
