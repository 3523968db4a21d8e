"""Track QC of a cell line as a service action: its tracks and features against the labelled cells' (see ingest.qc).

The verdict is computed on demand from the feature tables the store already holds (about a second), so it always
reflects the current reference cells and the active model; the CLI (``epigex qc``), the API
(``GET /cell-lines/{name}/qc``), the ingest job's result and the report all use :func:`cell_qc`.
"""

from __future__ import annotations

from typing import Any

from epigex.ingest.featureset import ASSAYS
from epigex.ingest.qc import FeatureView, Frame, drift, references, track_verdicts, worst
from epigex.store.catalog import Store
from epigex.store.cells import cell_info, feature_table, labelled_cells
from epigex.store.registry import active_model_id, get_model


def cell_qc(store: Store, cell: str, model_id: str | None = None) -> dict[str, Any]:
    """``{"cell_line", "verdict", "tracks": [{"assay", "kind", "verdict", "looks_like", "reasons", …}], "drift"}``.

    The references are the labelled cell lines other than ``cell``; the drift is over the model's selected features
    (default: the active model), weighted by their selection importance.
    """
    info = cell_info(store, cell)
    qc = info.get("qc") or {}
    refs = [c for c in labelled_cells(store) if c != cell]
    model = None
    if model_id is not None or active_model_id(store) is not None:
        model = get_model(store, model_id)
    fs_id = model.feature_set if model is not None else None
    table = FeatureView(feature_table(store, cell, fs_id))
    tracks = [
        (a, k)
        for a in ASSAYS
        for k in ("bigwig", "bed")
        if any(col.startswith(f"{a}_{'bw' if k == 'bigwig' else 'bed'}_") for col in table.columns)
    ]
    if not refs:
        return {
            "cell_line": cell,
            "verdict": "pass",
            "references": [],
            "note": "no other labelled cell line in the store to compare with: nothing was checked",
            "tracks": [{"assay": a, "kind": k, "verdict": "pass", "looks_like": a, "reasons": []} for a, k in tracks],
            "drift": None,
        }
    ref_tables: dict[str, Frame] = {c: FeatureView(feature_table(store, c, fs_id)) for c in refs}
    n = max(1, int(qc.get("genes", table.height)))
    no_data = {
        (a, k): (qc.get("genes_without_signal", {}) if k == "bigwig" else qc.get("genes_on_missing_chrom", {})).get(
            f"{a}/{k}", 0
        )
        / n
        for a, k in tracks
    }
    rows = track_verdicts(table, tracks, references(ref_tables, tracks), {key: v or 0.0 for key, v in no_data.items()})
    drifted = None
    if model is not None:
        importance = {r["feature"]: r.get("mean_abs_shap") or 0.0 for r in model.selection}
        feats = [f for f in model.features if f in table.columns]
        drifted = drift(table, ref_tables, feats, [float(importance.get(f, 0.0)) for f in feats])
        drifted["model_id"] = model.id
    verdict = worst([r["verdict"] for r in rows] + ([drifted["verdict"]] if drifted else []))
    return {"cell_line": cell, "verdict": verdict, "references": refs, "tracks": rows, "drift": drifted}
