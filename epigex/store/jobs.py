"""Background jobs as catalog rows: created queued, run, finished as succeeded or failed; never running forever.

Each row names its ``owner``, the server instance (:mod:`store.instances`) that runs it. A server that stops
while a job runs leaves its row ``running``; :func:`settle_interrupted` (called when a server starts) looks only
at rows whose owner no longer runs, so a second server on the same store never touches the first one's jobs. Such
a job is marked failed with the progress it had reached — unless its work was committed before the server
stopped (a kill between the commit and the final status write), in which case the row is settled as succeeded
from what the catalog holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from epigex.store.catalog import Store
from epigex.store.errors import NotFoundError

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
    "owner",
    "actor",
    "project",
)
STATES = ("queued", "running", "succeeded", "failed")
INTERRUPTED = "the server stopped before this job finished; submit it again"


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
    owner: str | None = None  # the server instance that runs it
    actor: str | None = None  # who submitted it (a user, "admin", "anyone")
    project: str | None = None  # the submitter's project

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
            f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) VALUES ({', '.join(['?'] * len(JOB_COLUMNS))})",
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
                job.owner,
                job.actor,
                job.project,
            ],
        )


def save_progress(store: Store, job_id: str, progress: float, message: str) -> None:
    """Record how far a running job has come (so a restart can say where it stopped)."""
    with store.write() as con:
        con.execute(
            "UPDATE jobs SET progress = ?, message = ? WHERE id = ? AND status = 'running'", [progress, message, job_id]
        )


def get_job(store: Store, job_id: str) -> JobRow:
    """A job by id, or a clear 404-style error."""
    rows = store.query(f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs WHERE id = ?", [job_id])
    if not rows:
        raise NotFoundError(f"unknown job {job_id!r}")
    return JobRow.from_row(rows[0])


def _committed_result(con: Any, job: JobRow) -> dict[str, Any] | None:
    """What an interrupted job had committed before its server stopped, if anything."""
    p = job.params
    if job.kind == "ingest" and p.get("cell_line") and p.get("input_digest"):
        rows = con.execute(
            "SELECT n_genes, qc FROM cell_lines WHERE name = ? AND input_digest = ?",
            [p["cell_line"], p["input_digest"]],
        ).fetchall()
        if rows:
            qc = json.loads(rows[0][1]) if rows[0][1] else {}
            return {"cell_line": p["cell_line"], "status": "ingested", "genes": int(rows[0][0]), "qc": qc}
    if job.kind == "train":
        rows = con.execute("SELECT id FROM models WHERE job_id = ?", [job.id]).fetchall()
        if rows:
            return {"model_id": rows[0][0]}
    return None


def settle_interrupted(store: Store, live: set[str]) -> dict[str, int]:
    """Settle the unfinished jobs of servers that no longer run; return how many failed and how many succeeded.

    A job whose result the catalog already holds (an ingested cell with the job's input digest, a model that
    names the job) is marked succeeded with that result; any other is marked failed and
    keeps the progress it had reached.
    """
    out = {"failed": 0, "succeeded": 0}
    with store.write() as con:
        rows = con.execute(
            f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs WHERE status IN ('queued', 'running')"
        ).fetchall()
        for row in rows:
            job = JobRow.from_row(row)
            if job.owner in live:
                continue
            result = _committed_result(con, job)
            if result is not None:
                con.execute(
                    "UPDATE jobs SET status = 'succeeded', progress = 1.0, message = 'done (settled on restart)', "
                    "result = ?, error = NULL, finished_at = now() WHERE id = ?",
                    [json.dumps(result), job.id],
                )
                out["succeeded"] += 1
            else:
                con.execute(
                    "UPDATE jobs SET status = 'failed', finished_at = now(), message = 'failed', error = ? "
                    "WHERE id = ?",
                    [INTERRUPTED, job.id],
                )
                out["failed"] += 1
    return out


def job_counts(store: Store) -> dict[str, int]:
    """How many jobs are in each state."""
    counts = dict.fromkeys(STATES, 0)
    for status, n in store.query("SELECT status, count(*) FROM jobs GROUP BY status"):
        counts[status] = int(n)
    return counts


def unfinished_jobs(store: Store) -> list[JobRow]:
    """The jobs queued or running, oldest first."""
    rows = store.query(
        f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at"
    )
    return [JobRow.from_row(r) for r in rows]
