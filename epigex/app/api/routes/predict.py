"""Predictions, explanations and submission ZIPs, served from the in-memory cache."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from epigex.app.api.deps import AccessDep, PrincipalDep, ReadCellLine, ReadCellQuery, ServingDep
from epigex.app.api.schemas import ExplanationOut, PredictionsOut, error_responses
from epigex.app.services.serving import allowed
from epigex.models.submission import NAME_RE, zip_name

router = APIRouter(tags=["predictions"])
MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
}
ERRORS = error_responses(404, 409, 422)
SUBMISSION_NAME = NAME_RE.pattern.removesuffix("$") + r"(_Project1(\.zip)?)?$"


@router.get(
    "/predict/{cell_line}",
    dependencies=[ReadCellLine],
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
    access: AccessDep,
    p: PrincipalDep,
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
    wanted = [g.strip() for g in genes.split(",") if g.strip()] if genes else []
    model = model and (access.use_model(p, model) or model)
    gate = access.model_gate(p)
    ps = serving.cached(cell_line, model)
    if ps is not None and not wanted:  # from memory: no thread hop
        body, verdict = allowed(ps, gate).bodies[fmt], ps.qc_verdict
    else:
        body, verdict = await run_in_threadpool(serving.table, cell_line, fmt, wanted, model, gate)
    headers = {"X-Epigex-QC": verdict} if verdict else None
    return Response(body, media_type=MEDIA[fmt], headers=headers)


@router.get("/explain/{gene}", dependencies=[ReadCellQuery], response_model=ExplanationOut, responses=ERRORS)
async def explain(
    gene: str,
    serving: ServingDep,
    access: AccessDep,
    p: PrincipalDep,
    cell_line: Annotated[str, Query(description="cell line")],
    top: Annotated[int, Query(ge=1, le=1000, description="contributions per stage")] = 20,
    model: Annotated[
        str | None, Query(description="model id (default: the active model, or the one for the cell's tracks)")
    ] = None,
) -> JSONResponse:
    """SHAP contributions of both stages for one gene (log-odds for the classifier, rank for the regressor)."""
    model = model and (access.use_model(p, model) or model)
    gate = access.model_gate(p)
    return JSONResponse(await run_in_threadpool(serving.explanation, cell_line, gene, model, top, None, gate))


@router.get(
    "/submission/{cell_line}",
    dependencies=[ReadCellLine],
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, **ERRORS},
)
async def submission(
    cell_line: str,
    serving: ServingDep,
    access: AccessDep,
    p: PrincipalDep,
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
    model = model and (access.use_model(p, model) or model)
    _, data = await run_in_threadpool(serving.submission, cell_line, model, None, access.model_gate(p))
    return Response(data, media_type="application/zip", headers={"Content-Disposition": attachment(filename)})


def attachment(filename: str) -> str:
    """A Content-Disposition for ``filename``: plain ASCII as is, any other name as RFC 6266's ``filename*``.

    Headers are Latin-1 on the wire, so Müller_Jürgen_Project1.zip travels percent-encoded in UTF-8, with an
    ASCII look-alike (Muller_Jurgen_Project1.zip) for clients that read only ``filename``.
    """
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
