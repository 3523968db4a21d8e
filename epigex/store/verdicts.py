"""Track QC verdicts kept in the catalog: computed when a cell is ingested or a model is trained, looked up on a read.

A verdict judges a cell line against the other labelled cells and the features of one model, so it is kept per
(cell, model) with the digest of what it was computed from (the cell's inputs and the labelled cells' inputs); a
verdict whose inputs changed since is not returned.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from epigex.store.catalog import Store


def inputs_digest(cell: str, digest: str, references: list[tuple[str, str]]) -> str:
    """The digest of what a cell's verdict depends on: its input digest and the other labelled cells' (name,
    input digest), in name order."""
    parts = [f"{cell}={digest}", *(f"{c}={d}" for c, d in sorted(references))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def verdict_inputs(overview: dict[str, dict[str, Any]], cell: str) -> str:
    """:func:`inputs_digest` from :func:`store.cells.cells_overview`."""
    refs = [(c, str(e["input_digest"])) for c, e in overview.items() if e["labelled"] and c != cell]
    return inputs_digest(cell, str(overview[cell]["input_digest"]), refs)


def find_verdict(store: Store, cell: str, model_id: str, inputs: str) -> dict[str, Any] | None:
    """The kept verdict of (cell, model) computed from ``inputs``, if any."""
    rows = store.query(
        "SELECT verdict FROM qc_verdicts WHERE cell_line = ? AND model_id = ? AND inputs = ?", [cell, model_id, inputs]
    )
    return json.loads(rows[0][0]) if rows else None


def save_verdict(store: Store, cell: str, model_id: str, inputs: str, verdict: dict[str, Any]) -> None:
    """Keep a verdict (replacing the cell's older one for that model)."""
    with store.write() as con:
        con.execute("DELETE FROM qc_verdicts WHERE cell_line = ? AND model_id = ?", [cell, model_id])
        con.execute("INSERT INTO qc_verdicts VALUES (?, ?, ?, ?, now())", [cell, model_id, inputs, json.dumps(verdict)])
