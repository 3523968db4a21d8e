"""Ablations: which track kinds and which TSS window carry the signal, measured with quick trainings.

Two groups, each scored by the stacked ensemble's masked Spearman on the val split (mean over the labelled
cells), exactly as ``epigex train --profile quick`` validates:

- track kinds: the default feature set (bigWig + BED, with SHAP selection) against the same recipe on bigWig
  features only and on BED features only (each recomputed from the raw files, derived families included);
- TSS window: lean models on the statistics of one TSS window only (every assay, bigWig and BED, no derived
  features, no selection), one-sided (strand-aware, upstream of the TSS) vs symmetric, 50 to 5000 bp;
- regulatory neighbourhood: the default feature set against the same set with one neighbourhood family left out
  (distal rings, contact sums, own-domain assignment, neighbouring promoters, repressive domains) and with all of
  them left out (the feature set before the family existed).

Variant feature tables are computed in memory from the dataset folder and never written to the store; the
results are kept in the store's ``ablations`` table, where the model report finds them.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from epigex.ingest.catalogue import catalogue
from epigex.ingest.featureset import FeatureSetDef, WindowKind, WindowSpec, default_feature_set
from epigex.ingest.layout import CellFiles, discover
from epigex.ingest.pipeline import compute_cell
from epigex.models.dataset import TRAIN_SPLITS, CellData
from epigex.models.params import get_profile
from epigex.models.training import train_ensemble
from epigex.store.ablations import record_ablation
from epigex.store.catalog import Store
from epigex.store.cells import CellIngest
from epigex.store.errors import InputError
from epigex.store.types import ProgressFn

DEFAULT_SIZES = (50, 100, 200, 500, 1000, 2000, 5000)
NEIGHBOURHOOD_FAMILIES = (
    "distal_rings",
    "distal_contact",
    "distal_assigned",
    "neighbour_promoters",
    "repressive_domain",
)


def to_cell_data(ing: CellIngest) -> tuple[CellData, list[str]]:
    """The labelled train + val rows of an in-memory ingest as training data, with the feature names."""
    if ing.labels is None:
        raise InputError(f"cell line {ing.name!r} has no labels; ablations train on labelled cells only")
    names = [c for c in ing.features.columns if c != "gene_name"]
    frame = (
        ing.genes.select("gene_name", "chrom", "split")
        .join(ing.labels.select("gene_name", "gex"), on="gene_name", how="inner", maintain_order="left")
        .join(ing.features, on="gene_name", how="left", maintain_order="left")
        .filter(pl.col("split").is_in(TRAIN_SPLITS))
    )
    data = CellData(
        name=ing.name,
        genes=frame["gene_name"].to_numpy().astype(str),
        chrom=frame["chrom"].to_numpy().astype(str),
        split=frame["split"].to_numpy().astype(str),
        X=np.ascontiguousarray(frame.select(names).cast(pl.Float32).to_numpy()),
        gex=frame["gex"].to_numpy().astype(np.float64),
        input_digest="",
    )
    return data, names


def _score(
    cells: list[CellData], names: list[str], fs_id: str, features: list[str] | None, seed: int, threads: int
) -> tuple[float, float, int]:
    m = train_ensemble(cells, names, fs_id, get_profile("quick"), seed=seed, threads=threads, features=features)
    stack = [r for r in m.metrics["summary"] if r["kind"] == "stack"]
    return (
        float(np.mean([r["spearman_masked"] for r in stack])),
        float(np.mean([r["spearman_unmasked"] for r in stack])),
        len(m.features),
    )


def window_name(kind: str, size: int) -> str:
    """``o100`` for a one-sided 100 bp TSS window, ``s100`` for a symmetric one."""
    return f"{'o' if kind == 'tss_onesided' else 's'}{size}"


def run_ablation(
    store: Store,
    data_dir: Path,
    cells: list[str],
    *,
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    seed: int = 0,
    threads: int = 2,
    step: ProgressFn | None = None,
) -> dict[str, Any]:
    """Run both ablation groups on ``cells`` of the dataset in ``data_dir``; record and return the results."""
    # long by design: the ablation grid, one variant group after another
    t0 = time.perf_counter()
    found: list[CellFiles] = discover(data_dir, cells, default_feature_set().assays, ("bigwig", "bed"))
    total = 3 + 2 * len(sizes) + len(NEIGHBOURHOOD_FAMILIES) + 1
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if step:
            step(label, done / total)

    def compute(fs: FeatureSetDef) -> tuple[list[CellData], list[str]]:
        pairs = [to_cell_data(compute_cell(cf, fs, digest="", shas={}, threads=threads)) for cf in found]
        return [p[0] for p in pairs], pairs[0][1]

    kinds_rows = []
    base = default_feature_set()
    full: tuple[list[CellData], list[str]] | None = None
    for label, fs in (
        ("bigWig + BED", base),
        ("bigWig only", replace(base, use_bed=False)),
        ("BED only", replace(base, use_bigwig=False)),
    ):
        data, names = compute(fs)
        full = full or (data, names)
        masked, unmasked, n = _score(data, names, fs.id, None, seed, threads)
        kinds_rows.append({"variant": label, "features": n, "spearman_masked": masked, "spearman_unmasked": unmasked})
        tick(label)
    assert full is not None
    family_rows = [dict(kinds_rows[0], variant="every family")]
    family_of = {r.name: r.family for r in catalogue(base)}
    for dropped in (*NEIGHBOURHOOD_FAMILIES, "all of the neighbourhood"):
        gone = set(NEIGHBOURHOOD_FAMILIES) if dropped == "all of the neighbourhood" else {dropped}
        keep = [i for i, f in enumerate(full[1]) if family_of.get(f) not in gone]
        sub = [replace(c, X=np.ascontiguousarray(c.X[:, keep])) for c in full[0]]
        cols = [full[1][i] for i in keep]
        masked, unmasked, n = _score(sub, cols, base.id, None, seed, threads)
        family_rows.append(
            {"variant": f"without {dropped}", "features": n, "spearman_masked": masked, "spearman_unmasked": unmasked}
        )
        tick(f"without {dropped}")

    kinds: tuple[WindowKind, ...] = ("tss_onesided", "tss_symmetric")
    specs = [WindowSpec(window_name(k, s), k, s) for k in kinds for s in sizes]
    fs_windows = FeatureSetDef(windows=tuple(specs), derived=False)
    data, names = compute(fs_windows)
    window_rows = []
    for w in specs:
        cols = [n for n in names if f"_{w.name}_" in n]
        idx = [names.index(c) for c in cols]
        sub = [CellData(c.name, c.genes, c.chrom, c.split, np.ascontiguousarray(c.X[:, idx]), c.gex, "") for c in data]
        masked, unmasked, n = _score(sub, cols, fs_windows.id, cols, seed, threads)
        side = "one-sided" if w.kind == "tss_onesided" else "symmetric"
        window_rows.append(
            {
                "variant": f"{side} {w.size} bp",
                "side": side,
                "size": w.size,
                "features": n,
                "spearman_masked": masked,
                "spearman_unmasked": unmasked,
            }
        )
        tick(w.name)

    results = [
        {"title": "track kinds (full recipe, quick profile)", "rows": kinds_rows, "note": kinds_note(kinds_rows)},
        {"title": "TSS window (lean: one window, all assays)", "rows": window_rows, "note": window_note(window_rows)},
        {
            "title": "regulatory neighbourhood families (full recipe, quick profile)",
            "rows": family_rows,
            "note": family_note(family_rows),
        },
    ]
    ablation_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"
    record_ablation(store, ablation_id, [cf.name for cf in found], results)
    return {
        "id": ablation_id,
        "cells": [cf.name for cf in found],
        "results": results,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def kinds_note(rows: list[dict[str, Any]]) -> str:
    """Compare the kinds with the course recipe's finding that bigWig and BED together beat either alone."""
    by = {r["variant"]: r["spearman_masked"] for r in rows}
    both, bw, bed = by["bigWig + BED"], by["bigWig only"], by["BED only"]
    if both > max(bw, bed) + 0.002:
        verdict = "as in the course recipe, bigWig and BED together score best"
    elif both >= max(bw, bed) - 0.002:
        verdict = "both kinds together score as well as the better kind alone: the other adds little here"
    else:
        verdict = "unlike the course recipe, one kind alone scores better than both together"
    return f"{verdict} (both {both:.3f}, bigWig only {bw:.3f}, BED only {bed:.3f})."


def window_note(rows: list[dict[str, Any]]) -> str:
    """Where the best TSS window lies, next to the recipe's default (one-sided, 100 bp)."""
    best = max(rows, key=lambda r: r["spearman_masked"])
    default = next((r for r in rows if r["side"] == "one-sided" and r["size"] == 100), None)
    text = f"best window: {best['variant']} ({best['spearman_masked']:.3f})"
    if default is not None:
        text += f"; the recipe's default one-sided 100 bp: {default['spearman_masked']:.3f}"
    return text + "."


def family_note(rows: list[dict[str, Any]]) -> str:
    """What leaving out each neighbourhood family costs, against the whole feature set."""
    whole = rows[0]["spearman_masked"]
    parts = [f"{r['variant']} {r['spearman_masked'] - whole:+.3f}" for r in rows[1:]]
    return f"every family {whole:.3f}; " + ", ".join(parts) + " (negative: the family helps)."
