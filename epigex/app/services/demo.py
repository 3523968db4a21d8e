"""The demo's end of the run: predict X3, write the ZIP and the report, score X3 against its hidden truth.

X3's truth lives in ``DATA.truth/`` (outside the dataset, never ingested). Two baselines are computed in the
same run, on the same genes: (1) the rank of promoter H3K4me3 + DNase signal (their ±1 kb log-z means), and
(2) the same two-stage stack trained on promoter means only (the seven ``*_bw_prom1k_mean`` features).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from epigex.app.services.ingesting import ingest_folder
from epigex.app.services.reports import report
from epigex.app.services.training import train
from epigex.app.settings import Settings
from epigex.demo.dataset import write_demo
from epigex.ingest.committer import IngestOutcome
from epigex.ingest.featureset import ASSAYS
from epigex.models.dataset import load_cell
from epigex.models.metrics import spearman
from epigex.models.persist import LoadedModel, load_model
from epigex.models.pipeline import train_from_store
from epigex.models.predict import (
    ensure_predictions,
    predict_matrix,
    predict_with,
    read_predictions,
)
from epigex.models.references import align, rank01
from epigex.models.stacking import MaskRule
from epigex.models.submission import submission_zip
from epigex.store.catalog import Store
from epigex.store.cells import feature_names
from epigex.store.errors import InputError
from epigex.store.predictions import PREDICTION_COLUMNS
from epigex.store.registry import ModelRecord
from epigex.store.types import ProgressFn

PROMOTER_MEANS = tuple(f"{a}_bw_prom1k_mean" for a in ASSAYS)
SUBMISSION_NAME = "Demo_Epigex_Project1.zip"


def build_demo_store(
    store: Store,
    settings: Settings,
    data: Path,
    *,
    cells: list[str] | None = None,
    seed: int = 0,
    status: Callable[[str], None] | None = None,
    ingest_progress: ProgressFn | None = None,
    train_progress: ProgressFn | None = None,
    n_labelled: int | None = None,
    reference_labels: bool = False,
) -> tuple[list[IngestOutcome], ModelRecord]:
    """The demo's first half (the CLI's ``epigex demo`` and the service's first-start seeding alike).

    Simulate the dataset into ``data`` unless it is there (``n_labelled`` labelled cell types, the references
    labelled on X3's genes with ``reference_labels``), ingest ``cells`` (default: all), train a ``quick`` model on
    the labelled ones; it becomes the active model.
    """
    if not (data / "CAGE-train").is_dir():
        write_demo(
            data,
            seed=seed,
            workers=settings.threads,
            progress=status,
            n_labelled=n_labelled,
            reference_labels=reference_labels,
        )
    outcomes = ingest_folder(store, settings, data, cells, progress=ingest_progress, replace=True)  # the demo's own
    record = train(store, settings, cells=None, profile="quick", seed=seed, progress=train_progress)
    return outcomes, record


@dataclass
class DemoOutputs:
    """Where the demo wrote things and how well X3 was predicted."""

    predictions: Path
    submission: Path
    report: Path
    scores: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def read_truth(truth_file: Path) -> pl.DataFrame:
    """The hidden truth: ``gene_name``, ``gex``."""
    if not truth_file.is_file():
        raise InputError(f"{truth_file}: the demo's hidden truth is missing; regenerate the data (epigex demo-data)")
    return pl.read_csv(truth_file, separator="\t")


def truth_spearman(genes: np.ndarray, predicted: np.ndarray, truth: pl.DataFrame) -> float:
    """Spearman of predictions against the truth over the genes both have."""
    frame = pl.DataFrame({"gene_name": genes, "pred": predicted}).join(truth, on="gene_name", how="inner")
    return spearman(frame["pred"].to_numpy(), frame["gex"].to_numpy())


def baseline_scores(store: Store, cell: str, truth: pl.DataFrame, *, seed: int, threads: int) -> dict[str, float]:
    """Both baselines' Spearman on ``cell``'s test genes against ``truth``."""
    model = load_model(store)
    data = load_cell(store, cell, model.record.feature_set)
    test = data.split == "test"
    cols = {f: i for i, f in enumerate(feature_names(store, model.record.feature_set))}
    k4, dnase = data.X[:, cols["H3K4me3_bw_prom1k_mean"]], data.X[:, cols["DNase_bw_prom1k_mean"]]
    signal = np.nan_to_num(k4.astype(np.float64), nan=-10.0) + np.nan_to_num(dnase.astype(np.float64), nan=-10.0)
    out = {"baseline: promoter H3K4me3 + DNase rank": truth_spearman(data.genes[test], signal[test], truth)}
    trained, _ = train_from_store(
        store, model.record.cells, "quick", seed=seed, threads=threads, features=list(PROMOTER_MEANS), register=False
    )
    X = data.X[:, [cols[f] for f in PROMOTER_MEANS]]
    rule: MaskRule = trained.rule
    pred = predict_with(trained.boosters, rule, trained.threshold, X[test], explain=False)
    out["baseline: two-stage model on promoter means"] = truth_spearman(data.genes[test], pred.gex_predicted, truth)
    return out


def reference_baselines(
    store: Store, model: LoadedModel, cell: str, refs: list[str], truth: pl.DataFrame
) -> dict[str, float]:
    """What the references add, measured: the marks-only stack, the references' mean rank alone, and the plain
    rank average of the two, on ``cell``'s test genes (computed here, never typed in)."""
    data = load_cell(store, cell, model.record.feature_set, model.record.features)
    test = data.split == "test"
    marks = predict_matrix(model, data.X[test], explain=False).gex_predicted
    genes = data.genes[test]
    ranks = []
    for r in refs:
        ref = load_cell(store, r, model.record.feature_set, model.record.features)
        assert ref.gex is not None
        ranks.append(align(ref.genes, rank01(ref.gex), genes))
    alone = np.nanmean(np.column_stack(ranks), axis=1)
    ok = np.isfinite(alone)
    both = np.full(genes.size, np.nan)
    both[ok] = rank01(marks[ok]) + rank01(alone[ok])
    return {
        "marks only (the stack, no references)": truth_spearman(genes, marks, truth),
        "baseline: the references' expression alone": truth_spearman(genes[ok], alone[ok], truth),
        "baseline: rank average of marks and references": truth_spearman(genes[ok], both[ok], truth),
    }


def finish_demo(store: Store, out: Path, truth_file: Path, *, seed: int, threads: int, cell: str = "X3") -> DemoOutputs:
    """Predict ``cell`` with the active model, write its TSV, ZIP and the report, and score it with baselines."""
    t0 = time.perf_counter()
    model = load_model(store)
    where = ensure_predictions(store, cell, model)
    preds = read_predictions(store, where)
    pred_path = out / f"{cell}_predictions.tsv"
    preds.select(PREDICTION_COLUMNS).write_csv(pred_path, separator="\t")
    zip_path = out / SUBMISSION_NAME
    zip_path.write_bytes(submission_zip(preds))
    t1 = time.perf_counter()
    report_path = report(store, model.id)
    t2 = time.perf_counter()
    truth = read_truth(truth_file)
    test = preds.filter(pl.col("split") == "test")
    refs = sorted({r for v in test["references"].to_list() for r in v.split(",") if r})
    name = f"epigex, reference-informed ({', '.join(refs)})" if refs else "epigex stacked ensemble"
    scores = {name: truth_spearman(test["gene_name"].to_numpy(), test["gex_predicted"].to_numpy(), truth)}
    if refs:
        scores |= reference_baselines(store, model, cell, refs, truth)
    scores |= baseline_scores(store, cell, truth, seed=seed, threads=threads)
    t3 = time.perf_counter()
    return DemoOutputs(
        pred_path,
        zip_path,
        report_path,
        scores,
        {"predict+zip": t1 - t0, "report": t2 - t1, "baselines": t3 - t2},
    )
