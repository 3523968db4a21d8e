"""Models: train (a job), list, show, report, activate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter

from epigex.app.api.deps import RunnerDep, ServingDep, SettingsDep, StoreDep, WriteAccess
from epigex.app.api.schemas import Accepted, ModelDetail, ModelOut, TrainIn, error_responses
from epigex.app.services.inventory import model_detail, model_summary
from epigex.app.services.training import submit_track_set_training, submit_training

router = APIRouter(tags=["models"])
_MODELS = TypeAdapter(list[ModelOut])


def _render_models(rows: list[dict[str, Any]]) -> bytes:
    return _MODELS.dump_json(_MODELS.validate_python(rows))


@router.post(
    "/models",
    status_code=202,
    response_model=Accepted,
    responses=error_responses(400, 401, 403, 404, 409, 422, 429),
)
def train_model(
    body: TrainIn, _: WriteAccess, store: StoreDep, runner: RunnerDep, serving: ServingDep, settings: SettingsDep
) -> Accepted:
    """Train the stacked ensemble as a background job; the new model becomes the active one.

    With ``for_cell``: train the model for that cell line's tracks instead (a cell with some of the assays), once.
    """
    if body.for_cell is not None:
        job = submit_track_set_training(store, runner, serving, settings, body.for_cell)
    else:
        job = submit_training(
            store, runner, serving, cells=body.cells, profile=body.profile, seed=body.seed, settings=settings
        )
    return Accepted(job_id=job.id, status_url=f"/jobs/{job.id}")


@router.get("/models", response_model=list[ModelOut])
def list_models(serving: ServingDep) -> Response:
    """Every model, newest first (``active`` marks the one reads use)."""
    return Response(serving.models_body(_render_models), media_type="application/json")


@router.get("/models/{model_id}", response_model=ModelDetail, responses=error_responses(404))
def get_model(model_id: str, store: StoreDep) -> ModelDetail:
    """A model's parameters, lineage and validation metrics."""
    return ModelDetail(**model_detail(store, model_id))


@router.get(
    "/models/{model_id}/report",
    response_class=Response,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **error_responses(404)},
)
async def model_report(model_id: str, serving: ServingDep) -> HTMLResponse:
    """The model's self-contained HTML report (rendered once, then served from the store)."""
    return HTMLResponse(await run_in_threadpool(serving.report_html, model_id))


@router.post("/models/{model_id}/activate", response_model=ModelOut, responses=error_responses(401, 403, 404, 409))
def activate(model_id: str, _: WriteAccess, serving: ServingDep) -> ModelOut:
    """Make a model the active one (its id whole, a unique prefix, or ``latest``)."""
    record = serving.activate(model_id)
    return ModelOut(**model_summary(record, record.id))
