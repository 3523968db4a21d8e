"""Predictions kept in the store: their Parquet files, their rows in the catalog, and the read that looks them up.

Predictions of a (model, cell) live under ``predictions/model=<id>/cell_line=<name>/`` (Parquet, one file) with a
catalog row that records the cell's input digest they were computed from. Which model serves a cell (the active
one, or the one for its track set) is noted when its predictions are computed ahead (``served``), so that a read
of a cell is one lookup here: the serving model, its current predictions and the cell's kept QC verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from epigex.store.catalog import Store
from epigex.store.verdicts import inputs_digest

# The columns a cell's predictions are answered with (the CLI's TSV, the API's JSON/CSV/TSV, the Python API)
PREDICTION_COLUMNS = (
    "gene_name",
    "gex_predicted",
    "p_expressed",
    "rank_predicted",
    "pct_lo",
    "pct_hi",
    "references",
)


def find_predictions(store: Store, model_id: str, cell: str, input_digest: str) -> str | None:
    """Store path of the kept predictions of (model, cell), if current."""
    rows = store.query(
        "SELECT path FROM predictions WHERE model_id = ? AND cell_line = ? AND input_digest = ?",
        [model_id, cell, input_digest],
    )
    return rows[0][0] if rows else None


def commit_predictions(store: Store, model_id: str, cell: str, input_digest: str, frame: pl.DataFrame) -> str:
    """Write a (model, cell)'s predictions and record them, replacing older ones of (model, cell) and their files."""
    tmp = store.new_tmp_path(".parquet")
    try:
        pq.write_table(frame.to_arrow(), tmp, compression="zstd")
        pred = store.place(tmp, f"predictions/model={model_id}/cell_line={cell}", ".parquet")
    finally:
        tmp.unlink(missing_ok=True)
    old: list[str] = []
    try:
        with store.write() as con:
            for p, c in con.execute(
                "SELECT path, contrib_path FROM predictions WHERE model_id = ? AND cell_line = ?", [model_id, cell]
            ).fetchall():
                old += [p, *([c] if c else [])]
            con.execute("DELETE FROM predictions WHERE model_id = ? AND cell_line = ?", [model_id, cell])
            con.execute(
                "INSERT INTO predictions VALUES (?, ?, ?, ?, NULL, ?, now())",
                [model_id, cell, input_digest, pred, frame.height],
            )
    except BaseException:
        store.remove_files([pred])
        raise
    store.remove_files(old)
    return pred


def read_prediction_table(store: Store, path: str, gene: str | None = None) -> pl.DataFrame:
    """A kept predictions file (one ``gene``'s row only, when given); columns of files written by older versions
    filled in (``pct_lo``/``pct_hi`` null: before intervals; ``references`` empty: before reference-informed
    prediction)."""
    file = Path(store.home) / path
    if gene is None:
        frame = pl.read_parquet(file)
    else:
        frame = pl.scan_parquet(file).filter(pl.col("gene_name") == gene).collect()
    if "references" not in frame.columns:
        frame = frame.with_columns(pl.lit("", dtype=pl.String).alias("references"))
    missing = [c for c in ("pct_lo", "pct_hi") if c not in frame.columns]
    return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in missing) if missing else frame


def note_served(store: Store, cell: str, model_id: str, via_active: bool) -> None:
    """Note which model serves a cell (``via_active``: it serves as the active model, so only while it is)."""
    with store.write() as con:
        con.execute("DELETE FROM served WHERE cell_line = ?", [cell])
        con.execute("INSERT INTO served VALUES (?, ?, ?)", [cell, model_id, via_active])


@dataclass(frozen=True)
class Served:
    """What a read of a cell needs, found in one lookup."""

    model_id: str
    input_digest: str
    frame: pl.DataFrame
    verdict: dict[str, Any] | None


def served_predictions(store: Store, cell: str) -> Served | None:
    """The predictions of the model that serves ``cell`` and its kept QC verdict, when both are current; else None
    (the read service then works it out: :mod:`app.services.serving`)."""
    with store.read() as con:
        row = con.execute(
            "SELECT s.model_id, c.input_digest, p.path FROM served s "
            "JOIN cell_lines c ON c.name = s.cell_line "
            "JOIN predictions p ON p.model_id = s.model_id AND p.cell_line = s.cell_line "
            "AND p.input_digest = c.input_digest "
            "LEFT JOIN meta m ON m.key = 'active_model' "
            "WHERE s.cell_line = ? AND (NOT s.via_active OR m.value = s.model_id)",
            [cell],
        ).fetchone()
        if row is None:
            return None
        model_id, digest, path = row
        labelled = con.execute(
            "SELECT name, input_digest FROM cell_lines WHERE labelled AND name <> ? ORDER BY name", [cell]
        ).fetchall()
        verdict = con.execute(
            "SELECT verdict FROM qc_verdicts WHERE cell_line = ? AND model_id = ? AND inputs = ?",
            [cell, model_id, inputs_digest(cell, digest, labelled)],
        ).fetchone()
    return Served(model_id, digest, read_prediction_table(store, path), json.loads(verdict[0]) if verdict else None)


def references_summary(frame: pl.DataFrame) -> dict[str, Any]:
    """Which references informed a cell's predictions, and on how many of its genes."""
    refs = frame["references"] if "references" in frame.columns else pl.Series([], dtype=pl.String)
    per_cell = (
        refs.filter(refs != "").str.split(",").explode().value_counts(sort=True, name="n")
        if refs.len()
        else pl.DataFrame({"references": [], "n": []})
    )
    return {
        "genes": frame.height,
        "informed_genes": int((refs != "").sum()) if refs.len() else 0,
        "cells": {str(r[0]): int(r[1]) for r in per_cell.iter_rows()},
    }
