"""Background jobs: ingests and trainings."""

from __future__ import annotations

from fastapi import APIRouter

from epigex.app.api.deps import ReadJob, RunnerDep, SettingsDep
from epigex.app.api.schemas import JobOut, error_responses
from epigex.store.jobs import JobRow

router = APIRouter(tags=["jobs"])


def job_out(job: JobRow, home: str) -> JobOut:
    """The API view of a job row (the server's store path never appears in it)."""
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,  # type: ignore[arg-type]
        progress=job.progress,
        message=job.message,
        error=job.error.replace(home, "<store>") if job.error else None,
        created_at=job.created_at,
        finished_at=job.finished_at,
        result=job.result,
    )


@router.get("/jobs/{job_id}", dependencies=[ReadJob], response_model=JobOut, responses=error_responses(404))
def get_job(job_id: str, runner: RunnerDep, settings: SettingsDep) -> JobOut:
    """A job's status, progress (0..1), message, error and result."""
    return job_out(runner.get(job_id), str(settings.home))
