"""Ingest orchestration: a cell's gene tables and tracks → one feature table and its catalog rows, atomically."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from epigex.ingest.assemble import CellPlan
from epigex.ingest.committer import BatchCommitter, IngestOutcome, commit_planned
from epigex.ingest.executors import LocalRunner, TrackRunner
from epigex.ingest.featureset import FeatureSetDef, default_feature_set
from epigex.ingest.genes import read_info, read_labels
from epigex.ingest.layout import CellFiles, discover
from epigex.ingest.limits import DEFAULT_LIMITS, ReadLimits
from epigex.ingest.trackjobs import TrackJob
from epigex.store.access import Owner, set_owner
from epigex.store.catalog import Store
from epigex.store.cells import CellIngest, cell_digest, cell_gene_count, is_current
from epigex.store.errors import ConflictError, InputError
from epigex.store.tracksets import TrackKey
from epigex.store.types import ProgressFn

SPLIT_ORDER = {"train": 0, "val": 1, "test": 2, "reference": 3}


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


def plan_cell(
    cf: CellFiles,
    fs: FeatureSetDef,
    *,
    digest: str,
    shas: dict[str, str],
    force_build: bool = False,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> CellPlan:
    """Read a cell's gene tables and list its track jobs (nothing heavy runs yet)."""
    t0 = time.perf_counter()
    genes, labels = read_cell_genes(cf)
    fs_json = fs.to_json()
    jobs = []
    for a in fs.assays:
        for kind, files in (("bigwig", cf.bigwig), ("bed", cf.bed)):
            if kind in fs.kinds() and a in files:  # a cell may bring some of the tracks
                jobs.append(TrackJob(cf.name, a, kind, str(files[a]), fs_json, force_build, limits))
    return CellPlan(cf, genes, labels, jobs, digest, shas, t0)


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
    limits: ReadLimits = DEFAULT_LIMITS,
) -> CellIngest:
    """Compute one cell's feature table and catalog rows in memory (nothing is written)."""
    plan = plan_cell(cf, fs, digest=digest, shas=shas, force_build=force_build, limits=limits)
    return next(iter(LocalRunner(threads).run_cells([plan], fs, source, progress)))


def _digest_of(
    store: Store, cf: CellFiles, fs: FeatureSetDef, known_shas: dict[str, str] | None, runner: TrackRunner
) -> tuple[str, dict[str, str], bool]:
    roles = input_roles(cf, fs)
    shas = {role: sha for role, sha in (known_shas or {}).items() if role in roles}
    todo = [role for role in roles if role not in shas]
    shas |= dict(zip(todo, runner.hash_files([roles[r] for r in todo]), strict=True))
    digest = input_digest(fs, shas)
    return digest, shas, is_current(store, cf.name, fs.id, digest)


def _unchanged(store: Store, name: str, t0: float) -> IngestOutcome:
    return IngestOutcome(name, "unchanged", cell_gene_count(store, name), time.perf_counter() - t0, {})


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
    runner: TrackRunner | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    owner: Owner | None = None,
) -> IngestOutcome:
    """Compute and commit one cell's features; a no-op when the same inputs are already in the store.

    ``known_shas`` (role → sha256, e.g. hashed while uploading) spares hashing those files again;
    ``keep_files`` moves the tracks into the store (the service keeps uploads so features can be recomputed);
    ``owner``: the project the cell belongs to from now on (None: as before; a new cell is public).
    """
    fs = fs or default_feature_set()
    runner = runner or LocalRunner(threads)
    t0 = time.perf_counter()
    digest, shas, current = _digest_of(store, cf, fs, known_shas, runner)
    if current:
        if owner is not None:
            set_owner(store, "cell", cf.name, owner)
        return _unchanged(store, cf.name, t0)
    plan = plan_cell(cf, fs, digest=digest, shas=shas, force_build=force_build, limits=limits)
    plan.started = t0
    ing = next(iter(runner.run_cells([plan], fs, source, progress, store.tmp)))
    return commit_planned(store, [(plan, ing)], keep_files, owner=owner)[0]


def input_roles(cf: CellFiles, fs: FeatureSetDef) -> dict[str, Path]:
    """Every input file of a cell that the feature set reads, keyed by role (``bigwig:DNase``, ``info:test``…)."""
    roles: dict[str, Path] = {f"info:{s}": p for s, p in cf.info.items()}
    roles |= {f"y:{s}": p for s, p in cf.labels.items()}
    roles |= {TrackKey(a, "bigwig").role: p for a, p in cf.bigwig.items() if a in fs.assays and fs.use_bigwig}
    roles |= {TrackKey(a, "bed").role: p for a, p in cf.bed.items() if a in fs.assays and fs.use_bed}
    return roles


def ingest_dataset(
    store: Store,
    data_dir: Path,
    cells: list[str] | None = None,
    fs: FeatureSetDef | None = None,
    *,
    force_build: bool = False,
    threads: int = 2,
    progress: ProgressFn | None = None,
    runner: TrackRunner | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    require_all: bool = False,
    keep_tracks: bool = True,
    replace: bool = False,
    owner: Owner | None = None,
) -> list[IngestOutcome]:
    """Ingest every (or the named) cell of a course-layout dataset; all files are found before any work.

    ``keep_tracks``: the store keeps each track file too (a hard link on the same filesystem, else a copy), so that
    the web UI's genome view can show it and features can be recomputed later.

    A cell may come with some of the tracks (its outcome lists the missing ones); ``require_all`` refuses that.
    A cell the store holds from other files (or another feature set) is replaced only with ``replace``; without
    it, the ingest is refused before any work, naming every such cell. Identical files are a no-op either way.
    ``owner``: the project every cell belongs to from now on (None: as before; a new cell is public).

    Track jobs of all cells go to ``runner`` (default: a local thread pool of ``threads``); each cell is
    assembled as soon as its tracks are done and committed, atomically, on a background thread together with any
    other cell ready at that moment. Cells are hashed and planned lazily, as
    the runner asks for the next one, so hashing a cell's inputs overlaps the work on the cells before it.
    """
    fs = fs or default_feature_set()
    runner = runner or LocalRunner(threads)
    found = discover(data_dir, cells, fs.assays, fs.kinds(), require_all=require_all)
    outcomes: dict[str, IngestOutcome] = {}
    planned: list[CellPlan] = []
    # cells the store has: hashed first, so that a refusal comes before any work (the hashes are reused below)
    hashed = {cf.name: _digest_of(store, cf, fs, None, runner) for cf in found if cell_digest(store, cf.name)}
    changed = sorted(name for name, (_, _, current) in hashed.items() if not current)
    if changed and not replace:
        raise ConflictError(
            f"cell line(s) {', '.join(changed)} already in the store at {store.home} with other files; replace "
            "them on purpose (epigex ingest --replace; replace=true in an upload) or give the new files another name"
        )

    def plans() -> Iterator[CellPlan]:
        for cf in found:
            t0 = time.perf_counter()
            digest, shas, current = hashed.get(cf.name) or _digest_of(store, cf, fs, None, runner)
            if current:
                if owner is not None:
                    set_owner(store, "cell", cf.name, owner)
                outcomes[cf.name] = _unchanged(store, cf.name, t0)
                continue
            plan = plan_cell(cf, fs, digest=digest, shas=shas, force_build=force_build, limits=limits)
            planned.append(plan)
            yield plan

    committer = BatchCommitter(store, keep_tracks, owner)
    try:
        for i, ing in enumerate(runner.run_cells(plans(), fs, "cli", progress, store.tmp)):
            committer.put(planned[i], ing)  # cells come back in the order they were planned
    except BaseException:
        with contextlib.suppress(Exception):  # the first failure is the one to report
            committer.close()  # the cells finished before the failure are kept
        raise
    outcomes |= {o.cell: o for o in committer.close()}
    return [outcomes[cf.name] for cf in found]
