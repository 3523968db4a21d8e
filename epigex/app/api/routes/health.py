"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from epigex.app.api.deps import Public, RunnerDep, ServingDep
from epigex.app.api.schemas import HealthOut, SeedOut
from epigex.store.errors import EpigexError
from epigex.store.jobs import JobRow

router = APIRouter(tags=["health"])


_OK = b'{"status":"ok"}'


@router.get("/healthz", dependencies=[Public], response_model=HealthOut)
async def healthz() -> Response:
    """The process answers (liveness: no store, no thread, nothing that can be slower than a read)."""
    return Response(_OK, media_type="application/json")


@router.get("/readyz", dependencies=[Public], response_model=HealthOut, responses={503: {"model": HealthOut}})
def readyz(serving: ServingDep, runner: RunnerDep) -> Response:
    """Ready when the store opens and an active model is loaded (503 otherwise, with the reason).

    While the first-start seed job (``EPIGEX_SEED_DEMO``) has not made a model, the reason says where it stands,
    and why it failed if it did.
    """
    try:
        model = serving.model()
    except EpigexError as err:
        body: dict[str, object] = {"status": "not ready", "detail": str(err)}
        if (seed := runner.latest("seed")) is not None:
            body["seed"] = seed_state(seed)
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "model_id": model.id})


def seed_state(job: JobRow) -> dict[str, object]:
    """The seed job's state as ``/readyz`` shows it."""
    return SeedOut(
        job_id=job.id, status=job.status, progress=round(job.progress, 3), message=job.message, error=job.error
    ).model_dump()


@router.get("/metrics", dependencies=[Public], response_class=Response)
def metrics(request: Request, runner: RunnerDep) -> Response:
    """Prometheus text: request counts and latencies by route, jobs by state."""
    m = request.app.state.metrics
    for state, n in runner.counts().items():
        m.jobs.labels(state).set(n)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
