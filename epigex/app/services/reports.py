"""Model reports as service actions: written to the store (or a file), or rendered in memory for a read-only service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from epigex.app.services.qc import cell_qc
from epigex.models.persist import LoadedModel, load_model
from epigex.models.report import render_report, write_report
from epigex.store.catalog import Store
from epigex.store.errors import EpigexError
from epigex.store.registry import active_model_id


def _training_qc(store: Store, loaded: LoadedModel) -> list[dict[str, Any]]:
    qc = []
    for cell in loaded.record.cells:
        try:
            qc.append(cell_qc(store, cell, loaded.id))
        except EpigexError:  # a training cell deleted since: the report still renders
            continue
    return qc


def report(store: Store, model: str | None = None, path: Path | None = None) -> Path:
    """Write the model's HTML report (default ``<store>/reports/<model>.html``), with its training cells' QC.

    ``model`` None is the active model or, in a store whose models all serve cells with some of the assays (none
    active), the newest.
    """
    if model is None and active_model_id(store) is None:
        model = "latest"
    loaded = load_model(store, model)
    return write_report(store, loaded, path, _training_qc(store, loaded))


def report_html(store: Store, model: str, *, keep: bool = True) -> str:
    """The model's report: the kept file, else rendered now — and kept only if ``keep`` (read-only: in memory)."""
    loaded = load_model(store, model)
    path = store.report_path(loaded.id)
    if path.is_file():
        return path.read_text()
    if keep:
        return report(store, loaded.id, path).read_text()
    return render_report(store, loaded, _training_qc(store, loaded))
