"""Cell lines arriving over HTTP: check the uploaded files at once, then ingest them in a background job.

Fast checks answer the client directly (415 for a file of the wrong type, 422 for a truncated bigWig, a
malformed BED line, another genome build, a bad name); the long work (every window statistic of every track)
runs as a job. The uploaded tracks are kept in the store so that features can be recomputed later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from epigex.app.services.access import ANYONE, Access, Principal
from epigex.app.services.ahead import predict_ahead
from epigex.app.services.assaysets import ensure_cell_model
from epigex.app.services.jobs import JobRow, JobRunner, Report, cell_job_key
from epigex.app.services.qc import cell_qc
from epigex.app.services.uploads import Upload
from epigex.app.settings import Settings
from epigex.ingest.bigwig import sniff_kind
from epigex.ingest.committer import IngestOutcome
from epigex.ingest.executors import DaskRunner
from epigex.ingest.featureset import FeatureSetDef, default_feature_set
from epigex.ingest.genes import read_info, read_labels
from epigex.ingest.hashing import sha256_file
from epigex.ingest.layout import CellFiles, check_cell_name
from epigex.ingest.limits import DEFAULT_LIMITS, ReadLimits
from epigex.ingest.pipeline import ingest_cell, input_digest, input_roles
from epigex.ingest.validate import check_track
from epigex.store.access import Owner, bytes_uploaded_since, record, set_owner
from epigex.store.catalog import Store
from epigex.store.cells import cell_digest, delete_cell, feature_set_definition, reference_genes
from epigex.store.errors import ConflictError, EpigexError, FileTypeError, InputError, QuotaError
from epigex.store.registry import active_model_id, get_model
from epigex.store.tracksets import TrackKey

if TYPE_CHECKING:  # the read service imports this module for the upload feature set
    from epigex.app.services.serving import Serving

VAL_CHROMS = ("chr14", "chr19")  # the course's validation chromosomes, for labelled uploads


def feature_set_for_uploads(store: Store) -> FeatureSetDef:
    """The active model's feature set (so an upload can be predicted at once), else the default one."""
    mid = active_model_id(store)
    if mid is None:
        return default_feature_set()
    definition = feature_set_definition(store, get_model(store, mid).feature_set)
    return FeatureSetDef.from_json(definition) if definition else default_feature_set()


def upload_fields(fs: FeatureSetDef) -> set[str]:
    """The track fields an upload for feature set ``fs`` carries: ``{assay}_bigwig``, ``{assay}_bed``."""
    return {TrackKey(a, k).field for a in fs.assays for k in fs.kinds()}


def _relabel(err: EpigexError, path: Path, label: str) -> EpigexError:
    """The same error with the server-side path replaced by the form field and the client's file name."""
    err.args = (str(err).replace(str(path), label),)
    return err


def _check_kind(field: str, path: Path, label: str, kind: str) -> None:
    with open(path, "rb") as fh:
        seen = sniff_kind(fh.read(8))
    if kind == "bigwig" and seen != "bigwig":
        if seen == "bigbed":
            raise FileTypeError(f"{label}: this is a bigBed file, but {field} needs a bigWig signal track")
        if seen == "empty":
            raise InputError(f"{label}: the file is empty; expected a bigWig signal track")
        raise FileTypeError(f"{label}: not a bigWig file (its first bytes are {seen}); {field} needs a bigWig")
    if kind == "bed" and seen in ("bigwig", "bigbed", "unknown"):
        raise FileTypeError(f"{label}: a binary {seen} file, but {field} needs a BED/narrowPeak text file")


@dataclass
class PreparedCell:
    """A checked upload laid out as a cell's input files, with its digest and the feature set to compute."""

    files: CellFiles
    fs: FeatureSetDef
    shas: dict[str, str]
    digest: str
    replace: bool
    owner: Owner | None = None  # who the cell belongs to once ingested (None: as before; a new cell is public)


def _write_info(frame: pl.DataFrame, path: Path) -> Path:
    frame.select(
        pl.col("gene_name"),
        pl.col("chrom").alias("chr"),
        pl.col("gene_start"),
        pl.col("gene_end"),
        pl.col("tss_start").alias("TSS_start"),
        pl.col("tss_end").alias("TSS_end"),
        pl.col("strand"),
    ).write_csv(path, separator="\t")
    return path


def prepare_upload(
    store: Store, upload: Upload, *, force_build: bool = False, limits: ReadLimits = DEFAULT_LIMITS
) -> PreparedCell:
    """Check every part of an upload and lay it out as a cell's files; raise the first problem found."""
    # long by design: every check of an upload, in the order the client's parts are judged
    name = check_cell_name(upload.fields.get("name", "").strip() or "(missing)")
    replace = upload.fields.get("replace", "false").strip().lower() in ("1", "true", "yes")
    fs = feature_set_for_uploads(store)
    expected = upload_fields(fs)
    allowed = expected | {"genes", "labels"}
    unknown = sorted(set(upload.files) - allowed)
    if unknown:
        raise EpigexError(f"unexpected file field(s) {', '.join(unknown)}; expected {{assay}}_bigwig, {{assay}}_bed")
    require_all = upload.fields.get("require_all", "false").strip().lower() in ("1", "true", "yes")
    missing = sorted(expected - set(upload.files))
    if missing and require_all:
        raise InputError(f"missing file(s): {', '.join(missing)} (require_all: every assay's bigWig and BED file)")
    present = sorted(expected & set(upload.files))
    if not present:
        raise InputError(
            f"no track file: send at least one {{assay}}_bigwig or {{assay}}_bed field (assays: {', '.join(fs.assays)})"
        )
    cf = CellFiles(name)
    cf.missing = sorted(str(TrackKey.from_field(f)) for f in missing)
    for field_name in present:
        part = upload.files[field_name]
        key = TrackKey.from_field(field_name)
        assay, kind = key
        label = f"{field_name} ({part.filename})"
        _check_kind(field_name, part.path, label, kind)
        try:
            check_track(part.path, kind, force_build=force_build, limits=limits)
        except EpigexError as err:
            raise _relabel(err, part.path, label) from None
        (cf.bigwig if kind == "bigwig" else cf.bed)[assay] = part.path
        cf.names[key.role] = part.filename

    folder = upload.folder
    if "genes" in upload.files:
        part = upload.files["genes"]
        try:
            info = read_info(part.path)
        except EpigexError as err:
            raise _relabel(err, part.path, f"genes ({part.filename})") from None
        if "labels" in upload.files:
            lab = upload.files["labels"]
            try:
                labels = read_labels(lab.path, info)
            except EpigexError as err:
                raise _relabel(err, lab.path, f"labels ({lab.filename})") from None
            both = info.with_columns(labels["gex"])
            for split, part_frame in (
                ("train", both.filter(~pl.col("chrom").is_in(VAL_CHROMS))),
                ("val", both.filter(pl.col("chrom").is_in(VAL_CHROMS))),
            ):
                if part_frame.height:
                    cf.info[split] = _write_info(part_frame, folder / f"info_{split}.tsv")
                    part_frame.select("gene_name", "gex").write_csv(folder / f"y_{split}.tsv", separator="\t")
                    cf.labels[split] = folder / f"y_{split}.tsv"
        else:
            cf.info["test"] = part.path
    else:
        if "labels" in upload.files:
            raise EpigexError("labels need a genes file (the info TSV listing the same genes in the same order)")
        genes = reference_genes(store)
        if genes.height == 0:
            raise ConflictError("the store knows no genes yet: send a genes file (info TSV) with the tracks")
        cf.info["reference"] = _write_info(genes, folder / "info_reference.tsv")

    keys = [TrackKey(a, k) for a in fs.assays for k in fs.kinds()]
    shas = {key.role: upload.files[key.field].sha256 for key in keys if key.field in present}
    for role, path in input_roles(cf, fs).items():
        shas.setdefault(role, sha256_file(path))
    return PreparedCell(cf, fs, shas, input_digest(fs, shas), replace)


def _flag(upload: Upload, name: str) -> bool | None:
    value = upload.fields.get(name)
    return None if value is None else value.strip().lower() in ("1", "true", "yes")


def upload_owner(access: Access, by: Principal, upload: Upload, name: str, exists: bool) -> Owner | None:
    """Who an uploaded cell will belong to; refuses a name the uploader may not use (None: no users, as before).

    A new cell belongs to the uploader's project, private unless ``public``; the admin's uploads are public. A
    cell that exists keeps its project: only its project's writers (or an admin) may replace it, and a name the
    uploader may not even read answers "not available", never whose it is.
    """
    view = access.view()
    if not view.users_mode:
        return None
    public = _flag(upload, "public")
    if exists:
        if not view.may_read_cell(by, name):
            raise ConflictError(f"the name {name!r} is not available; choose another name for this cell line")
        access.write_cell(by, name)
        old = view.owner("cell", name)
        return Owner(old.project, old.public if public is None else public)
    return Owner(by.project, by.project is None or bool(public))


def check_upload_quota(store: Store, access: Access, by: Principal, size: int | None, settings: Settings) -> None:
    """429 (with ``Retry-After``: the next UTC midnight) when ``size`` more bytes would take a user past its
    daily upload quota (``EPIGEX_UPLOAD_MB_PER_DAY``); admins and a store without users have none."""
    if by.admin or not access.view().users_mode:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    used = bytes_uploaded_since(store, by.name, midnight)
    limit = settings.upload_mb_per_day * 2**20
    if used + (size or 0) > limit:
        raise QuotaError(
            f"{by.name} has uploaded {used / 2**20:.0f} MB today; this upload would pass the daily quota of "
            f"{settings.upload_mb_per_day} MB (EPIGEX_UPLOAD_MB_PER_DAY); try again after midnight UTC",
            retry_after=int((midnight + timedelta(days=1) - now).total_seconds()) + 1,
        )


def submit_cell(
    store: Store,
    runner: JobRunner,
    upload: Upload,
    *,
    settings: Settings,
    access: Access | None = None,
    by: Principal = ANYONE,
) -> JobRow:
    """Check an upload and queue its ingest for ``by``; a no-op job when the store already has exactly these files.

    A cell with some of the tracks also gets, in the same job, the model for its track set (trained once).
    """
    access = access or Access(store)
    try:
        size = sum(part.size for part in upload.files.values())
        check_upload_quota(store, access, by, size, settings)  # a chunked body's size is known only now
        prep = prepare_upload(store, upload, limits=settings.read_limits())
        name = prep.files.name
        current = cell_digest(store, name)
        prep.owner = upload_owner(access, by, upload, name, current is not None)
        params = {"cell_line": name, "feature_set": prep.fs.id, "input_digest": prep.digest}
        if current == prep.digest:
            upload.discard()
            if prep.owner is not None and prep.owner != access.view().owner("cell", name):
                set_owner(store, "cell", name, prep.owner)
            job = runner.finished("ingest", params, {"cell_line": name, "status": "unchanged"}, "unchanged", by=by)
            record(store, by.name, by.project, "upload", name, nbytes=size, detail=f"job {job.id}: unchanged")
            return job
        if current is not None and not prep.replace:
            raise ConflictError(
                f"cell line {name!r} exists with other files; send replace=true to replace it (epigex ingest "
                "--replace), or choose another name"
            )
        if runner.busy(cell_job_key(name)):
            raise ConflictError(f"cell line {name!r} is being ingested right now; wait for that job to finish")
    except BaseException:
        upload.discard()
        raise

    def work(report: Report) -> dict[str, Any]:
        return ingest_upload(store, prep, upload, settings, report)

    try:
        job = runner.submit("ingest", params, work, key=cell_job_key(name), by=by)
    except BaseException:
        upload.discard()
        raise
    record(store, by.name, by.project, "upload", name, nbytes=size, detail=f"job {job.id}")
    return job


def _ingest_files(
    store: Store, prep: PreparedCell, upload: Upload, settings: Settings, report: Report
) -> IngestOutcome:
    """Ingest a checked upload (its track jobs locally or on Dask); errors name the client's files."""
    n_tracks = max(1, len(prep.files.bigwig) + len(prep.files.bed))
    share = 0.45 if prep.files.missing else 0.95  # with some of the tracks, training the model comes next
    done: dict[str, float] = {}

    def progress(label: str, fraction: float) -> None:
        done[label] = fraction
        report(share * sum(done.values()) / n_tracks, f"ingesting {label}")

    tracks = DaskRunner(settings.dask_scheduler) if settings.dask_scheduler else None
    labels = {part.path: f"{field} ({part.filename})" for field, part in upload.files.items()}
    try:
        return ingest_cell(
            store,
            prep.files,
            prep.fs,
            threads=settings.threads,
            progress=progress,
            source="api",
            known_shas=prep.shas,
            keep_files=True,
            runner=tracks,
            limits=settings.read_limits(),
            owner=prep.owner,
        )
    except EpigexError as err:  # name the client's file, not where the server kept it
        for path, label in labels.items():
            _relabel(err, path, label)
        raise
    finally:
        upload.discard()
        if tracks is not None:
            tracks.close()


def ingest_upload(
    store: Store, prep: PreparedCell, upload: Upload, settings: Settings, report: Report
) -> dict[str, Any]:
    """The upload job: ingest, QC, the model for a cell with some of the tracks, predictions ahead; its result."""
    name = prep.files.name
    share = 0.45 if prep.files.missing else 0.95
    out = _ingest_files(store, prep, upload, settings, report)
    report(share + 0.02, "checking the tracks (QC)")
    verdicts = cell_qc(store, name)
    result: dict[str, Any] = {
        "cell_line": name,
        "status": out.status,
        "genes": out.genes,
        "qc": json.loads(json.dumps({k: v for k, v in out.qc.items() if k != "track_profile"})),
        "verdict": verdicts["verdict"],
        "track_qc": verdicts,
    }
    if prep.files.missing:  # a cell with some of the tracks: a model for exactly those, trained once
        try:
            model = ensure_cell_model(
                store,
                settings,
                name,
                progress=lambda label, f: report(0.5 + 0.5 * f, f"training a model for its tracks: {label}"),
            )
            result["model"] = {"id": model.id, "tracks": model.tracks, "reused": model.reused}
        except EpigexError as err:  # the cell is in the store; say why it cannot be predicted yet
            result["model"] = {"error": str(err)}
    report(0.99, "predicting its genes")
    result["predicted"] = bool(predict_ahead(store, [name]))
    return result


def delete_cell_line(store: Store, runner: JobRunner, serving: Serving, name: str, *, by: Principal = ANYONE) -> None:
    """Remove a cell line and all it owns; 409 while a job ingests it; the read service forgets it."""
    if runner.busy(cell_job_key(name)):
        raise ConflictError(f"cell line {name!r} is being ingested right now; delete it when the job has finished")
    delete_cell(store, name)
    serving.forget_cell(name)
    record(store, by.name, by.project, "delete", name)


def publish_cell(store: Store, access: Access, by: Principal, name: str) -> dict[str, Any]:
    """Make a cell line readable by every user (it stays its project's); the owner row as it now is."""
    access.write_cell(by, name)
    old = access.view().owner("cell", name)
    set_owner(store, "cell", name, Owner(old.project, True))
    record(store, by.name, by.project, "publish", name)
    return {"kind": "cell", "name": name, "project": old.project, "public": True}
