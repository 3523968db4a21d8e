"""Predictions, explanations and submission ZIPs, served from the in-memory cache."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from epigex.app.api.deps import ServingDep
from epigex.app.api.schemas import ExplanationOut, PredictionsOut, error_responses
from epigex.app.services.assaysets import ModelNeeded
from epigex.app.services.serving import PredictionSet, Serving
from epigex.app.services.training import submit_track_set_training
from epigex.models.submission import NAME_RE, submission_zip, zip_name
from epigex.store.errors import ConflictError
from epigex.store.tracksets import describe

router = APIRouter(tags=["predictions"])
MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
}
ERRORS = error_responses(404, 409, 422)
SUBMISSION_NAME = NAME_RE.pattern.removesuffix("$") + r"(_Project1)?(\.zip)?$"


async def prediction_set(serving: Serving, cell: str, model: str | None, request: Request) -> PredictionSet:
    """From memory when current (no thread hop), else loaded or computed in a worker thread.

    A cell with some of the tracks whose model is not trained yet gets it queued as a job (once) and a 409 that
    names the job; a read-only service only says so.
    """
    ps = serving.cached(cell, model)
    if ps is None:
        try:
            ps = await run_in_threadpool(serving.predictions, cell, model)
        except ModelNeeded as needed:
            state = request.app.state
            if state.settings.read_only:
                raise ConflictError(f"{needed}; this service is read-only, so train it with the CLI") from None
            job = await run_in_threadpool(
                submit_track_set_training, state.store, state.runner, serving, state.settings, needed
            )
            raise ConflictError(
                f"cell line {cell!r} has {describe(needed.tracks)}: the model for these tracks is being trained in "
                f"job {job.id} (GET /jobs/{job.id}); ask again when it has finished"
            ) from None
    return ps


@router.get(
    "/predict/{cell_line}",
    response_model=PredictionsOut,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "text/tab-separated-values": {"schema": {"type": "string"}},
            }
        },
        **ERRORS,
    },
)
async def predict(
    cell_line: str,
    serving: ServingDep,
    request: Request,
    genes: Annotated[str | None, Query(description="comma-separated gene names (default: every gene)")] = None,
    fmt: Annotated[Literal["json", "csv", "tsv"], Query(alias="format", description="response format")] = "json",
    model: Annotated[
        str | None, Query(description="model id (default: the active model, or the one for the cell's tracks)")
    ] = None,
) -> Response:
    """Predictions for a cell line's genes.

    Per gene: gex_predicted, the calibrated p_expressed, rank_predicted, and pct_lo..pct_hi, a 90 % interval of
    the gene's expression percentile within the cell.
    """
    ps = await prediction_set(serving, cell_line, model, request)
    if genes:
        body = serving.genes_body(ps, [g.strip() for g in genes.split(",") if g.strip()], fmt)
    else:
        body = ps.bodies[fmt]
    headers = {"X-Epigex-QC": ps.qc_verdict} if ps.qc_verdict else None
    return Response(body, media_type=MEDIA[fmt], headers=headers)


@router.get("/explain/{gene}", response_model=ExplanationOut, responses=ERRORS)
async def explain(
    gene: str,
    serving: ServingDep,
    request: Request,
    cell_line: Annotated[str, Query(description="cell line")],
    top: Annotated[int, Query(ge=1, le=1000, description="contributions per stage")] = 20,
    model: Annotated[
        str | None, Query(description="model id (default: the active model, or the one for the cell's tracks)")
    ] = None,
) -> JSONResponse:
    """SHAP contributions of both stages for one gene (log-odds for the classifier, rank for the regressor)."""
    ps = await prediction_set(serving, cell_line, model, request)
    return JSONResponse(serving.explain(ps, gene, top))


@router.get(
    "/submission/{cell_line}",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, **ERRORS},
)
async def submission(
    cell_line: str,
    serving: ServingDep,
    request: Request,
    name: Annotated[
        str,
        Query(description="Last_First (the ZIP is Last_First_Project1.zip)", pattern=SUBMISSION_NAME, max_length=200),
    ] = "Last_First",
    model: Annotated[
        str | None, Query(description="model id (default: the active model, or the one for the cell's tracks)")
    ] = None,
) -> Response:
    """The course submission ZIP over the cell's test info-file genes, in their order."""
    filename = zip_name(name)
    ps = await prediction_set(serving, cell_line, model, request)
    data = submission_zip(ps.frame)
    return Response(
        data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
