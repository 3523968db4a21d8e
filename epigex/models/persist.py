"""Saving a trained ensemble to the store's registry and loading it back from nothing but the store."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb

from epigex.models.boosters import rounds_of
from epigex.models.params import STAGES, Stage, lgb_params
from epigex.models.references import ReferenceModel
from epigex.models.stacking import RECIPE
from epigex.models.training import TrainedModel
from epigex.store.catalog import Store
from epigex.store.errors import ConflictError, EpigexError
from epigex.store.registry import (
    Artifact,
    ModelRecord,
    activate_model,
    cell_lineage,
    commit_model,
    get_model,
    model_artifacts,
    model_with_content,
)

REFERENCE_SETUP = "reference"  # the artifacts of the reference model's boosters


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def save_model(store: Store, trained: TrainedModel, *, activate: bool = True, job_id: str | None = None) -> ModelRecord:
    """Register a trained ensemble: booster files, parameters, features, lineage and validation tables."""
    # long by design: one registration (files, content digest, record, commit), all or none
    lineage = {c: cell_lineage(store, c) for c in trained.cells}
    params: dict[str, Any] = {
        "profile": trained.profile.to_dict(),
        **{stage: lgb_params(stage, trained.profile, trained.seed) for stage in STAGES},
    }
    if trained.combiner != RECIPE:  # models combined as the recipe keep the parameters (and content) they had
        params["stack"] = trained.combiner.to_dict()
    if trained.references is not None:
        params["references"] = trained.references.to_dict()
    files: list[tuple[Artifact, Path]] = []
    shas = {}
    boosters = dict(trained.boosters)
    if trained.references is not None and trained.references.boosters:
        boosters[REFERENCE_SETUP] = trained.references.boosters  # type: ignore[assignment]
    for setup, stages in boosters.items():
        for stage, booster in stages.items():
            text = booster.model_to_string()
            tmp = store.new_tmp_path(".txt")
            tmp.write_text(text)
            shas[f"{setup}/{stage}"] = _sha(text)
            files.append((Artifact(setup, stage, "", shas[f"{setup}/{stage}"], rounds_of(booster)), tmp))
    content = _sha(
        json.dumps(
            {
                "params": params,
                "features": trained.features,
                "inputs": {c: v["input_digest"] for c, v in lineage.items()},
                "boosters": shas,
                "rule": trained.rule,
                "threshold": trained.threshold,
                **({"tracks": sorted(trained.tracks)} if trained.tracks is not None else {}),
            },
            sort_keys=True,
        )
    )
    record = ModelRecord(
        id=f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{content[:8]}",
        created_at=None,
        profile=trained.profile.name,
        seed=trained.seed,
        threads=trained.threads,
        feature_set=trained.feature_set,
        cells=trained.cells,
        setups=trained.setups,
        lineage=lineage,
        params=params,
        features=trained.features,
        selection=trained.selection,
        mask_rule=trained.rule,
        threshold=trained.threshold,
        metrics=trained.metrics,
        timings=trained.timings,
        n_boosters=trained.n_boosters,
        content_digest=content,
        job_id=job_id,
        tracks=sorted(trained.tracks) if trained.tracks is not None else None,
    )
    same = model_with_content(store, content)
    if same is not None:  # the same inputs, parameters and seed: the same boosters, byte for byte
        for _, tmp in files:
            tmp.unlink(missing_ok=True)
        if activate:
            activate_model(store, same.id)
        same.reused = True
        return same
    try:
        base = record.id
        for attempt in range(2, 100):
            try:
                return commit_model(store, record, files, activate=activate)
            except ConflictError:  # the same training saved twice within one second
                record.id = f"{base}-{attempt}"
        raise ConflictError(f"could not find a free model id near {base}")
    finally:
        for _, tmp in files:
            tmp.unlink(missing_ok=True)


@dataclass
class LoadedModel:
    """A registered model with its boosters in memory."""

    record: ModelRecord
    boosters: dict[str, dict[Stage, lgb.Booster]]
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)  # what a reader computed once for this model

    @property
    def id(self) -> str:
        """The model id."""
        return self.record.id

    def references(self) -> ReferenceModel | None:
        """The model's reference model (None: trained before reference-informed prediction existed)."""
        d = self.record.params.get("references")
        if d is None:
            return None
        return ReferenceModel.from_dict(d, dict(self.boosters.get(REFERENCE_SETUP, {})))  # type: ignore[arg-type]


def load_model(store: Store, model_id: str | None = None) -> LoadedModel:
    """Load a model (default: the active one) and its booster files; fail clearly on a damaged file."""
    record = get_model(store, model_id)
    boosters: dict[str, dict[Stage, lgb.Booster]] = {s: {} for s in record.setups}
    for art in model_artifacts(store, record.id):
        path = store.home / art.path
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise EpigexError(f"model {record.id}: booster file {art.path} is missing from the store") from None
        if _sha(text) != art.sha256:
            raise EpigexError(f"model {record.id}: booster file {art.path} does not match its recorded sha256")
        boosters.setdefault(art.setup, {})[art.stage] = lgb.Booster(model_str=text)  # type: ignore[index]
    for s in record.setups:
        if set(boosters.get(s, {})) != set(STAGES):
            raise EpigexError(f"model {record.id}: setup {s} lacks a booster file")
    return LoadedModel(record, boosters)
