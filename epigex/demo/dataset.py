"""Write the demo dataset in the course layout, and X3's hidden truth beside it (``DIR.truth/``)."""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
import pyBigWig

from epigex.demo.enhancers import ActiveEnhancers, activate, enhancer_sites, own_enhancers
from epigex.demo.expression import activity, invent_expression, lineage
from epigex.demo.signal import GeneArrays, PromoterState, call_peaks, promoter_state, simulate_track
from epigex.store.errors import InputError
from epigex.store.genome import HG38_SIZES
from epigex.store.types import F64

ASSAYS = ("DNase", "H3K27ac", "H3K4me1", "H3K4me3", "H3K27me3", "H3K36me3", "H3K9me3")
CALIBRATED = ("DNase", "H3K27ac", "H3K4me1", "H3K4me3")
INFO_COLS = ["gene_name", "chr", "gene_start", "gene_end", "TSS_start", "TSS_end", "strand"]


def course_file(name: str) -> Path:
    """Path of a carried course file (see ``demo/data/ml4g/SOURCE.md``)."""
    return Path(str(resources.files("epigex.demo") / "data" / "ml4g" / name))


def _read(name: str) -> pl.DataFrame:
    return pl.read_csv(course_file(name), separator="\t")


@dataclass(frozen=True)
class TrackTask:
    """One (cell, assay) to simulate and write."""

    out_dir: str
    cell: str
    assay: str
    seed: int
    cell_index: int
    genes: GeneArrays
    act: F64
    target_mean: float
    target_std: float
    amp_quantiles: F64 | None
    enhancers: ActiveEnhancers | None = None
    shared: PromoterState | None = None


def _write_track(task: TrackTask) -> tuple[str, str, int, int]:
    rng = np.random.default_rng([task.seed, task.cell_index, ASSAYS.index(task.assay)])
    signal = simulate_track(
        task.genes,
        task.act,
        task.assay,
        task.target_mean,
        task.target_std,
        task.amp_quantiles,
        rng,
        task.enhancers,
        task.shared,
    )
    out = Path(task.out_dir)
    bw_dir = out / f"{task.assay}-bigwig"
    bw_path = bw_dir / f"{task.cell}.bw"
    tmp = bw_dir / f".{task.cell}.bw.tmp"
    bw = pyBigWig.open(str(tmp), "w")
    bw.addHeader(list(HG38_SIZES.items()), maxZooms=2)
    n_iv = 0
    for chrom, sig in signal.items():
        if sig.starts.size == 0:
            continue
        v = np.expm1(sig.y).astype(np.float32)
        keep = np.ones(v.size, dtype=bool)
        keep[1:] = (v[1:] != v[:-1]) | (sig.starts[1:] != sig.ends[:-1])
        grp = np.cumsum(keep) - 1
        ends = np.zeros(int(keep.sum()), dtype=np.int64)
        np.maximum.at(ends, grp, sig.ends)
        bw.addEntries(np.full(int(keep.sum()), chrom), sig.starts[keep], ends=ends, values=v[keep].astype(np.float64))
        n_iv += int(keep.sum())
    bw.close()
    tmp.replace(bw_path)
    peak_chrom, ps, pe, sig_v, pval, qval, summit = call_peaks(signal, rng)
    chrom_rank = pl.Series(peak_chrom).replace_strict({c: i for i, c in enumerate(HG38_SIZES)}).to_numpy()
    order = np.lexsort((ps, chrom_rank))
    bed = pl.DataFrame(
        {
            "chrom": peak_chrom[order],
            "start": ps[order],
            "end": pe[order],
            "name": [f"{task.cell}_{task.assay}_peak{i + 1}" for i in range(order.size)],
            "score": np.minimum(1000.0, sig_v[order] * 10).astype(np.int64),
            "strand": ["."] * order.size,
            "signalValue": np.round(sig_v[order], 5),
            "pValue": np.round(pval[order], 5),
            "qValue": np.round(qval[order], 5),
            "peak": summit[order],
        }
    )
    bed.write_csv(out / f"{task.assay}-bed" / f"{task.cell}.bed", separator="\t", include_header=False)
    return task.cell, task.assay, n_iv, bed.height


def _gene_arrays(df: pl.DataFrame) -> GeneArrays:
    tss = ((df["TSS_start"] + df["TSS_end"] - 1) // 2).to_numpy().astype(np.int64)
    return GeneArrays(
        chrom=df["chr"].to_numpy().astype(str),
        gene_start=df["gene_start"].to_numpy().astype(np.int64),
        gene_end=df["gene_end"].to_numpy().astype(np.int64),
        tss=tss,
        minus=(df["strand"] == "-").to_numpy(),
    )


def write_demo(
    out_dir: Path,
    seed: int = 0,
    n_cells: int = 0,
    workers: int = 2,
    progress: Callable[[str], None] | None = None,
    *,
    n_labelled: int | None = None,
    reference_labels: bool = False,
) -> dict[str, object]:
    """Write the demo dataset to ``out_dir`` and X3's truth to ``out_dir.truth``; return a manifest.

    ``n_cells`` adds simulated cells C1..CN, the first half labelled; ``n_labelled`` instead makes that many cell
    types labelled in all (X1, X2 and C1..C(N-2)). With ``reference_labels`` every labelled cell also has labels on
    X3's test genes (the case of a lab whose reference cell lines were measured on every gene).
    """
    # long by design: one recipe read top to bottom (course files, expression, tables, tracks); each step feeds the next
    from scipy.stats import spearmanr  # slow to import; only demo-data needs it

    t0 = time.perf_counter()
    if n_labelled is not None:
        if n_cells:
            raise InputError("give either the number of labelled cells or of extra cells, not both")
        if n_labelled < 2:
            raise InputError(f"at least 2 labelled cells (X1 and X2), not {n_labelled}")
        n_cells = n_labelled - 2
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(f"{out_dir}: folder exists and is not empty; choose a new folder for the demo data")
    truth_dir = out_dir.with_name(out_dir.name + ".truth")
    tables = out_dir / "CAGE-train"
    tables.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    for a in ASSAYS:
        (out_dir / f"{a}-bigwig").mkdir(exist_ok=True)
        (out_dir / f"{a}-bed").mkdir(exist_ok=True)

    info = {(c, s): _read(f"CAGE-train/{c}_{s}_info.tsv") for c in ("X1", "X2") for s in ("train", "val")}
    ys = {(c, s): _read(f"CAGE-train/{c}_{s}_y.tsv") for c in ("X1", "X2") for s in ("train", "val")}
    test = _read("CAGE-train/X3_test_info.tsv")
    bins = _read("X3_tss_bins_real.tsv")
    stats = json.loads(course_file("global_track_stats.json").read_text())
    n_train = info[("X1", "train")].height
    labelled = {c: pl.concat([info[(c, "train")], info[(c, "val")]]) for c in ("X1", "X2")}
    real = {c: pl.concat([ys[(c, "train")], ys[(c, "val")]])["gex"].to_numpy() for c in ("X1", "X2")}
    central = [f"{a}_bin_{i}" for a in ("H3K4me3", "H3K27ac", "DNase") for i in range(8, 12)]
    test_signal = bins.select(pl.mean_horizontal(central)).to_series().to_numpy()
    extra = [f"C{i + 1}" for i in range(n_cells)]
    rng = np.random.default_rng(seed)
    expr = invent_expression(real, test_signal, labelled["X1"].height, extra, rng)

    amp_q = {
        a: np.quantile(
            np.log1p(bins.select([f"{a}_bin_{i}" for i in range(8, 12)]).mean_horizontal().to_numpy()),
            np.linspace(0, 1, 201),
        )
        for a in CALIBRATED
    }
    coords = {
        "X1": pl.concat([labelled["X1"], test]),
        "X2": pl.concat([labelled["X2"], test]),
    }
    for c in ("X3", *extra):
        coords[c] = coords["X1"]

    n_lab = labelled["X1"].height

    def write_labelled(cell: str, split: str, part_info: pl.DataFrame, gex: F64) -> None:
        """A labelled cell's info and y files; with ``reference_labels`` its train split also holds the test genes."""
        y = pl.DataFrame({"gene_name": part_info["gene_name"], "gex": gex})
        if reference_labels and split == "train":
            part_info = pl.concat([part_info, test])
            y = pl.concat([y, pl.DataFrame({"gene_name": test["gene_name"], "gex": expr[cell][n_lab:]})])
        part_info.write_csv(tables / f"{cell}_{split}_info.tsv", separator="\t")
        y.write_csv(tables / f"{cell}_{split}_y.tsv", separator="\t")

    for c in ("X1", "X2"):
        for split in ("train", "val"):
            write_labelled(c, split, info[(c, split)], ys[(c, split)]["gex"].to_numpy())
    test.write_csv(tables / "X3_test_info.tsv", separator="\t")
    pl.DataFrame({"gene_name": test["gene_name"], "gex": expr["X3"][n_lab:]}).write_csv(
        truth_dir / "X3_test_y.tsv", separator="\t"
    )
    half = n_cells if n_labelled is not None else (n_cells + 1) // 2
    for i, c in enumerate(extra):
        if i < half:
            tr, va = labelled["X1"][:n_train], labelled["X1"][n_train:]
            write_labelled(c, "train", tr, expr[c][:n_train])
            write_labelled(c, "val", va, expr[c][n_train:n_lab])
        else:
            test.write_csv(tables / f"{c}_test_info.tsv", separator="\t")
            pl.DataFrame({"gene_name": test["gene_name"], "gex": expr[c][n_lab:]}).write_csv(
                truth_dir / f"{c}_test_y.tsv", separator="\t"
            )

    tasks = []
    ref = _gene_arrays(coords["X1"])
    sites = enhancer_sites(ref.chrom, ref.tss, np.random.default_rng([seed, 7919]))  # one set for every cell
    ceiling: dict[str, float] = {}
    for ci, cell in enumerate(("X1", "X2", "X3", *extra)):
        stat_cell = cell if cell in ("X1", "X2", "X3") else ("X1", "X2", "X3")[ci % 3]
        genes = _gene_arrays(coords[cell])
        act = activity(expr[cell], rng)
        active = activate(sites, act, rng)
        shared = promoter_state(act.size, rng)
        ceiling[cell] = float(spearmanr(act[n_lab:], expr[cell][n_lab:]).statistic)
        own_n, own_amp = own_enhancers(active, act.size)
        pl.DataFrame({"gene_name": coords[cell]["gene_name"], "n_active": own_n, "amp_sum": own_amp}).write_csv(
            truth_dir / f"{cell}_enhancers.tsv", separator="\t"
        )
        for a in ASSAYS:
            st = stats[f"{a}_{stat_cell}"]["log1p"]
            tasks.append(
                TrackTask(
                    str(out_dir), cell, a, seed, ci, genes, act, st["mean"], st["std"], amp_q.get(a), active, shared
                )
            )
    done = 0
    summary: list[tuple[str, str, int, int]] = []
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=ctx) as pool:
        for res in pool.map(_write_track, tasks):
            done += 1
            summary.append(res)
            if progress:
                progress(f"{res[0]} {res[1]}: {res[2]:,} intervals, {res[3]:,} peaks ({done}/{len(tasks)})")
    manifest = {
        "seed": seed,
        "cells": ["X1", "X2", "X3", *extra],
        "labelled": ["X1", "X2", *extra[:half]],
        "reference_labels": reference_labels,
        "lineages": {c: lineage(c, i) for i, c in enumerate(("X1", "X2", "X3", *extra))},
        "tracks": [{"cell": c, "assay": a, "intervals": n, "peaks": p} for c, a, n, p in summary],
        "truth": str(truth_dir),
        # The demo's ceiling: Spearman of each cell's simulated latent chromatin activity against its expression on
        # the test genes — what a predictor that recovered the latent activity exactly would score.
        "ceiling": {c: round(v, 4) for c, v in ceiling.items()},
        "enhancer_sites": int(sites.gene.size),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (truth_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
