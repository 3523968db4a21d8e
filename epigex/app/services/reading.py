"""Reads as service actions for the command line: predictions, the submission ZIP, explanations, the report.

The service answers the same reads from its in-memory cache (:mod:`app.services.serving`); both format tables
with :func:`table_text` and build explanations with :func:`models.explain.explanation`, so that the CLI and the
API give byte-identical predictions, ZIPs and explanations for the same store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from epigex.app.services.assaysets import ModelNeeded, ensure_cell_model, model_for_cell
from epigex.app.services.qc import cell_qc
from epigex.app.settings import Settings
from epigex.models.explain import explain_gene
from epigex.models.persist import LoadedModel, load_model
from epigex.models.predict import PREDICTION_COLUMNS, CellPredictions, ensure_predictions, read_predictions
from epigex.models.report import render_report, write_report
from epigex.models.submission import submission_zip
from epigex.store.catalog import Store
from epigex.store.errors import EpigexError
from epigex.store.registry import touch_model
from epigex.store.types import ProgressFn


def table_text(frame: pl.DataFrame, fmt: str) -> str:
    """Prediction rows as CSV or TSV text, every number at full precision (one rule for the CLI and the API)."""
    return frame.select(PREDICTION_COLUMNS).write_csv(separator="," if fmt == "csv" else "\t")


def cell_model(
    store: Store, cell: str, model: str | None, settings: Settings | None = None, progress: ProgressFn | None = None
) -> str | None:
    """The model that answers for ``cell``: ``model`` when given, else the one for the cell's track set (None: the
    active model). With ``settings``, a missing per-track-set model is trained here (see :mod:`assaysets`)."""
    if model is not None:
        return model
    try:
        own = model_for_cell(store, cell)
        if own is not None:  # a per-track-set model is in use (its cache bound is by use)
            touch_model(store, own)
        return own
    except ModelNeeded:
        if settings is None:
            raise
        return ensure_cell_model(store, settings, cell, progress=progress).id


def predictions(
    store: Store,
    cell: str,
    model: str | None = None,
    *,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
) -> tuple[CellPredictions, pl.DataFrame]:
    """A cell line's predictions by ``model`` (id, prefix, ``latest``; default: the cell's model), computed once."""
    where = ensure_predictions(store, cell, load_model(store, cell_model(store, cell, model, settings, progress)))
    return where, read_predictions(store, where)


def submission(
    store: Store,
    cell: str,
    model: str | None = None,
    *,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
) -> tuple[str, bytes]:
    """The model's id and the course submission ZIP over the cell line's test genes."""
    where, frame = predictions(store, cell, model, settings=settings, progress=progress)
    return where.model_id, submission_zip(frame)


def explain(
    store: Store,
    gene: str,
    cell: str,
    model: str | None = None,
    top: int = 20,
    *,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """SHAP contributions of both stages for one gene, in the shape of ``GET /explain/{gene}``."""
    loaded = load_model(store, cell_model(store, cell, model, settings, progress))
    where = ensure_predictions(store, cell, loaded)
    return explain_gene(store, where, gene, loaded, top)


def _training_qc(store: Store, loaded: LoadedModel) -> list[dict[str, Any]]:
    qc = []
    for cell in loaded.record.cells:
        try:
            qc.append(cell_qc(store, cell, loaded.id))
        except EpigexError:  # a training cell deleted since: the report still renders
            continue
    return qc


def report(store: Store, model: str | None = None, path: Path | None = None) -> Path:
    """Write the model's HTML report (default ``<store>/reports/<model>.html``), with its training cells' QC."""
    loaded = load_model(store, model)
    return write_report(store, loaded, path, _training_qc(store, loaded))


def report_html(store: Store, model: str, *, keep: bool = True) -> str:
    """The model's report: the kept file, else rendered now — and kept only if ``keep`` (read-only: in memory)."""
    loaded = load_model(store, model)
    path = store.home / "reports" / f"{loaded.id}.html"
    if path.is_file():
        return path.read_text()
    if keep:
        return report(store, loaded.id, path).read_text()
    return render_report(store, loaded, _training_qc(store, loaded))
