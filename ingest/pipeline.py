"""Ingest orchestration: a cell's gene tables and tracks → one feature table and its catalog rows, atomically."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ingest.catalogue import catalogue
from ingest.derived import derived_features, geometry_features
from ingest.featureset import FeatureSetDef, default_feature_set
from ingest.genes import gene_coords, read_info, read_labels
from ingest.layout import CellFiles, discover
from ingest.tracks import TrackResult, bed_features, bigwig_features
from store.catalog import Store
from store.cells import CellIngest, TrackRow, commit_cell, is_current
from store.errors import InputError

ProgressFn = Callable[[str, float], None]  # (task label, fraction done of that task)
SPLIT_ORDER = {"train": 0, "val": 1, "test": 2, "reference": 3}


@dataclass
class IngestOutcome:
    """What one cell's ingest did."""

    cell: str
    status: str  # ingested | unchanged
    genes: int
    seconds: float
    qc: dict[str, Any]


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_cell_genes(cf: CellFiles) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The union of a cell's info tables (with ``split``) and, if labelled, its labels."""
    frames, labels = [], []
    for split in sorted(cf.info, key=lambda s: SPLIT_ORDER[s]):
        info = read_info(cf.info[split])
        frames.append(info.with_columns(pl.lit(split).alias("split")))
        if split in cf.labels:
            labels.append(read_labels(cf.labels[split], info).with_columns(pl.lit(split).alias("split")))
    genes = pl.concat(frames)
    dup = genes.filter(pl.col("gene_name").is_duplicated())
    if dup.height:
        raise InputError(f"cell {cf.name}: gene {dup['gene_name'][0]!r} is listed in more than one of its info files")
    return genes, (pl.concat(labels).select("gene_name", "split", "gex") if labels else None)


def input_digest(fs: FeatureSetDef, shas: dict[str, str]) -> str:
    """Digest of a feature-set definition and every input's sha256 (keyed by role)."""
    payload = json.dumps({"feature_set": fs.id, "inputs": dict(sorted(shas.items()))}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def compute_cell(
    cf: CellFiles,
    fs: FeatureSetDef,
    *,
    digest: str,
    shas: dict[str, str],
    force_build: bool = False,
    threads: int = 2,
    progress: ProgressFn | None = None,
    source: str = "cli",
) -> CellIngest:
    """Compute one cell's feature table and catalog rows in memory (nothing is written)."""
    t0 = time.perf_counter()
    genes, labels = read_cell_genes(cf)
    jobs: list[tuple[str, str, Path]] = []
    for a in fs.assays:
        if fs.use_bigwig:
            jobs.append((a, "bigwig", cf.bigwig[a]))
        if fs.use_bed:
            jobs.append((a, "bed", cf.bed[a]))

    def run(job: tuple[str, str, Path]) -> TrackResult:
        assay, kind, path = job
        label = f"{cf.name} {assay} {kind}"
        cb = (lambda f: progress(label, f)) if progress else None
        fn = bigwig_features if kind == "bigwig" else bed_features
        return fn(path, assay, genes, fs, force_build=force_build, progress=cb)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        results = list(pool.map(run, jobs))

    columns: dict[str, np.ndarray] = dict(geometry_features(gene_coords(genes)))
    for r in results:
        columns.update(r.columns)
    columns.update(derived_features(fs, columns))
    cat = catalogue(fs)
    missing = [c.name for c in cat if c.name not in columns]
    if missing:  # pragma: no cover - the catalogue and the extractors are defined together
        raise RuntimeError(f"features without values: {missing[:5]}")
    features = pl.DataFrame({"gene_name": genes["gene_name"], **{c.name: columns[c.name] for c in cat}}).with_columns(
        pl.exclude("gene_name").fill_nan(None)
    )
    tracks = [
        TrackRow(
            assay=a, kind=k, original_name=p.name, sha256=shas.get(f"{k}:{a}", ""), bytes=p.stat().st_size, qc=r.qc
        )
        for (a, k, p), r in zip(jobs, results, strict=True)
    ]
    seconds = time.perf_counter() - t0
    return CellIngest(
        name=cf.name,
        source=source,
        input_digest=digest,
        genes=genes.select("gene_name", "chrom", "gene_start", "gene_end", "tss_start", "tss_end", "strand", "split"),
        labels=labels,
        tracks=tracks,
        feature_set_id=fs.id,
        feature_set_json=fs.to_json(),
        catalogue=[(c.name, c.family, c.assay, c.window, c.stat, c.formula) for c in cat],
        features=features,
        seconds=seconds,
        qc=cell_qc(cf.name, genes, tracks, seconds),
    )


def ingest_cell(
    store: Store,
    cf: CellFiles,
    fs: FeatureSetDef | None = None,
    *,
    force_build: bool = False,
    threads: int = 2,
    progress: ProgressFn | None = None,
    source: str = "cli",
    known_shas: dict[str, str] | None = None,
    keep_files: bool = False,
) -> IngestOutcome:
    """Compute and commit one cell's features; a no-op when the same inputs are already in the store.

    ``known_shas`` (role → sha256, e.g. hashed while uploading) spares hashing those files again;
    ``keep_files`` moves the tracks into the store (the service keeps uploads so features can be recomputed).
    """
    fs = fs or default_feature_set()
    t0 = time.perf_counter()
    roles = input_roles(cf, fs)
    shas = {role: (known_shas or {}).get(role) or sha256_file(p) for role, p in roles.items()}
    digest = input_digest(fs, shas)
    if is_current(store, cf.name, fs.id, digest):
        n_genes = store.query("SELECT n_genes FROM cell_lines WHERE name = ?", [cf.name])[0][0]
        return IngestOutcome(cf.name, "unchanged", int(n_genes), time.perf_counter() - t0, {})
    ing = compute_cell(
        cf, fs, digest=digest, shas=shas, force_build=force_build, threads=threads, progress=progress, source=source
    )
    ing.seconds = time.perf_counter() - t0
    ing.qc["seconds"] = round(ing.seconds, 2)
    kept = {f"{a}/{k}": p for k, files in (("bigwig", cf.bigwig), ("bed", cf.bed)) for a, p in files.items()}
    commit_cell(store, ing, keep_files=kept if keep_files else None)
    return IngestOutcome(cf.name, "ingested", ing.genes.height, ing.seconds, ing.qc)


def input_roles(cf: CellFiles, fs: FeatureSetDef) -> dict[str, Path]:
    """Every input file of a cell that the feature set reads, keyed by role (``bigwig:DNase``, ``info:test``…)."""
    roles: dict[str, Path] = {f"info:{s}": p for s, p in cf.info.items()}
    roles |= {f"y:{s}": p for s, p in cf.labels.items()}
    roles |= {f"bigwig:{a}": p for a, p in cf.bigwig.items() if a in fs.assays and fs.use_bigwig}
    roles |= {f"bed:{a}": p for a, p in cf.bed.items() if a in fs.assays and fs.use_bed}
    return roles


def cell_qc(cell: str, genes: pl.DataFrame, tracks: list[TrackRow], seconds: float) -> dict[str, Any]:
    """The per-cell QC summary: genes, tracks, chromosome naming seen, genes without signal per assay, time."""
    naming = sorted({t.qc.get("naming", "none") for t in tracks})
    return {
        "cell_line": cell,
        "genes": genes.height,
        "chromosomes": genes["chrom"].n_unique(),
        "tracks": len(tracks),
        "naming_seen": naming,
        "names_normalised": any(n in ("ensembl", "mixed") for n in naming),
        "genes_without_signal": {f"{t.assay}/{t.kind}": t.qc.get("genes_without_signal") for t in tracks},
        "genes_on_missing_chrom": {
            f"{t.assay}/{t.kind}": t.qc.get("genes_on_missing_chrom", t.qc.get("genes_on_chrom_without_peaks"))
            for t in tracks
        },
        "seconds": round(seconds, 2),
    }


def ingest_dataset(
    store: Store,
    data_dir: Path,
    cells: list[str] | None = None,
    fs: FeatureSetDef | None = None,
    *,
    force_build: bool = False,
    threads: int = 2,
    progress: ProgressFn | None = None,
) -> list[IngestOutcome]:
    """Ingest every (or the named) cell of a course-layout dataset; all files are found before any work."""
    fs = fs or default_feature_set()
    found = discover(data_dir, cells, fs.assays, fs.kinds())
    return [ingest_cell(store, cf, fs, force_build=force_build, threads=threads, progress=progress) for cf in found]
