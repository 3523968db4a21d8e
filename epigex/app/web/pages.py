"""The web UI at ``/ui``: server-rendered pages (Jinja2) and small plain scripts, a thin client of the HTTP API.

Pages read through the same read services as the API (and so follow its read rules); everything a page writes —
an upload, a training, an activation — it sends to the API itself, with the bearer token the user typed once (kept
for the browser tab only). Every asset is served from the package (igv.js vendored from its npm release, see
``static/vendor/igv/SOURCE.md``): the UI works offline and no request leaves the host.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.templating import Jinja2Templates

from epigex.app.api.deps import AccessDep, Listing, PrincipalDep, Public, ReadUiCell, ServingDep, SettingsDep, StoreDep
from epigex.app.web import views
from epigex.ingest.featureset import ASSAYS
from epigex.store.genome import HG38_SIZES
from epigex.store.tracksets import KINDS, TrackKey

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(prefix="/ui", include_in_schema=False)


def _page(request: Request, name: str, title: str, **context: Any) -> HTMLResponse:
    settings = request.app.state.settings
    users = request.app.state.access.view().users_mode
    return templates.TemplateResponse(
        request,
        name,
        {"title": title, "token_needed": bool(settings.api_token) or users, "users_mode": users, **context},
    )


@router.get("", dependencies=[Listing], response_class=HTMLResponse)
async def cells_page(
    request: Request, store: StoreDep, serving: ServingDep, access: AccessDep, p: PrincipalDep
) -> HTMLResponse:
    """Every cell line, its tracks and their QC verdicts, and the jobs running (those the caller may see)."""
    view = await run_in_threadpool(views.cells_view, store, serving, access, p)
    return _page(request, "cells.html", "cell lines", **view)


@router.get("/upload", dependencies=[Public], response_class=HTMLResponse)
async def upload_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Upload a cell line's files (any subset of the 14 tracks) and follow its ingest."""
    fields = [{"field": TrackKey(a, k).field, "assay": a, "kind": k} for a in ASSAYS for k in KINDS]
    return _page(request, "upload.html", "upload a cell line", fields=fields, max_mb=settings.max_upload_mb)


@router.get("/cells/{cell}", dependencies=[ReadUiCell], response_class=HTMLResponse)
async def cell_page(
    request: Request, cell: str, store: StoreDep, serving: ServingDep, access: AccessDep, p: PrincipalDep
) -> HTMLResponse:
    """A cell line: QC with reasons, every gene's prediction (searchable, sortable), downloads."""
    view = await run_in_threadpool(views.cell_view, store, serving, cell, access, p)
    return _page(request, "cell.html", cell, **view)


@router.get("/cells/{cell}/genes/{gene}", dependencies=[ReadUiCell], response_class=HTMLResponse)
async def gene_page(
    request: Request, cell: str, gene: str, store: StoreDep, serving: ServingDep, access: AccessDep, p: PrincipalDep
) -> HTMLResponse:
    """A gene in a cell line: the SHAP waterfall of both stages and the genome view around it."""
    readable = partial(access.view().may_read_cell, p)
    view = await run_in_threadpool(views.gene_view, store, serving, cell, gene, readable)
    return _page(request, "gene.html", f"{gene} in {cell}", **view)


@router.get("/cells/{cell}/genes/{gene}/windows.bed", dependencies=[ReadUiCell], response_class=PlainTextResponse)
async def gene_windows(cell: str, gene: str, store: StoreDep, serving: ServingDep) -> PlainTextResponse:
    """The feature windows the model read around a gene, as BED."""
    return PlainTextResponse(await run_in_threadpool(views.windows_bed, store, serving, cell, gene))


@router.get("/models", dependencies=[Listing], response_class=HTMLResponse)
async def models_page(request: Request, store: StoreDep, access: AccessDep, p: PrincipalDep) -> HTMLResponse:
    """Every model the caller may use, its validation, activation and report."""
    return _page(request, "models.html", "models", **await run_in_threadpool(views.models_view, store, access, p))


@router.get("/genome/hg38.chrom.sizes", dependencies=[Public], response_class=PlainTextResponse)
def chrom_sizes() -> PlainTextResponse:
    """hg38's chromosome sizes: the genome view's reference (no sequence is shown, none is fetched)."""
    return PlainTextResponse("".join(f"{c}\t{n}\n" for c, n in HG38_SIZES.items()))
