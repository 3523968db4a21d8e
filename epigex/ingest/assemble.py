"""Assembling one cell's feature table from its track results (runs in the caller or on a Dask worker).

Pure computation apart from reading the files' sizes: geometry, the tracks' columns, the derived families; the
table is also serialised to Parquet here, so that a Dask worker can hand the caller bytes to write, not arrays.
"""

from __future__ import annotations

import io
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from epigex.ingest.catalogue import catalogue
from epigex.ingest.derived import derived_features, geometry_features
from epigex.ingest.featureset import FeatureSetDef
from epigex.ingest.genes import gene_coords
from epigex.ingest.layout import CellFiles
from epigex.ingest.neighbourhood import NEIGHBOUR_ASSAYS, NEIGHBOUR_WINDOW, neighbour_features
from epigex.ingest.qc_profile import cell_profile
from epigex.ingest.trackjobs import TrackJob, run_track
from epigex.ingest.tracks import TrackResult, bigwig_column
from epigex.store.cells import CellIngest, TrackRow, write_feature_table
from epigex.store.tracksets import TrackKey, track_key


@dataclass
class CellPlan:
    """What an ingest of one cell will do: its genes, labels, track jobs and input digest."""

    files: CellFiles
    genes: pl.DataFrame
    labels: pl.DataFrame | None
    jobs: list[TrackJob]
    digest: str
    shas: dict[str, str]
    started: float


def assemble_cell(plan: CellPlan, fs: FeatureSetDef, results: list[TrackResult], source: str) -> CellIngest:
    """Join a cell's track results with its geometry and derived features into one feature table."""
    genes = plan.genes
    coords = gene_coords(genes)
    columns: dict[str, np.ndarray] = dict(geometry_features(coords))
    for r in results:
        columns.update(r.columns)
    columns.update(derived_features(fs, columns))
    if fs.neighbourhood:
        codes = genes["chrom"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
        promoter = {
            a: columns[bigwig_column(a, NEIGHBOUR_WINDOW, "mean")]
            for a in NEIGHBOUR_ASSAYS
            if bigwig_column(a, NEIGHBOUR_WINDOW, "mean") in columns
        }
        columns.update(neighbour_features(codes, coords.tss_point, promoter))
    cat = catalogue(fs)
    present = {track_key(j.assay, j.kind) for j in plan.jobs}
    usable = [c for c in cat if set(c.requires) <= present]  # a cell with some of the tracks has their features
    missing = [c.name for c in usable if c.name not in columns]
    if missing:  # pragma: no cover - the catalogue and the extractors are defined together
        raise RuntimeError(f"features without values: {missing[:5]}")
    features = pl.DataFrame(
        {"gene_name": genes["gene_name"], **{c.name: columns[c.name] for c in usable}}
    ).with_columns(pl.exclude("gene_name").fill_nan(None))
    tracks = [
        TrackRow(
            assay=j.assay,
            kind=j.kind,
            original_name=plan.files.names.get(TrackKey(j.assay, j.kind).role, Path(j.path).name),
            sha256=plan.shas.get(TrackKey(j.assay, j.kind).role, ""),
            bytes=Path(j.path).stat().st_size,
            qc=r.qc,
        )
        for j, r in zip(plan.jobs, results, strict=True)
    ]
    qc = cell_qc(plan.files.name, genes, tracks, 0.0, plan.files.missing)
    qc["track_profile"] = cell_profile(features, sorted({(j.assay, j.kind) for j in plan.jobs}))
    seconds = time.perf_counter() - plan.started
    qc["seconds"] = round(seconds, 2)
    return CellIngest(
        name=plan.files.name,
        source=source,
        input_digest=plan.digest,
        genes=genes.select("gene_name", "chrom", "gene_start", "gene_end", "tss_start", "tss_end", "strand", "split"),
        labels=plan.labels,
        tracks=tracks,
        feature_set_id=fs.id,
        feature_set_json=fs.to_json(),
        catalogue=[(c.name, c.family, c.assay, c.window, c.stat, c.formula, ",".join(c.requires)) for c in cat],
        features=features,
        seconds=seconds,
        qc=qc,
    )


def cell_qc(
    cell: str, genes: pl.DataFrame, tracks: list[TrackRow], seconds: float, missing: list[str] | None = None
) -> dict[str, Any]:
    """The per-cell QC summary: genes, tracks (and those missing), chromosome naming, genes without signal, each
    bigWig's signal type, peaks on contigs outside the genome, time."""
    naming = sorted({t.qc.get("naming", "none") for t in tracks})
    return {
        "cell_line": cell,
        "genes": genes.height,
        "chromosomes": genes["chrom"].n_unique(),
        "tracks": len(tracks),
        "missing_tracks": sorted(missing or []),
        "naming_seen": naming,
        "names_normalised": any(n in ("ensembl", "mixed") for n in naming),
        "genes_without_signal": {TrackKey(t.assay, t.kind).path: t.qc.get("genes_without_signal") for t in tracks},
        "genes_on_missing_chrom": {
            TrackKey(t.assay, t.kind).path: t.qc.get("genes_on_missing_chrom", t.qc.get("genes_on_chrom_without_peaks"))
            for t in tracks
        },
        "signal_types": {
            TrackKey(t.assay, t.kind).path: t.qc["signal_type"] for t in tracks if t.qc.get("signal_type") is not None
        },
        "outside_genome": {
            TrackKey(t.assay, t.kind).path: {**t.qc["outside_genome"], "of": t.qc.get("n_items", 0)}
            for t in tracks
            if t.qc.get("outside_genome", {}).get("peaks")
        },
        "seconds": round(seconds, 2),
    }


def run_planned_tracks(plan: CellPlan, indices: list[int]) -> list[TrackResult]:
    """Run track jobs ``indices`` of ``plan`` (the Dask form: the plan, with the genes, reaches a worker once)."""
    return [run_track(plan.jobs[i], plan.genes) for i in indices]


def assemble_serialised(
    plan: CellPlan,
    fs_json: str,
    source: str,
    spool_dir: str | None,
    index_groups: list[list[int]],
    *groups: list[TrackResult],
) -> CellIngest:
    """:func:`assemble_cell` for a Dask worker: the feature table leaves as a Parquet file or bytes, not arrays.

    ``groups`` are the results of :func:`run_planned_tracks` for the job indices in ``index_groups``. With
    ``spool_dir`` (the store's ``tmp/`` folder, seen by this worker) the table is written there under a fresh name
    and only that name travels back; otherwise the Parquet bytes do.
    """
    by_index = {i: r for idx, group in zip(index_groups, groups, strict=True) for i, r in zip(idx, group, strict=True)}
    results = [by_index[i] for i in range(len(plan.jobs))]
    ing = assemble_cell(plan, FeatureSetDef.from_json(fs_json), results, source)
    table = ing.features.to_arrow()
    ing.features = ing.features.clear()
    if spool_dir is not None:
        path = Path(spool_dir) / f"{uuid.uuid4().hex}.parquet"
        part = path.with_suffix(".part")
        write_feature_table(table, part)
        os.replace(part, path)  # a worker killed mid-write leaves only a .part for the store's clean-up
        ing.features_file = str(path)
    else:
        buf = io.BytesIO()
        write_feature_table(table, buf)
        ing.features_parquet = buf.getvalue()
    return ing
