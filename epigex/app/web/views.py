"""What the web UI's pages show, gathered from the read services: plain dicts for the templates, no HTML here.

The pages are a thin client of the service: every figure comes from the same functions the API answers with, and
whatever the browser does afterwards (sorting, uploading, activating) it does through the API itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from epigex.app.services.access import Access, Principal
from epigex.app.services.inventory import cell_lines, model_detail, models
from epigex.app.services.qc import cell_qc
from epigex.app.services.serving import Serving
from epigex.ingest.featureset import FeatureSetDef, default_feature_set
from epigex.ingest.neighbourhood import RINGS
from epigex.ingest.windows import GeneCoords, named_windows
from epigex.store.catalog import Store
from epigex.store.cells import cell_genes, cell_tracks, feature_set_definition
from epigex.store.errors import EpigexError, NotFoundError
from epigex.store.genome import HG38_SIZES
from epigex.store.jobs import unfinished_jobs
from epigex.store.registry import get_model
from epigex.store.tracksets import KINDS

ASSAY_ORDER = ("H3K4me3", "H3K27ac", "DNase", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3")


def drift_note(drift: dict[str, Any] | None) -> str:
    """One line on a cell's drift from the training cells (its score beside theirs)."""
    if not drift:
        return ""
    score, base = drift.get("score"), drift.get("training_cells_baseline")
    if score is None or base is None:
        return f"drift {drift.get('verdict')}"
    return f"drift score {score:.3f}; between the training cells {base:.3f}"


def cells_view(store: Store, serving: Serving, access: Access, p: Principal) -> dict[str, Any]:
    """Every cell line ``p`` may read with its tracks, each track's QC verdict and reasons, its drift; and the
    running jobs ``p`` may see."""
    rows = []
    view = access.view()
    for c in access.cell_rows(p, cell_lines(store)) if view.users_mode else cell_lines(store):
        try:
            qc: dict[str, Any] = cell_qc(store, c["name"], keep=serving.writes)
        except EpigexError as err:  # a cell QC cannot judge yet (no model): shown, not fatal
            qc = {"verdict": None, "tracks": [], "drift": None, "note": str(err)}
        qc = access.redact(p, qc)
        rows.append({**c, "qc": qc, "drift_note": drift_note(qc.get("drift"))})
    jobs = [
        {"id": j.id, "kind": j.kind, "status": j.status, "progress": j.progress, "message": j.message, **j.params}
        for j in unfinished_jobs(store)
        if not view.users_mode or view.may_see_job(p, j.project, j.actor)
    ]
    return {"cells": rows, "jobs": jobs}


def cell_view(store: Store, serving: Serving, cell: str, access: Access, p: Principal) -> dict[str, Any]:
    """A cell line: its facts, tracks and QC (the predictions table is fetched by the page from the API)."""
    info = next((c for c in cell_lines(store) if c["name"] == cell), None)
    if info is None:
        raise NotFoundError(f"unknown cell line {cell!r}")
    try:
        qc: dict[str, Any] | None = cell_qc(store, cell, keep=serving.writes)
    except EpigexError:
        qc = None
    qc = access.redact(p, qc)
    note = drift_note(qc.get("drift")) if qc else ""
    return {"cell": info, "qc": qc, "tracks": cell_tracks(store, cell), "drift_note": note}


def models_view(store: Store, access: Access, p: Principal) -> dict[str, Any]:
    """Every model ``p`` may use, with each one's validation summary (if ``p`` may read its training cells)."""
    out = []
    view = access.view()
    for m in access.model_rows(p, models(store)) if view.users_mode else models(store):
        if view.users_mode and not view.may_see_training(p, m["id"]):
            out.append({**m, "summary": [], "references": None})
            continue
        detail = model_detail(store, m["id"])
        out.append(
            {**m, "summary": detail["metrics"].get("summary", []), "references": detail["metrics"].get("references")}
        )
    return {"models": out}


def _coords(store: Store, cell: str, gene: str) -> tuple[str, GeneCoords]:
    genes = cell_genes(store, cell).filter(gene_name=gene)
    if genes.height == 0:
        raise NotFoundError(f"gene {gene!r} is not among cell line {cell}'s genes")
    r = genes.row(0, named=True)

    def one(v: int) -> np.ndarray:
        return np.array([v], dtype=np.int64)

    coords = GeneCoords(
        one(r["gene_start"]), one(r["gene_end"]), one(r["tss_start"]), one(r["tss_end"]), np.array([r["strand"] == "-"])
    )
    return str(r["chrom"]), coords


def _feature_set(store: Store, serving: Serving, cell: str) -> FeatureSetDef:
    try:
        ps = serving.predictions(cell)
        definition = feature_set_definition(store, get_model(store, ps.model_id).feature_set)
    except EpigexError:
        definition = None
    return FeatureSetDef.from_json(definition) if definition else default_feature_set()


def windows_bed(store: Store, serving: Serving, cell: str, gene: str) -> str:
    """The feature windows the model read around a gene, as BED lines (name = the window)."""
    chrom, coords = _coords(store, cell, gene)
    fs = _feature_set(store, serving, cell)
    wins = named_windows(coords, list(fs.windows), RINGS, HG38_SIZES.get(chrom))
    return "".join(f"{chrom}\t{int(s[0])}\t{int(e[0])}\t{name}\n" for name, s, e in wins if int(e[0]) > int(s[0]))


# The span of peaks igv asks for at once around the view (a ± 100 kb view and room to pan).
PEAK_WINDOW = 1_000_000


def gene_view(
    store: Store, serving: Serving, cell: str, gene: str, readable: Callable[[str], bool], flank: int = 100_000
) -> dict[str, Any]:
    """A gene in a cell line: its locus ± ``flank`` and the tracks of the genome view — the cell's kept bigWig and
    peak files, the same tracks of the model's training cells beside them (one autoscale group per assay), and the
    feature windows."""
    chrom, coords = _coords(store, cell, gene)
    size = HG38_SIZES.get(chrom, int(coords.gene_end[0]) + flank)
    lo, hi = int(min(coords.gene_start[0], coords.tss_start[0])), int(max(coords.gene_end[0], coords.tss_end[0]))
    locus = f"{chrom}:{max(1, lo - flank + 1)}-{min(size, hi + flank)}"
    try:
        refs = [c for c in get_model(store, serving.predictions(cell).model_id).cells if c != cell and readable(c)]
    except EpigexError:
        refs = []
    tracks: list[dict[str, Any]] = []
    held = {who: cell_tracks(store, who) for who in [cell, *refs]}  # one catalog read per cell
    for assay in ASSAY_ORDER:
        for who in [cell, *refs]:
            kept = {t["kind"]: t for t in held[who] if t["assay"] == assay and t["kept_in_store"]}
            for kind in KINDS:
                if kind not in kept:
                    continue
                url = f"/cell-lines/{who}/tracks/{assay}/{kind}"
                name = f"{assay} {'signal' if kind == 'bigwig' else 'peaks'} · {who}"
                if kind == "bigwig":
                    tracks.append(
                        {
                            "name": name,
                            "url": url,
                            "type": "wig",
                            "format": "bigwig",
                            "autoscaleGroup": assay,
                            "height": 50,
                            "color": "#1f6f8b" if who == cell else "#9aa5ad",
                        }
                    )
                else:
                    tracks.append(
                        {
                            "name": name,
                            # region by region (igv's service source): a page moves kB, not whole peak files
                            "url": f"{url}?region=$CHR:$START-$END",
                            "sourceType": "service",
                            # igv asks for the view widened to this, not for the whole chromosome
                            "visibilityWindow": PEAK_WINDOW,
                            "type": "annotation",
                            "format": "bed",
                            "height": 24,
                            "displayMode": "COLLAPSED",
                            "color": "#1f6f8b" if who == cell else "#9aa5ad",
                        }
                    )
    tracks.append(
        {
            "name": "feature windows",
            "url": f"/ui/cells/{cell}/genes/{gene}/windows.bed",
            "type": "annotation",
            "format": "bed",
            "displayMode": "EXPANDED",
            "height": 140,
            "color": "#b5651d",
        }
    )
    return {"cell": cell, "gene": gene, "chrom": chrom, "locus": locus, "tracks": tracks, "references": refs}
