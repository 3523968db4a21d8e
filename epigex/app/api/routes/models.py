"""Models: train (a job), list, show, report, activate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter

from epigex.app.api.deps import (
    AccessDep,
    Admin,
    Listing,
    PrincipalDep,
    ReadModel,
    RunnerDep,
    ServingDep,
    SettingsDep,
    StoreDep,
    Writer,
)
from epigex.app.api.schemas import Accepted, ModelDetail, ModelOut, OwnerOut, TrainIn, error_responses
from epigex.app.services.inventory import model_detail, model_summary, models, share_model
from epigex.app.services.training import submit_track_set_training, submit_training

router = APIRouter(tags=["models"])
_MODELS = TypeAdapter(list[ModelOut])


def _render_models(rows: list[dict[str, Any]]) -> bytes:
    return _MODELS.dump_json(_MODELS.validate_python(rows))


@router.post(
    "/models",
    dependencies=[Writer],
    status_code=202,
    response_model=Accepted,
    responses=error_responses(400, 401, 403, 404, 409, 422, 429),
)
def train_model(
    body: TrainIn,
    store: StoreDep,
    runner: RunnerDep,
    serving: ServingDep,
    settings: SettingsDep,
    access: AccessDep,
    p: PrincipalDep,
) -> Accepted:
    """Train the stacked ensemble as a background job; the new model becomes the active one.

    With users, a writer's model belongs to its project and is not made active (ask for it with ``?model=``);
    no ``cells`` means every labelled cell the writer may read. With ``for_cell``: train the model for that cell
    line's tracks instead (a cell with some of the assays), once.
    """
    if body.for_cell is not None:
        access.read_cell(p, body.for_cell)
        job = submit_track_set_training(store, runner, serving, settings, body.for_cell, by=p)
    else:
        job = submit_training(
            store,
            runner,
            serving,
            cells=body.cells,
            profile=body.profile,
            seed=body.seed,
            settings=settings,
            access=access,
            by=p,
        )
    return Accepted(job_id=job.id, status_url=f"/jobs/{job.id}")


@router.get("/models", dependencies=[Listing], response_model=list[ModelOut])
def list_models(serving: ServingDep, access: AccessDep, p: PrincipalDep) -> Response:
    """Every model the caller may use, newest first (``active`` marks the one reads use by default)."""
    if access.view().users_mode:
        return Response(_render_models(access.model_rows(p, models(serving.store))), media_type="application/json")
    return Response(serving.models_body(_render_models), media_type="application/json")


@router.get(
    "/models/{model_id}", dependencies=[ReadModel], response_model=ModelDetail, responses=error_responses(403, 404)
)
def get_model(model_id: str, store: StoreDep, access: AccessDep, p: PrincipalDep) -> ModelDetail:
    """A model's parameters, lineage and validation metrics."""
    return ModelDetail(**model_detail(store, access.use_model(p, model_id) or model_id))


@router.get(
    "/models/{model_id}/report",
    dependencies=[ReadModel],
    response_class=Response,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **error_responses(403, 404)},
)
async def model_report(model_id: str, serving: ServingDep, access: AccessDep, p: PrincipalDep) -> HTMLResponse:
    """The model's self-contained HTML report (rendered once, then served from the store)."""
    return HTMLResponse(await run_in_threadpool(serving.report_html, access.use_model(p, model_id) or model_id))


@router.post(
    "/models/{model_id}/activate",
    dependencies=[Admin],
    response_model=ModelOut,
    responses=error_responses(401, 403, 404, 409),
)
def activate(model_id: str, serving: ServingDep, p: PrincipalDep) -> ModelOut:
    """Make a model the active one (its id whole, a unique prefix, or ``latest``); with users, admins only."""
    record = serving.activate(model_id, by=p)
    return ModelOut(**model_summary(record, record.id))


@router.post(
    "/models/{model_id}/share",
    dependencies=[Admin],
    response_model=OwnerOut,
    responses=error_responses(401, 403, 404),
)
def share(model_id: str, store: StoreDep, p: PrincipalDep) -> OwnerOut:
    """Let every user get predictions from a model (its training cells stay hidden from who may not read them)."""
    return OwnerOut(**share_model(store, p, model_id))
