"""Background jobs as catalog rows: created queued, run, finished as succeeded or failed; never running forever.

A server that stops while a job runs leaves its row ``running``; :func:`fail_interrupted` (called when a server
starts) marks such rows failed, with the reason, so no client polls a job that will never finish.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.catalog import Store
from store.errors import NotFoundError

JOB_COLUMNS = (
    "id",
    "kind",
    "status",
    "progress",
    "message",
    "error",
    "params",
    "result",
    "created_at",
    "started_at",
    "finished_at",
)
STATES = ("queued", "running", "succeeded", "failed")


@dataclass
class JobRow:
    """One job as the catalog keeps it."""

    id: str
    kind: str
    status: str
    progress: float
    message: str
    error: str | None
    params: dict[str, Any]
    result: dict[str, Any] | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> JobRow:
        """Build from a ``SELECT`` of :data:`JOB_COLUMNS`."""
        v = dict(zip(JOB_COLUMNS, row, strict=True))
        v["params"] = json.loads(v["params"]) if v["params"] else {}
        v["result"] = json.loads(v["result"]) if v["result"] else None
        return cls(**v)


def save_job(store: Store, job: JobRow) -> None:
    """Insert or replace a job's row."""
    with store.write() as con:
        con.execute("DELETE FROM jobs WHERE id = ?", [job.id])
        con.execute(
            f"INSERT INTO jobs VALUES ({', '.join(['?'] * len(JOB_COLUMNS))})",
            [
                job.id,
                job.kind,
                job.status,
                job.progress,
                job.message,
                job.error,
                json.dumps(job.params),
                json.dumps(job.result) if job.result is not None else None,
                job.created_at,
                job.started_at,
                job.finished_at,
            ],
        )


def get_job(store: Store, job_id: str) -> JobRow:
    """A job by id, or a clear 404-style error."""
    rows = store.query(f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs WHERE id = ?", [job_id])
    if not rows:
        raise NotFoundError(f"unknown job {job_id!r}")
    return JobRow.from_row(rows[0])


def fail_interrupted(store: Store) -> int:
    """Mark jobs left queued or running by a stopped server as failed; return how many."""
    with store.write() as con:
        n = con.execute("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").fetchall()[0][0]
        con.execute(
            "UPDATE jobs SET status = 'failed', finished_at = now(), "
            "error = 'the server stopped before this job finished; submit it again' "
            "WHERE status IN ('queued', 'running')"
        )
    return int(n)


def job_counts(store: Store) -> dict[str, int]:
    """How many jobs are in each state."""
    counts = dict.fromkeys(STATES, 0)
    for status, n in store.query("SELECT status, count(*) FROM jobs GROUP BY status"):
        counts[status] = int(n)
    return counts
