"""epigex as a Python library: open a store, ingest, train, and get predictions and explanations as polars frames.

Every function takes ``store``: a :class:`~epigex.store.catalog.Store`, a path to one, or None for
``$EPIGEX_HOME`` (default ``~/.local/share/epigex``). Settings (threads, read budgets) come from the ``EPIGEX_*``
environment as for the CLI. Frames are polars; ``.to_pandas()`` gives pandas. Errors are
:class:`~epigex.store.errors.EpigexError` with a message that says what to fix.

Example (after ``make demo``)::

    import epigex

    store = epigex.open_store("epigex-demo/store")
    model = epigex.train(store=store, profile="quick")        # the id; reused when nothing changed
    epigex.validation(model, store=store)                     # Spearman per setup and cell
    x3 = epigex.predict("X3", store=store)                    # gene_name, gex_predicted, p_expressed, …
    epigex.qc("X3", store=store)                              # per track: verdict, looks_like, reasons
    epigex.explain("CAPN9", "X3", store=store, top=5)         # stage, feature, value, shap
"""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl

from epigex.app.services.ingesting import ingest_folder
from epigex.app.services.inventory import models
from epigex.app.services.qc import cell_qc
from epigex.app.services.serving import local_reads
from epigex.app.services.training import train as train_service
from epigex.app.settings import Settings
from epigex.ingest.layout import layout_notes
from epigex.store.catalog import Store
from epigex.store.predictions import PREDICTION_COLUMNS
from epigex.store.registry import get_model

StoreLike = Store | str | Path | None


def open_store(home: StoreLike = None) -> Store:
    """The store at ``home`` (a path, or ``$EPIGEX_HOME`` when None); made if it does not exist yet."""
    if isinstance(home, Store):
        return home
    return Store(Path(home).expanduser() if home is not None else Settings().home)


def ingest(
    data_dir: str | Path,
    *,
    store: StoreLike = None,
    cells: list[str] | None = None,
    force_build: bool = False,
    replace: bool = False,
) -> pl.DataFrame:
    """Ingest a course-layout folder (every cell, or ``cells``); one row per cell: status, genes, seconds.

    What the folder holds that epigex will not read (a misspelled assay folder, say) is a ``UserWarning`` each. A
    cell the store holds from other files is replaced only with ``replace`` (else ``ConflictError``, nothing done).
    """
    s = open_store(store)
    for note in layout_notes(Path(data_dir)):
        warnings.warn(note, UserWarning, stacklevel=2)
    outcomes = ingest_folder(s, Settings(), Path(data_dir), cells, force_build=force_build, replace=replace)
    return pl.DataFrame(
        {
            "cell_line": [o.cell for o in outcomes],
            "status": [o.status for o in outcomes],
            "genes": [o.genes for o in outcomes],
            "seconds": [round(o.seconds, 2) for o in outcomes],
        }
    )


def train(*, store: StoreLike = None, cells: list[str] | None = None, profile: str = "quick", seed: int = 0) -> str:
    """Train the stacked ensemble on ``cells`` (default: every labelled cell); return the new active model's id."""
    return train_service(open_store(store), Settings(), cells=cells, profile=profile, seed=seed).id


def list_models(*, store: StoreLike = None) -> pl.DataFrame:
    """Every model, newest first: id, created_at, profile, cells, features, active (as ``epigex models``)."""
    rows = models(open_store(store))
    cols = ("id", "created_at", "profile", "cells", "features", "active")
    return pl.DataFrame({c: [r[c] for r in rows] for c in cols})


def validation(model: str | None = None, *, store: StoreLike = None) -> pl.DataFrame:
    """A model's out-of-fold validation per setup and cell (default: the active model)."""
    return pl.DataFrame(get_model(open_store(store), model).metrics["summary"])


def reference_validation(model: str | None = None, *, store: StoreLike = None) -> pl.DataFrame:
    """How the model's reference model validated: per labelled cell predicted from the others (out of fold),
    ``cell, genes, learned, blend, marks only, references alone, rank average`` (empty with one labelled cell)."""
    refs = get_model(open_store(store), model).metrics.get("references") or {}
    return pl.DataFrame(refs.get("cells") or [])


def predict(cell: str, *, store: StoreLike = None, model: str | None = None) -> pl.DataFrame:
    """A cell line's predictions: ``gene_name, gex_predicted, p_expressed, rank_predicted, pct_lo, pct_hi,
    references``.

    Computed once per model and cell. ``p_expressed`` is calibrated; ``pct_lo..pct_hi`` is a 90 % interval of the
    gene's expression percentile in the cell; ``references`` the labelled cells whose measured expression informed
    the gene (empty: the marks alone). A cell with some of the assays is predicted by the model for its tracks,
    trained here (quick profile) the first time.
    """
    return local_reads(open_store(store), Settings()).predictions(cell, model).frame.select(*PREDICTION_COLUMNS)


def qc(cell: str, *, store: StoreLike = None, model: str | None = None) -> pl.DataFrame:
    """A cell line's track QC, one row per track: ``assay, kind, verdict, looks_like, reasons`` (as ``epigex qc``)."""
    result = cell_qc(open_store(store), cell, model)
    return pl.DataFrame(
        [
            {k: t.get(k) for k in ("assay", "kind", "verdict", "looks_like")} | {"reasons": "; ".join(t["reasons"])}
            for t in result["tracks"]
        ],
        schema={
            "assay": pl.String,
            "kind": pl.String,
            "verdict": pl.String,
            "looks_like": pl.String,
            "reasons": pl.String,
        },
    )


def explain(gene: str, cell: str, *, store: StoreLike = None, model: str | None = None, top: int = 20) -> pl.DataFrame:
    """SHAP contributions of one gene: ``stage, feature, value, shap, base_value`` (log-odds for the classifier,
    rank for the regressor), largest first per stage."""
    e = local_reads(open_store(store), Settings()).explanation(cell, gene, model, top)
    rows = [
        {"stage": stage, **c, "base_value": part["base_value"]}
        for stage, part in e["stages"].items()
        for c in part["contributions"]
    ]
    return pl.DataFrame(
        rows,
        schema={
            "stage": pl.String,
            "feature": pl.String,
            "value": pl.Float64,
            "shap": pl.Float64,
            "base_value": pl.Float64,
        },
    )
