"""The cache of per-track-set models: bounded, least recently used dropped first, never the active model."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from epigex.store.catalog import Store
from epigex.store.errors import ConflictError
from epigex.store.registry import (
    Artifact,
    ModelRecord,
    active_model_id,
    commit_model,
    delete_model,
    list_models,
    models_with_tracks,
    prune_track_set_models,
    touch_model,
)
from epigex.store.tracksets import describe


def register(store: Store, mid: str, tracks: list[str] | None, *, activate: bool = False) -> None:
    booster = store.new_tmp_path(".txt")
    booster.write_text(f"booster of {mid}\n")
    record = ModelRecord(
        id=mid, created_at=None, profile="quick", seed=0, threads=1, feature_set="fs", cells=["X1"], setups=["s"],
        lineage={}, params={}, features=["f"], selection=[], mask_rule="mean", threshold=0.4,
        metrics={"summary": []}, timings={}, n_boosters=1, content_digest=mid, tracks=tracks,
    )  # fmt: skip
    commit_model(store, record, [(Artifact("s", "classifier", "", "sha", 1), booster)], activate=activate)


def test_least_recently_used_track_set_models_are_dropped_never_the_active_one(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    register(store, "full", None, activate=True)
    for i in range(4):
        register(store, f"m{i}", [f"A{i}:bigwig"])
        time.sleep(0.01)
    touch_model(store, "m0")  # m0 served a cell just now: the most recently used
    dropped = prune_track_set_models(store, keep=2)
    assert sorted(dropped) == ["m1", "m2"]
    assert sorted(m.id for m in list_models(store)) == ["full", "m0", "m3"]
    assert not any((store.home / "models" / d).exists() for d in dropped)
    assert [m.id for m in models_with_tracks(store, ["A0:bigwig"])] == ["m0"]

    register(store, "m9", ["A9:bed"], activate=True)  # a per-track-set model made active is kept whatever its age
    assert "m9" not in prune_track_set_models(store, keep=1)
    assert active_model_id(store) == "m9"
    with pytest.raises(ConflictError, match="active model"):
        delete_model(store, "m9")


def test_track_sets_read_as_labels() -> None:
    assert describe(None) == "all"
    assert describe(["DNase:bed", "DNase:bigwig", "H3K4me3:bigwig"]) == "DNase, H3K4me3 (bw)"
    assert describe(["A:bigwig", "A:bed"], ["A:bed", "A:bigwig"]) == "all"
