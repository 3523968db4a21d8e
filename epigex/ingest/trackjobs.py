"""A track job: one (cell, assay, kind) to turn into feature columns, as a plain picklable description."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from epigex.ingest.featureset import FeatureSetDef
from epigex.ingest.limits import DEFAULT_LIMITS, ReadLimits
from epigex.ingest.tracks import TrackResult, bed_features, bigwig_features
from epigex.store.errors import ResourceLimitError


@dataclass(frozen=True)
class TrackJob:
    """One track of one cell to turn into feature columns (the cell's genes travel separately, once per cell)."""

    cell: str
    assay: str
    kind: str
    path: str
    fs_json: str
    force_build: bool
    limits: ReadLimits = DEFAULT_LIMITS

    @property
    def label(self) -> str:
        """``"CELL ASSAY KIND"`` (the progress bars group by the first two words)."""
        return f"{self.cell} {self.assay} {self.kind}"


def run_track(job: TrackJob, genes: pl.DataFrame, progress: Callable[[float], None] | None = None) -> TrackResult:
    """Compute one track's feature columns for ``genes`` (runs in a thread or on a Dask worker)."""
    fs = FeatureSetDef.from_json(job.fs_json)
    fn = bigwig_features if job.kind == "bigwig" else bed_features
    try:
        return fn(
            Path(job.path), job.assay, genes, fs, force_build=job.force_build, progress=progress, limits=job.limits
        )
    except MemoryError:  # the budget is an estimate: a shortfall is still the user's clear 413, never a crash
        raise ResourceLimitError(
            f"{job.path}: reading the {job.assay} {job.kind} track ran out of memory (ceiling "
            f"{job.limits.max_memory_mb:,} MiB, EPIGEX_MAX_TRACK_MEMORY_MB, and what the machine has left)"
        ) from None
