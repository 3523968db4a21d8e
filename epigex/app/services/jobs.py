"""Background jobs of the service: a thread pool, in-memory progress, a catalog row per job.

Jobs run in threads, never in forked processes: LightGBM's OpenMP runtime can deadlock in a child forked after
it has run, and the service has run LightGBM as soon as it served a prediction. Jobs run one at a time (each
already uses ``EPIGEX_THREADS`` cores); reads are served meanwhile. A job's progress lives in memory and its row
is written when it is queued, starts and ends, and its progress every few seconds in between. Each row names the
runner's ``owner`` (the server instance); :func:`store.jobs.settle_interrupted` settles only the rows of servers
that no longer run. The queue is bounded: a job beyond ``max_queued`` waiting ones is refused (429).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from epigex.app.runtime import lower_thread_priority
from epigex.app.services.access import ANYONE, Principal
from epigex.store.catalog import Store
from epigex.store.errors import BusyError, ConflictError, EpigexError, QuotaError, ResourceLimitError
from epigex.store.jobs import STATES, JobRow, get_job, job_counts, save_job, save_progress

log = logging.getLogger("epigex.jobs")
PROGRESS_SAVE_EVERY_S = 2.0
PROGRESS_SAVE_STEP = 0.05


class Report:
    """What a job's function receives: call it with ``(fraction, message)``; ``job_id`` names the job."""

    def __init__(self, job_id: str, fn: Callable[[float, str], None]) -> None:
        self.job_id = job_id
        self._fn = fn

    def __call__(self, fraction: float, message: str) -> None:
        self._fn(fraction, message)


JobFn = Callable[[Report], dict[str, Any]]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def cell_job_key(cell: str) -> str:
    """The exclusive key of the job that ingests (or deletes) a cell line: one at a time per cell."""
    return f"cell:{cell}"


def track_set_job_key(tracks: list[str]) -> str:
    """The exclusive key of the job that trains a track set's model: one at a time per track set."""
    return f"tracks:{','.join(sorted(tracks))}"


class JobRunner:
    """Runs jobs in a thread pool and answers their state from memory first, the catalog second."""

    def __init__(
        self,
        store: Store,
        workers: int = 1,
        *,
        timeout_s: float | None = None,
        owner: str | None = None,
        max_queued: int = 8,
        max_per_user: int = 2,
    ) -> None:
        self.store = store
        self.timeout_s = timeout_s
        self.owner = owner
        self.max_queued = max_queued
        self.max_per_user = max_per_user  # unfinished jobs one user may have at once (admins: no limit)
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="epigex-job")
        self._jobs: dict[str, JobRow] = {}
        self._keys: dict[str, str] = {}  # exclusive key (e.g. "cell:X3") -> job id while queued or running
        self._lock = threading.Lock()

    def submit(
        self, kind: str, params: dict[str, Any], fn: JobFn, *, key: str | None = None, by: Principal = ANYONE
    ) -> JobRow:
        """Queue ``fn`` for ``by``; with ``key``, refuse (409) while another job holding the same key is unfinished;
        refuse (429) a user who has ``max_per_user`` jobs unfinished already."""
        job = JobRow(
            id=uuid.uuid4().hex[:16],
            kind=kind,
            status="queued",
            progress=0.0,
            message="queued",
            error=None,
            params=params,
            result=None,
            created_at=_now(),
            started_at=None,
            finished_at=None,
            owner=self.owner,
            actor=by.name,
            project=by.project,
        )
        with self._lock:
            mine = sum(1 for j in self._jobs.values() if j.actor == by.name and j.status in ("queued", "running"))
            if not by.admin and mine >= self.max_per_user:
                raise QuotaError(
                    f"{by.name} has {mine} jobs unfinished already (EPIGEX_MAX_JOBS_PER_USER={self.max_per_user}); "
                    "submit this one when one of them has finished",
                    retry_after=30,
                )
            waiting = sum(1 for j in self._jobs.values() if j.status == "queued")
            if waiting >= self.max_queued:
                raise BusyError(
                    f"{waiting} jobs are already waiting; submit this one when the queue has moved (see /jobs)"
                )
            if key is not None:
                holder = self._keys.get(key)
                if holder is not None and self._jobs[holder].status in ("queued", "running"):
                    raise ConflictError(
                        f"job {holder} for {key.split(':', 1)[-1]} is still {self._jobs[holder].status}"
                    )
                self._keys[key] = job.id
            self._jobs[job.id] = job
        save_job(self.store, job)
        self._pool.submit(self._run, job, fn, key)
        return job

    def finished(
        self, kind: str, params: dict[str, Any], result: dict[str, Any], message: str, *, by: Principal = ANYONE
    ) -> JobRow:
        """Record a job that had nothing to do (e.g. an upload of files the store already has)."""
        now = _now()
        job = JobRow(
            uuid.uuid4().hex[:16],
            kind,
            "succeeded",
            1.0,
            message,
            None,
            params,
            result,
            now,
            now,
            now,
            self.owner,
            by.name,
            by.project,
        )
        with self._lock:
            self._jobs[job.id] = job
        save_job(self.store, job)
        return job

    def _run(self, job: JobRow, fn: JobFn, key: str | None) -> None:
        lower_thread_priority()  # job threads leave the cores to request handlers when both want them
        t0 = time.perf_counter()
        job.status, job.started_at, job.message = "running", _now(), "started"
        save_job(self.store, job)

        deadline = None if self.timeout_s is None else time.monotonic() + self.timeout_s
        saved = [float("-inf"), 0.0]  # when, and at what fraction, progress was last written to the catalog

        def report(fraction: float, message: str) -> None:
            # Every progress report is a point where a job over its time budget stops (before it commits).
            if deadline is not None and time.monotonic() > deadline:
                raise ResourceLimitError(
                    f"the job ran past its time budget of {self.timeout_s:g} s (EPIGEX_JOB_TIMEOUT_S) and was "
                    "stopped; nothing was changed in the store"
                )
            fraction = max(0.0, min(1.0, fraction))
            now = time.monotonic()
            # Written before it is shown, every few seconds or 5 points: a restart can tell where the job stopped.
            if now - saved[0] >= PROGRESS_SAVE_EVERY_S or fraction - saved[1] >= PROGRESS_SAVE_STEP:
                saved[0], saved[1] = now, fraction
                save_progress(self.store, job.id, fraction, message)
            job.progress = fraction
            job.message = message

        try:
            result = fn(Report(job.id, report))
            job.result = result | {"seconds": round(time.perf_counter() - t0, 2)}
            job.status, job.progress, job.message = "succeeded", 1.0, "done"
        except EpigexError as err:
            job.status, job.error, job.message = "failed", str(err), "failed"
            log.warning("job %s (%s) failed: %s", job.id, job.kind, err)
        except Exception as err:  # a bug, not the client's fault: keep the trace in the log, a short reason in the job
            log.error("job %s failed:\n%s", job.id, traceback.format_exc())
            job.status, job.error, job.message = "failed", f"internal error: {type(err).__name__}: {err}", "failed"
        job.finished_at = _now()
        try:
            save_job(self.store, job)
        finally:
            with self._lock:
                if key is not None and self._keys.get(key) == job.id:
                    del self._keys[key]
        log.info("job %s (%s) %s in %.1f s", job.id, job.kind, job.status, time.perf_counter() - t0)

    def get(self, job_id: str) -> JobRow:
        """A job's current state."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None else get_job(self.store, job_id)

    def latest(self, kind: str) -> JobRow | None:
        """This process's most recently queued job of ``kind``, if any."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.kind == kind]  # in the order they were queued
        return jobs[-1] if jobs else None

    def holder(self, key: str) -> JobRow | None:
        """The unfinished job that holds ``key``, if any."""
        with self._lock:
            holder = self._keys.get(key)
            job = self._jobs.get(holder) if holder is not None else None
            return job if job is not None and job.status in ("queued", "running") else None

    def busy(self, key: str) -> bool:
        """Whether an unfinished job holds ``key``."""
        with self._lock:
            holder = self._keys.get(key)
            return holder is not None and self._jobs[holder].status in ("queued", "running")

    def counts(self) -> dict[str, int]:
        """Jobs per state (the catalog's rows, with this process's unfinished jobs' live states)."""
        counts = job_counts(self.store)
        with self._lock:
            live = [j for j in self._jobs.values() if j.status in ("queued", "running")]
        for j in live:  # the catalog may lag by one state change
            counts[j.status] = max(counts.get(j.status, 0), sum(1 for x in live if x.status == j.status))
        return {s: counts.get(s, 0) for s in STATES}

    def shutdown(self, wait: bool = False) -> None:
        """Stop taking jobs; with ``wait``, let running ones finish."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
