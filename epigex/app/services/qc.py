"""Track QC of a cell line as a service action: its tracks and features against the labelled cells' (see ingest.qc).

The verdict is computed on demand from the feature tables the store already holds (about a second), so it always
reflects the current reference cells and the active model; the CLI (``epigex qc``), the API
(``GET /cell-lines/{name}/qc``), the ingest job's result and the report all use :func:`cell_qc`.
"""

from __future__ import annotations

from typing import Any

from epigex.app.services.assaysets import ModelNeeded, model_for_cell
from epigex.ingest.featureset import ASSAYS
from epigex.ingest.qc import drift, placement, references, signal_kind, track_verdicts, worst
from epigex.ingest.qc_profile import PROFILE_VERSION, cell_profile, profile_columns
from epigex.store.catalog import Store
from epigex.store.cells import cells_overview, feature_table, feature_tables
from epigex.store.errors import ConflictError, InputError, NotFoundError
from epigex.store.registry import ModelRecord, get_model
from epigex.store.tracksets import KINDS, TrackKey, track_key
from epigex.store.verdicts import find_verdict, save_verdict, verdict_inputs


def _tracks(present: list[str]) -> list[tuple[str, str]]:
    """Tracks (``assay:kind``) as (assay, kind), in the order of the assays."""
    have = set(present)
    return [(a, k) for a in ASSAYS for k in KINDS if track_key(a, k) in have]


def _profile(store: Store, cell: str, entry: dict[str, Any], fs_id: str | None) -> dict[str, Any]:
    """A cell's track profile: the one kept at ingest, or computed from its features (cells ingested before)."""
    kept = entry["qc"].get("track_profile")
    if kept is not None and kept.get("version") == PROFILE_VERSION:
        return dict(kept)
    tracks = _tracks(entry["tracks"])
    cols = [c for a, k in tracks for c in profile_columns(a, k)]
    return cell_profile(feature_table(store, cell, fs_id, cols), tracks)


def _placement(rows: list[dict[str, Any]], qc: dict[str, Any]) -> None:
    """Add the verdict on peaks outside the genome (kept at ingest) to each peak file's row."""
    outside = qc.get("outside_genome", {})
    for r in rows:
        verdict, reason = placement(outside.get(TrackKey(r["assay"], r["kind"]).path))
        if reason is not None:
            r["verdict"] = worst([r["verdict"], verdict])
            r["reasons"].append(reason)


def _signal_kinds(rows: list[dict[str, Any]], qc: dict[str, Any], refs: dict[str, dict[str, Any]]) -> None:
    """Add the verdict on each bigWig's signal type against the reference cells' (kept at ingest) to its row."""
    own = qc.get("signal_types", {})
    for r in rows:
        if r["kind"] != "bigwig":
            continue
        path = TrackKey(r["assay"], r["kind"]).path
        theirs = {c: q.get("signal_types", {}).get(path) for c, q in refs.items()}
        verdict, reason = signal_kind(own.get(path), theirs, r["assay"])
        if reason is not None:
            r["verdict"] = worst([r["verdict"], verdict])
            r["reasons"].append(reason)


def _drift_model(
    store: Store, cell: str, model_id: str | None, overview: dict[str, dict[str, Any]]
) -> ModelRecord | None:
    """The model whose features the drift is over: the one asked for, else the one that serves the cell."""
    if model_id is not None:
        return get_model(store, model_id)
    try:
        own = model_for_cell(store, cell, overview)
    except (ModelNeeded, InputError):  # no model for its tracks yet: the active one, over the features it has
        own = None
    try:
        return get_model(store, own)
    except ConflictError:  # no model yet at all
        return None


def cell_qc(store: Store, cell: str, model_id: str | None = None, *, keep: bool = True) -> dict[str, Any]:
    """``{"cell_line", "verdict", "tracks": [{"assay", "kind", "verdict", "looks_like", "reasons", …}], "drift"}``.

    The references are the labelled cell lines other than ``cell``, compared through the track profiles kept at
    ingest; the drift is over the selected features of the model that serves the cell (or ``model_id``), weighted
    by their selection importance, and reads only those columns. Verdicts are kept in the catalog per (cell, model)
    — computed when a cell is ingested or a model trained (:mod:`app.services.ahead`) — so a read looks one up; one
    missing (or computed from other inputs) is computed here, and kept if ``keep``.
    """
    overview = cells_overview(store)
    if cell not in overview:
        raise NotFoundError(f"unknown cell line {cell!r} in the store at {store.home}")
    model = _drift_model(store, cell, model_id, overview)
    inputs = verdict_inputs(overview, cell)
    found = find_verdict(store, cell, model.id if model else "", inputs)
    if found is not None:
        return found
    verdict = _judge(store, cell, model, overview)
    if keep:
        save_verdict(store, cell, model.id if model else "", inputs, verdict)
    return verdict


def _judge(store: Store, cell: str, model: ModelRecord | None, overview: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The verdict of ``cell`` against the other labelled cells and ``model``'s features, computed now."""
    entry = overview[cell]
    qc = entry["qc"]
    refs = [c for c, e in overview.items() if e["labelled"] and c != cell]
    tracks = _tracks(entry["tracks"])
    if not refs:
        rows: list[dict[str, Any]] = [
            {"assay": a, "kind": k, "verdict": "pass", "looks_like": a, "reasons": []} for a, k in tracks
        ]
        _placement(rows, qc)
        for r in rows:  # what was checked (placement) first, then what could not be
            r["reasons"].append("not compared")
        return {
            "cell_line": cell,
            "verdict": worst([r["verdict"] for r in rows]),
            "references": [],
            "note": "no other labelled cell line in the store to compare with: the tracks' profiles were not checked",
            "tracks": rows,
            "drift": None,
        }
    fs_id = model.feature_set if model is not None else None
    n = max(1, int(qc.get("genes", 0) or 1))
    no_data = {
        (a, k): (qc.get("genes_without_signal", {}) if k == "bigwig" else qc.get("genes_on_missing_chrom", {})).get(
            TrackKey(a, k).path, 0
        )
        / n
        for a, k in tracks
    }
    ref = references({c: _profile(store, c, overview[c], fs_id) for c in refs}, tracks)
    rows = track_verdicts(
        _profile(store, cell, entry, fs_id), tracks, ref, {key: v or 0.0 for key, v in no_data.items()}
    )
    _placement(rows, qc)
    _signal_kinds(rows, qc, {c: overview[c]["qc"] for c in refs})
    drifted = None
    if model is not None:
        importance = {r["feature"]: r.get("mean_abs_shap") or 0.0 for r in model.selection}
        tables = feature_tables(store, [cell, *refs], model.feature_set, model.features)
        feats = [f for f in model.features if f in tables[cell].columns]
        ref_tables = {c: tables[c] for c in refs}
        drifted = drift(tables[cell], ref_tables, feats, [float(importance.get(f, 0.0)) for f in feats])
        drifted["model_id"] = model.id
    verdict = worst([r["verdict"] for r in rows] + ([drifted["verdict"]] if drifted else []))
    return {"cell_line": cell, "verdict": verdict, "references": refs, "tracks": rows, "drift": drifted}
