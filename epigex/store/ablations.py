"""Ablation runs: their results as catalog rows (written by the ablation service, read by the report)."""

from __future__ import annotations

import json
from typing import Any

from epigex.store.catalog import Store


def record_ablation(store: Store, ablation_id: str, cells: list[str], results: list[dict[str, Any]]) -> None:
    """Keep one ablation run's results."""
    with store.write() as con:
        con.execute(
            "INSERT INTO ablations VALUES (?, now(), ?, ?)", [ablation_id, json.dumps(cells), json.dumps(results)]
        )


def latest_ablation(store: Store) -> dict[str, Any] | None:
    """The newest ablation run (``id``, ``cells``, ``results``), or None when none has run."""
    rows = store.query("SELECT id, cells, results FROM ablations ORDER BY created_at DESC, id DESC LIMIT 1")
    if not rows:
        return None
    return {"id": rows[0][0], "cells": json.loads(rows[0][1]), "results": json.loads(rows[0][2])}
