"""Cell lines: upload (multipart, streamed to disk), list, show, delete."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from pydantic import TypeAdapter

from epigex.app.api.deps import (
    AccessDep,
    Listing,
    PrincipalDep,
    ReadCell,
    RunnerDep,
    ServingDep,
    SettingsDep,
    StoreDep,
    WriteCell,
    Writer,
)
from epigex.app.api.schemas import (
    CellAccepted,
    CellLineDetail,
    CellLineOut,
    OwnerOut,
    QcOut,
    TrackOut,
    error_responses,
)
from epigex.app.services.cell_lines import (
    check_upload_quota,
    delete_cell_line,
    publish_cell,
    submit_cell,
    upload_fields,
)
from epigex.app.services.inventory import cell_detail, cell_lines
from epigex.app.services.qc import cell_qc
from epigex.app.services.uploads import receive_upload
from epigex.ingest.featureset import ASSAYS
from epigex.ingest.layout import CELL_NAME
from epigex.store.peak_regions import REGION, parse_region, peaks_in_region
from epigex.store.tracksets import KINDS, TrackKey

router = APIRouter(tags=["cell lines"])

_FILE = {"type": "string", "format": "binary"}
UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "description": (
                        "Every file streams to disk: each at most EPIGEX_MAX_UPLOAD_MB; the request at most the "
                        "files' budget; pauses at most EPIGEX_BODY_TIMEOUT_S. bigWig fields need a bigWig (415 "
                        "otherwise), BED fields a peak file (narrowPeak, broadPeak, gappedPeak, BED3-12, plain or "
                        "gzipped); bad content answers 422 naming the file and line, a budget exceeded 413."
                    ),
                    "required": ["name"],
                    "anyOf": [{"required": [TrackKey(a, k).field]} for a in ASSAYS for k in KINDS],
                    "properties": {
                        "name": {"type": "string", "pattern": CELL_NAME.pattern},
                        "replace": {"type": "boolean", "default": False},
                        "public": {
                            "type": "boolean",
                            "default": False,
                            "description": "with users: readable by every user, not only the uploader's project",
                        },
                        "require_all": {
                            "type": "boolean",
                            "default": False,
                            "description": "refuse the upload unless every assay has its bigWig and BED file",
                        },
                        **{TrackKey(a, k).field: _FILE for a in ASSAYS for k in KINDS},
                        "genes": {**_FILE, "description": "info TSV: the genes to predict, in submission order"},
                        "labels": {**_FILE, "description": "y TSV (gene_name gex): makes it a training cell"},
                    },
                }
            }
        },
    }
}
ERRORS = error_responses(400, 401, 403, 404, 408, 409, 413, 415, 422, 429)


@router.post(
    "/cell-lines",
    dependencies=[Writer],
    status_code=202,
    response_model=CellAccepted,
    openapi_extra=UPLOAD_SCHEMA,
    responses=ERRORS,
)
async def create_cell_line(
    request: Request,
    store: StoreDep,
    runner: RunnerDep,
    settings: SettingsDep,
    serving: ServingDep,
    access: AccessDep,
    p: PrincipalDep,
) -> CellAccepted:
    """Upload a cell line's tracks (``{assay}_bigwig``, ``{assay}_bed``); ingest runs as a job.

    The files sent say which assays the cell has: any subset of the seven, each as a bigWig, a BED file or both (at
    least one file). A cell with some of the tracks gets, in the same job, a model trained for exactly those.
    """
    length = request.headers.get("content-length")
    size = int(length) if length and length.isdigit() else None
    await run_in_threadpool(check_upload_quota, store, access, p, size, settings)  # 429 before the body
    fs = await run_in_threadpool(serving.upload_feature_set)  # from memory while the catalog is unchanged
    upload = await receive_upload(
        request.headers.get("content-type", ""),
        size,
        request.stream(),
        request.app.state.uploads / uuid.uuid4().hex,
        settings.max_upload_mb * 2**20,
        files_allowed={*upload_fields(fs), "genes", "labels"},
        text_allowed={"name", "replace", "require_all", "public"},
        idle_timeout=settings.body_timeout_s,
    )
    job = await run_in_threadpool(
        submit_cell,
        store,
        runner,
        upload,
        settings=settings,
        access=access,
        by=p,
    )
    return CellAccepted(cell_line=job.params["cell_line"], job_id=job.id, status_url=f"/jobs/{job.id}")


_CELLS = TypeAdapter(list[CellLineOut])


def _render_cells(rows: list[dict[str, Any]]) -> bytes:
    return _CELLS.dump_json(_CELLS.validate_python(rows))


@router.get("/cell-lines", dependencies=[Listing], response_model=list[CellLineOut])
def list_cell_lines(serving: ServingDep, access: AccessDep, p: PrincipalDep) -> Response:
    """Every cell line the caller may read (with users: the public ones and its project's)."""
    view = access.view()
    if view.users_mode:
        return Response(_render_cells(access.cell_rows(p, cell_lines(serving.store))), media_type="application/json")
    return Response(serving.cell_lines_body(_render_cells), media_type="application/json")


@router.get(
    "/cell-lines/{name}", dependencies=[ReadCell], response_model=CellLineDetail, responses=error_responses(404)
)
def get_cell_line(
    name: str, store: StoreDep, serving: ServingDep, access: AccessDep, p: PrincipalDep
) -> CellLineDetail:
    """One cell line with its tracks, QC and feature status."""
    d = access.redact(p, cell_detail(store, name, serving.active_id()))
    d["tracks"] = [TrackOut(**t) for t in d["tracks"]]
    return CellLineDetail(**d)


@router.get("/cell-lines/{name}/qc", dependencies=[ReadCell], response_model=QcOut, responses=error_responses(404, 409))
def get_cell_line_qc(name: str, store: StoreDep, serving: ServingDep, access: AccessDep, p: PrincipalDep) -> QcOut:
    """Track QC: per track a verdict (pass, warn, fail), the assay it looks like and why; the cell's drift."""
    return QcOut(**access.redact(p, cell_qc(store, name, keep=serving.writes)))


@router.delete(
    "/cell-lines/{name}", dependencies=[WriteCell], status_code=204, responses=error_responses(401, 403, 404, 409)
)
def remove_cell_line(name: str, store: StoreDep, runner: RunnerDep, serving: ServingDep, p: PrincipalDep) -> None:
    """Remove a cell line and all it owns (features, kept tracks, predictions)."""
    delete_cell_line(store, runner, serving, name, by=p)


@router.post(
    "/cell-lines/{name}/publish",
    dependencies=[WriteCell],
    response_model=OwnerOut,
    responses=error_responses(401, 403, 404),
)
def publish(name: str, store: StoreDep, access: AccessDep, p: PrincipalDep) -> OwnerOut:
    """Make a cell line readable by every user (its project keeps it: only its writers change or delete it)."""
    return OwnerOut(**publish_cell(store, access, p, name))


TRACK_CONTENT = {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    "text/plain": {"schema": {"type": "string"}},
}


@router.get(
    "/cell-lines/{name}/tracks/{assay}/{kind}",
    dependencies=[ReadCell],
    response_class=FileResponse,
    responses={
        200: {"content": TRACK_CONTENT, "description": "the whole file (a bigWig's bytes, or a BED's text)"},
        206: {"content": TRACK_CONTENT, "description": "the byte range asked for (HTTP Range)"},
        **error_responses(404, 422),
    },
)
def get_track(
    name: str,
    assay: str,
    kind: Literal["bigwig", "bed"],
    serving: ServingDep,
    region: Annotated[
        str | None,
        Query(
            max_length=160,
            pattern=REGION.pattern,
            description="peak files: just the lines overlapping chrom:start-end (0-based, half open), as igv.js "
            "asks region by region; ignored for a bigWig (read it with HTTP Range)",
        ),
    ] = None,
) -> Response:
    """A track file the store keeps for a cell line, with HTTP ``Range`` (206 Partial Content) for genome browsers.

    A peak file can instead be read region by region (``?region=chr1:1000-2000``): only its lines there come back.
    """
    path = serving.track_path(name, assay, kind)
    if region is not None and kind == "bed":
        return Response(peaks_in_region(path, parse_region(region)), media_type="text/plain; charset=utf-8")
    media = "application/octet-stream" if kind == "bigwig" else "text/plain; charset=utf-8"
    return FileResponse(path, media_type=media)
