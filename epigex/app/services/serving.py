"""The read service — what the CLI, the HTTP service and the Python API read through: predictions, submission ZIPs,
explanations, reports, listings; models loaded once per process, predictions held in memory per (model, cell).

Predictions are computed once per (model, cell) and kept in the store (:func:`models.predict.ensure_predictions`;
training and ingest jobs compute them ahead of the first read); this cache holds them in memory, with the
all-genes JSON, CSV and TSV bodies serialised once, so a read costs a dictionary lookup. An explanation computes
the one gene's SHAP values (milliseconds) from the cell's feature matrix, read on the first explanation. Which
model is active and which inputs a cell has are re-read from the catalog only when the catalog files changed
(their size and modification time, one ``stat`` each per read): any write, by this process or another (the
CLI), invalidates them, and an unchanged catalog is never queried.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from epigex.app.services.access import ANYONE, Principal
from epigex.app.services.assaysets import ModelNeeded, ensure_cell_model, model_for_cell, model_needed_conflict
from epigex.app.services.cell_lines import feature_set_for_uploads
from epigex.app.services.inventory import activate_checked, cell_lines, models
from epigex.app.services.jobs import JobRunner
from epigex.app.services.qc import cell_qc
from epigex.app.services.reports import report_html
from epigex.app.settings import Settings
from epigex.ingest.featureset import FeatureSetDef
from epigex.models.dataset import load_cell
from epigex.models.explain import explain_row
from epigex.models.persist import LoadedModel, load_model
from epigex.models.predict import prediction_frame
from epigex.models.submission import submission_zip
from epigex.store.access import record as audit
from epigex.store.catalog import Store
from epigex.store.cells import cell_genes, cell_info, track_file
from epigex.store.errors import ConflictError, EpigexError, NotFoundError
from epigex.store.predictions import PREDICTION_COLUMNS, note_served, references_summary, served_predictions
from epigex.store.registry import ModelRecord, active_model_id, touch_model
from epigex.store.types import F32, ProgressFn

T = TypeVar("T")


@dataclass
class PredictionSet:
    """One (model, cell)'s predictions, ready to serve; the cell's feature matrix is read on the first explanation."""

    model_id: str
    cell: str
    digest: str
    frame: pl.DataFrame
    rows: dict[str, int]
    bodies: dict[str, bytes] = field(default_factory=dict)
    qc_verdict: str | None = None  # the cell's track QC verdict against the training cells (None: not checked)
    X: F32 | None = None  # genes × the model's features, in ``frame``'s order


def table_text(frame: pl.DataFrame, fmt: str) -> str:
    """Prediction rows as CSV or TSV text, every number at full precision (one rule for every face)."""
    return frame.select(PREDICTION_COLUMNS).write_csv(separator="," if fmt == "csv" else "\t")


def _body(ps: PredictionSet, fmt: str, frame: pl.DataFrame) -> bytes:
    if fmt == "json":
        payload = {
            "cell_line": ps.cell,
            "model_id": ps.model_id,
            "qc_verdict": ps.qc_verdict,
            "references": references_summary(frame),
            "predictions": frame.to_dicts(),
        }
        return json.dumps(payload, separators=(",", ":")).encode()
    return table_text(frame, fmt).encode()


class Serving:
    """The process's model and prediction caches over one store."""

    def __init__(
        self,
        store: Store,
        runner: JobRunner | None = None,
        *,
        writes: bool = True,
        train_missing: Callable[[str, ProgressFn | None], str] | None = None,
    ) -> None:
        self.store = store
        self.runner = runner  # to name the job that trains a model a read asks for (a read never starts one)
        self.writes = writes  # False (a read-only service): predictions not yet kept stay in memory, nothing noted
        # the CLI and the Python API train a missing track-set model on the spot (the user waits for it); the
        # service never does on a read: it answers 409 naming who may
        self.train_missing = train_missing
        self._lock = threading.RLock()
        self._models: dict[str, LoadedModel] = {}
        self._active: tuple[object, str | None] = (None, None)
        self._digests: dict[str, tuple[object, str]] = {}
        self._sets: dict[tuple[str, str], PredictionSet] = {}
        self._building: dict[tuple[str, str], threading.Lock] = {}
        self._cell_models: dict[str, tuple[object, str | None]] = {}  # cell -> (stamp, its model; None: active)
        self._views: dict[str, tuple[object, object]] = {}  # key -> (catalog stamp, value)
        self._served: dict[str, tuple[object, str]] = {}  # cell -> (stamp, the model the store said serves it)
        self._genes: dict[str, tuple[str, frozenset[str]]] = {}  # cell -> (input digest, its gene names)

    def _stamp(self) -> object:
        """Changes with every write to the catalog (:meth:`store.catalog.Store.catalog_stamp`)."""
        return self.store.catalog_stamp()

    def active_id(self) -> str | None:
        """The active model's id (re-read only after the catalog changed)."""
        stamp = self._stamp()
        with self._lock:
            seen, mid = self._active
            if seen == stamp:
                return mid
        mid = active_model_id(self.store)
        with self._lock:
            self._active = (stamp, mid)
        return mid

    def model(self, model_id: str | None = None) -> LoadedModel:
        """A loaded model (default: the active one), loaded from the store once per process."""
        mid = model_id or self.active_id()
        with self._lock:
            if mid is not None and mid in self._models:
                return self._models[mid]
        loaded = load_model(self.store, mid)
        with self._lock:
            self._models[loaded.id] = loaded
        return loaded

    def digest(self, cell: str) -> str:
        """A cell's input digest (re-read only after the catalog changed); 404 for an unknown cell."""
        stamp = self._stamp()
        with self._lock:
            hit = self._digests.get(cell)
            if hit and hit[0] == stamp:
                return hit[1]
        d = str(cell_info(self.store, cell)["input_digest"])
        with self._lock:
            self._digests[cell] = (stamp, d)
        return d

    def cell_model(self, cell: str) -> str | None:
        """The model that serves ``cell`` when none is asked for (see :mod:`assaysets`), re-read only after the
        catalog changed; None for the active model. Raises :class:`ModelNeeded` when its model is not trained yet."""
        stamp = self._stamp()
        with self._lock:
            hit = self._cell_models.get(cell)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        mid = model_for_cell(self.store, cell)
        with self._lock:
            self._cell_models[cell] = (stamp, mid)
        return mid

    def check_genes(self, cell: str, genes: list[str]) -> None:
        """404 naming the first of ``genes`` the cell does not have (before anything is computed for it)."""
        digest = self.digest(cell)
        with self._lock:
            hit = self._genes.get(cell)
        if hit is None or hit[0] != digest:
            hit = (digest, frozenset(cell_genes(self.store, cell)["gene_name"].to_list()))
            with self._lock:
                self._genes[cell] = hit
        for g in genes:
            if g not in hit[1]:
                raise NotFoundError(f"gene {g!r} is not among cell line {cell}'s genes")

    def cached(self, cell: str, model_id: str | None = None) -> PredictionSet | None:
        """The prediction set if it is in memory and current (no I/O beyond two ``stat`` calls), else None."""
        stamp = self._stamp()
        with self._lock:
            seen, active = self._active
            own = self._cell_models.get(cell)
            served = self._served.get(cell)
            if model_id is None and served is not None and served[0] == stamp:
                model_id = served[1]  # what the store's lookup found serves the cell
            if model_id is None and own is not None and own[0] == stamp and own[1] is not None:
                model_id = own[1]  # a cell with some of the tracks: its own model
            mid = model_id or (active if seen == stamp else None)
            hit = self._digests.get(cell)
            if mid is None or hit is None or hit[0] != stamp:
                return None
            ps = self._sets.get((mid, cell))
            return ps if ps is not None and ps.digest == hit[1] else None

    def predictions(self, cell: str, model_id: str | None = None, progress: ProgressFn | None = None) -> PredictionSet:
        """The prediction set of (model, cell), computed on first use by one thread while others wait.

        A cell whose track set has no model yet: trained here with ``train_missing`` (the CLI), else a 409 that
        says who may train it (the service: a read never trains). The usual read — the model that serves the cell,
        predictions and verdict kept ahead — is one lookup in the store (:func:`store.predictions.served_predictions`).
        """
        if model_id is None:
            served = served_predictions(self.store, cell)
            if served is not None and served.verdict is not None:
                ps = self._prediction_set(served.model_id, cell, served.input_digest, served.frame, served.verdict)
                with self._lock:
                    self._served[cell] = (self._stamp(), served.model_id)
                return self._remember(ps)
        try:
            own = self.cell_model(cell) if model_id is None else None
        except ModelNeeded as needed:
            if self.train_missing is None:
                raise model_needed_conflict(self.runner, needed) from None
            own = self.train_missing(cell, progress)
        model = self.model(model_id if model_id is not None else own)
        digest = self.digest(cell)
        key = (model.id, cell)
        with self._lock:
            hit = self._sets.get(key)
            if hit is not None and hit.digest == digest:
                return hit
            gate = self._building.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                hit = self._sets.get(key)
                if hit is not None and hit.digest == digest:
                    return hit
            frame = prediction_frame(self.store, cell, model, keep=self.writes)
            try:
                verdict: dict[str, Any] | None = cell_qc(self.store, cell, model.id, keep=self.writes)
            except EpigexError:  # a cell QC cannot judge (features of another set): predictions are still served
                verdict = None
            ps = self._prediction_set(model.id, cell, digest, frame, verdict)
            if self.writes and model_id is None:  # the next read, by any process, is a lookup
                note_served(self.store, cell, model.id, via_active=own is None)
            if own is not None and self.writes:  # a per-track-set model in use (its cache bound is by use)
                touch_model(self.store, own)
            return self._remember(ps)

    def _prediction_set(
        self, model_id: str, cell: str, digest: str, frame: pl.DataFrame, verdict: dict[str, Any] | None
    ) -> PredictionSet:
        rows = {g: i for i, g in enumerate(frame["gene_name"].to_list())}
        ps = PredictionSet(model_id, cell, digest, frame, rows, qc_verdict=verdict["verdict"] if verdict else None)
        table = frame.select(PREDICTION_COLUMNS)
        ps.bodies = {fmt: _body(ps, fmt, table) for fmt in ("json", "csv", "tsv")}
        return ps

    def _remember(self, ps: PredictionSet) -> PredictionSet:
        with self._lock:
            self._sets[(ps.model_id, ps.cell)] = ps
            self._digests[ps.cell] = (self._stamp(), ps.digest)
        return ps

    def genes_body(self, ps: PredictionSet, genes: list[str], fmt: str) -> bytes:
        """The body for a subset of genes, in the order asked; 404 naming the first unknown gene."""
        idx = []
        for g in genes:
            i = ps.rows.get(g)
            if i is None:
                raise NotFoundError(f"gene {g!r} is not among cell line {ps.cell}'s genes")
            idx.append(i)
        return _body(ps, fmt, ps.frame[idx].select(PREDICTION_COLUMNS))

    def explain(self, ps: PredictionSet, gene: str, top: int) -> dict[str, Any]:
        """The explanation of one gene (its SHAP values computed now, a few milliseconds)."""
        i = ps.rows.get(gene)
        if i is None:
            raise NotFoundError(f"gene {gene!r} is not among cell line {ps.cell}'s genes")
        model = self.model(ps.model_id)
        if ps.X is None:
            data = load_cell(self.store, ps.cell, model.record.feature_set, model.record.features)
            if data.genes.tolist() != ps.frame["gene_name"].to_list():
                raise ConflictError(f"cell line {ps.cell!r} changed while it was read; ask again")
            ps.X = data.X
        return explain_row(model, ps.cell, gene, ps.frame.row(i, named=True), ps.X[i], top)

    def table(
        self, cell: str, fmt: str, genes: list[str] | None = None, model_id: str | None = None, may_use: Gate = None
    ) -> tuple[bytes, str | None]:
        """A cell's predictions as ``json``, ``csv`` or ``tsv`` (a subset of ``genes``, in their order), with the
        cell's QC verdict. ``may_use``: whether the caller may read predictions of a model (409 otherwise)."""
        if genes:
            self.check_genes(cell, genes)  # an unknown gene: 404 before any work
        ps = allowed(self.cached(cell, model_id) or self.predictions(cell, model_id), may_use)
        return (self.genes_body(ps, genes, fmt) if genes else ps.bodies[fmt]), ps.qc_verdict

    def submission(
        self, cell: str, model_id: str | None = None, progress: ProgressFn | None = None, may_use: Gate = None
    ) -> tuple[str, bytes]:
        """The model's id and the course's submission ZIP over the cell's test genes, in their order."""
        ps = allowed(self.cached(cell, model_id) or self.predictions(cell, model_id, progress), may_use)
        return ps.model_id, submission_zip(ps.frame)

    def explanation(
        self,
        cell: str,
        gene: str,
        model_id: str | None = None,
        top: int = 20,
        progress: ProgressFn | None = None,
        may_use: Gate = None,
    ) -> dict[str, Any]:
        """SHAP contributions of both stages for one gene (an unknown gene: 404 before any work)."""
        self.check_genes(cell, [gene])
        ps = allowed(self.cached(cell, model_id) or self.predictions(cell, model_id, progress), may_use)
        return self.explain(ps, gene, top)

    def report_html(self, model_id: str | None = None) -> str:
        """A model's HTML report: the kept one, else rendered now (kept unless the service writes nothing)."""
        return report_html(self.store, self.model(model_id).id, keep=self.writes)

    def activate(self, ref: str, by: Principal = ANYONE) -> ModelRecord:
        """Make a model active (an id, a unique prefix or ``latest``), once its files are known to load."""
        record = activate_checked(self.store, ref)
        self.forget_active()
        audit(self.store, by.name, by.project, "activate", record.id)
        return record

    def _current(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, remembered under ``key`` until the catalog changes (any write, by any process)."""
        stamp = self._stamp()
        with self._lock:
            hit = self._views.get(key)
            if hit is not None and hit[0] == stamp:
                return hit[1]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._views[key] = (stamp, value)
        return value

    def track_path(self, cell: str, assay: str, kind: str) -> Path:
        """The file the store keeps for a cell's track (re-read only after the catalog changed): a genome browser
        asks for dozens of ranges and regions of the same files."""
        path = self._current(f"track\t{cell}\t{assay}\t{kind}", lambda: track_file(self.store, cell, assay, kind))
        # gone without a catalog change the stamp saw (a write in the same tick): ask the catalog again (404)
        return path if path.is_file() else track_file(self.store, cell, assay, kind)

    def models_body(self, render: Callable[[list[dict[str, Any]]], bytes]) -> bytes:
        """Every model, briefly, newest first, rendered by ``render`` (redone only after the catalog changed)."""
        return self._current("models", lambda: render(models(self.store)))

    def cell_lines_body(self, render: Callable[[list[dict[str, Any]]], bytes]) -> bytes:
        """Every cell line, rendered by ``render`` (redone only after the catalog changed)."""
        return self._current("cell_lines", lambda: render(cell_lines(self.store)))

    def upload_feature_set(self) -> FeatureSetDef:
        """The feature set an upload is computed with (the active model's; redone only after the catalog changed)."""
        return self._current("upload_feature_set", lambda: feature_set_for_uploads(self.store))

    def forget_cell(self, cell: str) -> None:
        """Drop everything cached about a cell (after this process re-ingested or deleted it)."""
        with self._lock:
            self._digests.pop(cell, None)
            self._cell_models.pop(cell, None)
            self._served.pop(cell, None)
            self._genes.pop(cell, None)
            for key in [k for k in self._sets if k[1] == cell]:
                del self._sets[key]

    def forget_active(self) -> None:
        """Re-read the active model on the next request."""
        with self._lock:
            self._active = (None, None)


Gate = Callable[[str], bool] | None


def allowed(ps: PredictionSet, may_use: Gate) -> PredictionSet:
    """``ps``, unless ``may_use`` says its model may not be read by the caller (409: what to do instead)."""
    if may_use is not None and not may_use(ps.model_id):
        raise ConflictError(
            f"the model that serves cell line {ps.cell!r} ({ps.model_id}) was trained on cell lines you may not "
            "read: ask an admin to share it, or train one on your project's cells (POST /models) and ask with "
            "?model=<its id>"
        )
    return ps


def local_reads(store: Store, settings: Settings) -> Serving:
    """The read service of a CLI command or a notebook: it writes what it computes and trains a missing track-set
    model on the spot (the caller waits for it)."""

    def train(cell: str, progress: ProgressFn | None) -> str:
        return ensure_cell_model(store, settings, cell, progress=progress).id

    return Serving(store, train_missing=train)
