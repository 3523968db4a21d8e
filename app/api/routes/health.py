"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from epigex.app.api.deps import RunnerDep, ServingDep
from epigex.app.api.schemas import HealthOut
from epigex.store.errors import EpigexError

router = APIRouter(tags=["health"])


_OK = b'{"status":"ok"}'


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> Response:
    """The process answers (liveness: no store, no thread, nothing that can be slower than a read)."""
    return Response(_OK, media_type="application/json")


@router.get("/readyz", response_model=HealthOut, responses={503: {"model": HealthOut}})
def readyz(serving: ServingDep) -> Response:
    """Ready when the store opens and an active model is loaded (503 otherwise, with the reason)."""
    try:
        model = serving.model()
    except EpigexError as err:
        return JSONResponse({"status": "not ready", "detail": str(err)}, status_code=503)
    return JSONResponse({"status": "ready", "model_id": model.id})


@router.get("/metrics", response_class=Response)
def metrics(request: Request, runner: RunnerDep) -> Response:
    """Prometheus text: request counts and latencies by route, jobs by state."""
    m = request.app.state.metrics
    for state, n in runner.counts().items():
        m.jobs.labels(state).set(n)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
