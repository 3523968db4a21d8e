"""The model registry and the prediction cache: catalog rows plus files under ``models/`` and ``predictions/``.

A model's rows and booster files are committed together (files placed first, rows in one transaction); the
newest model becomes the active one (``meta.active_model``) unless told otherwise. Predictions are kept once
per (model, cell line) and recomputed only when the cell line's inputs change.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from epigex.store.catalog import Store
from epigex.store.errors import ConflictError, InputError, NotFoundError
from epigex.store.tracksets import TrackKey

JSON_FIELDS = ("cells", "setups", "lineage", "params", "features", "selection", "metrics", "timings", "tracks")
SET_ACTIVE = "INSERT INTO meta VALUES ('active_model', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
MODEL_COLUMNS = (
    "id",
    "created_at",
    "profile",
    "seed",
    "threads",
    "feature_set",
    "cells",
    "setups",
    "lineage",
    "params",
    "features",
    "selection",
    "mask_rule",
    "threshold",
    "metrics",
    "timings",
    "n_boosters",
    "content_digest",
    "job_id",
    "tracks",
    "last_used_at",
)


@dataclass
class ModelRecord:
    """One registered model, as the catalog holds it."""

    id: str
    created_at: Any
    profile: str
    seed: int
    threads: int
    feature_set: str
    cells: list[str]
    setups: list[str]
    lineage: dict[str, Any]
    params: dict[str, Any]
    features: list[str]
    selection: list[dict[str, Any]]
    mask_rule: str
    threshold: float
    metrics: dict[str, Any]
    timings: dict[str, float]
    n_boosters: int
    content_digest: str
    job_id: str | None = None  # the service job that trained it (None from the CLI)
    tracks: list[str] | None = None  # the track set it was trained on (``assay:kind``); None: all its cells had
    last_used_at: Any = None  # when it last served a cell line (bounds the cache of per-track-set models)
    reused: bool = False  # not stored: set when a training found this identical model already registered

    @property
    def validated_on_val_split(self) -> bool:
        """Whether the model was validated on the course's val split (else leave-one-chromosome-out)."""
        validation = (self.params or {}).get("profile", {}).get("validation")
        return validation == "split" if validation else self.profile == "quick"  # models saved before the field

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> ModelRecord:
        """Build from a ``SELECT`` of :data:`MODEL_COLUMNS`."""
        values = dict(zip(MODEL_COLUMNS, row, strict=True))
        for k in JSON_FIELDS:
            values[k] = json.loads(values[k]) if values[k] is not None else None
        return cls(**values)


@dataclass(frozen=True)
class Artifact:
    """A booster file of a model."""

    setup: str
    stage: str
    path: str
    sha256: str
    rounds: int


def cell_lineage(store: Store, cell: str) -> dict[str, Any]:
    """What a model trained on ``cell`` was made from: its input digest and every track's sha256 and size."""
    rows = store.query("SELECT input_digest, n_genes FROM cell_lines WHERE name = ?", [cell])
    if not rows:
        raise NotFoundError(f"unknown cell line {cell!r} in the store at {store.home}")
    tracks = store.query(
        "SELECT assay, kind, original_name, sha256, bytes FROM tracks WHERE cell_line = ? ORDER BY assay, kind", [cell]
    )
    return {
        "input_digest": rows[0][0],
        "genes": rows[0][1],
        "tracks": {TrackKey(a, k).path: {"file": n, "sha256": h, "bytes": b} for a, k, n, h, b in tracks},
    }


def commit_model(
    store: Store, record: ModelRecord, files: list[tuple[Artifact, Path]], *, activate: bool = True
) -> ModelRecord:
    """Place the booster files and write the model's rows in one transaction; make it active if asked."""
    if store.query("SELECT 1 FROM models WHERE id = ?", [record.id]):
        raise ConflictError(f"a model with id {record.id} already exists")
    placed: list[str] = []
    try:
        arts = []
        for art, tmp in files:
            rel = store.place(tmp, f"models/{record.id}", ".txt")
            placed.append(rel)
            arts.append(Artifact(art.setup, art.stage, rel, art.sha256, art.rounds))
        with store.write() as con:
            if con.execute("SELECT 1 FROM models WHERE id = ?", [record.id]).fetchall():
                raise ConflictError(f"a model with id {record.id} already exists")
            cols = [c for c in MODEL_COLUMNS if c not in ("created_at", "last_used_at")]
            values = [json.dumps(getattr(record, c)) if c in JSON_FIELDS else getattr(record, c) for c in cols]
            con.execute(
                f"INSERT INTO models (created_at, last_used_at, {', '.join(cols)}) "
                f"VALUES (now(), now(), {', '.join(['?'] * len(cols))})",
                values,
            )
            con.executemany(
                "INSERT INTO model_artifacts VALUES (?, ?, ?, ?, ?, ?)",
                [[record.id, a.setup, a.stage, a.path, a.sha256, a.rounds] for a in arts],
            )
            if activate:
                con.execute(SET_ACTIVE, [record.id])
    except BaseException:
        store.remove_files(placed)
        raise
    return get_model(store, record.id)


def active_model_id(store: Store) -> str | None:
    """The active model's id, or None when no model was trained yet."""
    rows = store.query("SELECT value FROM meta WHERE key = 'active_model'")
    return rows[0][0] if rows else None


def resolve_model_id(store: Store, ref: str) -> str:
    """A model id from ``ref``: a whole id, ``latest`` (the newest model) or a prefix that only one id starts with."""
    ids = [r[0] for r in store.query("SELECT id FROM models ORDER BY created_at DESC, id DESC")]
    if not ids:
        raise ConflictError(
            f"no model yet in the store at {store.home}: train one first (epigex train, or POST /models)"
        )
    if ref == "latest":
        return ids[0]
    if ref in ids:
        return ref
    matches = [i for i in ids if i.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InputError(
            f"model id prefix {ref!r} matches {len(matches)} models ({', '.join(matches[:4])}…); give more"
        )
    raise NotFoundError(f"unknown model {ref!r} in the store at {store.home} (epigex models lists them)")


def get_model(store: Store, model_id: str | None = None) -> ModelRecord:
    """A model by id (or ``latest``, or a unique prefix), or the active model; clear errors otherwise."""
    if model_id is None:
        model_id = active_model_id(store)
        if model_id is None:
            n = store.query("SELECT count(*) FROM models")[0][0]
            if n:  # only models for some tracks (never made active): say so, and how to reach them
                raise ConflictError(
                    f"no active model in the store at {store.home}: its {n} model(s) were trained for cells with "
                    "some of the assays; name one (epigex models lists them; latest is the newest) or train one "
                    "on every track (epigex train)"
                )
            raise ConflictError(
                f"no model yet in the store at {store.home}: train one first (epigex train, or POST /models)"
            )
    else:
        model_id = resolve_model_id(store, model_id)
    rows = store.query(f"SELECT {', '.join(MODEL_COLUMNS)} FROM models WHERE id = ?", [model_id])
    if not rows:
        raise NotFoundError(f"unknown model {model_id!r} in the store at {store.home} (epigex models lists them)")
    return ModelRecord.from_row(rows[0])


def model_with_content(store: Store, content_digest: str) -> ModelRecord | None:
    """The registered model with this content digest (same inputs, parameters, boosters), if any."""
    rows = store.query(
        f"SELECT {', '.join(MODEL_COLUMNS)} FROM models WHERE content_digest = ? LIMIT 1", [content_digest]
    )
    return ModelRecord.from_row(rows[0]) if rows else None


def list_models(store: Store) -> list[ModelRecord]:
    """Every model, newest first."""
    rows = store.query(f"SELECT {', '.join(MODEL_COLUMNS)} FROM models ORDER BY created_at DESC, id DESC")
    return [ModelRecord.from_row(r) for r in rows]


def activate_model(store: Store, model_id: str) -> ModelRecord:
    """Make ``model_id`` (or ``latest``, or a unique prefix) the active model."""
    record = get_model(store, model_id)
    with store.write() as con:
        con.execute(SET_ACTIVE, [record.id])
    return record


def model_artifacts(store: Store, model_id: str) -> list[Artifact]:
    """The booster files of a model."""
    rows = store.query(
        "SELECT setup, stage, path, sha256, rounds FROM model_artifacts WHERE model_id = ? ORDER BY setup, stage",
        [model_id],
    )
    return [Artifact(*r) for r in rows]


def model_ids_with_tracks(store: Store, tracks: list[str], within: set[str] | None = None) -> list[str]:
    """The ids of the models trained on exactly the track set ``tracks`` (and only on cells ``within``, when
    given), newest first (one light query)."""
    want = sorted(tracks)
    rows = store.query(
        "SELECT id, tracks, cells FROM models WHERE tracks IS NOT NULL ORDER BY created_at DESC, id DESC"
    )
    parsed = [(mid, json.loads(t), json.loads(c)) for mid, t, c in rows]  # a model of every track keeps JSON null
    return [
        mid
        for mid, t, cells in parsed
        if t is not None and sorted(t) == want and (within is None or set(cells) <= within)
    ]


def models_with_tracks(store: Store, tracks: list[str], within: set[str] | None = None) -> list[ModelRecord]:
    """The models trained on exactly the track set ``tracks`` (only on cells ``within``, when given), newest first."""
    return [get_model(store, mid) for mid in model_ids_with_tracks(store, tracks, within)]


def touch_model(store: Store, model_id: str) -> None:
    """Note that a model served a cell line now (for the least-recently-used bound on per-track-set models)."""
    with store.write() as con:
        con.execute("UPDATE models SET last_used_at = now() WHERE id = ?", [model_id])


def delete_model(store: Store, model_id: str) -> list[str]:
    """Remove a model that is not the active one: its rows, booster files and cached predictions."""
    record = get_model(store, model_id)
    with store.write() as con:
        active = con.execute("SELECT value FROM meta WHERE key = 'active_model'").fetchall()
        if active and active[0][0] == record.id:
            raise ConflictError(f"model {record.id} is the active model; activate another before deleting it")
        arts = con.execute("SELECT path FROM model_artifacts WHERE model_id = ?", [record.id]).fetchall()
        preds = con.execute("SELECT path, contrib_path FROM predictions WHERE model_id = ?", [record.id]).fetchall()
        files = [r[0] for r in arts] + [p for row in preds for p in row if p]
        con.execute("DELETE FROM predictions WHERE model_id = ?", [record.id])
        con.execute("DELETE FROM qc_verdicts WHERE model_id = ?", [record.id])
        con.execute("DELETE FROM model_artifacts WHERE model_id = ?", [record.id])
        con.execute("DELETE FROM models WHERE id = ?", [record.id])
    store.remove_files(files)
    folders = {str(p) for f in files for p in Path(f).parents if len(p.parts) >= 2}  # not models/ itself
    for rel in sorted(folders, key=len, reverse=True):
        with contextlib.suppress(OSError):  # a folder something else still uses stays
            (store.home / rel).rmdir()
    return files


def prune_track_set_models(store: Store, keep: int) -> list[str]:
    """Drop the least recently used per-track-set models beyond ``keep`` (never the active one); their ids."""
    active = active_model_id(store)
    subset = [m for m in list_models(store) if m.tracks is not None and m.id != active]
    subset.sort(key=lambda m: (m.last_used_at is not None, m.last_used_at or m.created_at), reverse=True)
    dropped = [m.id for m in subset[max(0, keep) :]]
    for mid in dropped:
        delete_model(store, mid)
    return dropped
