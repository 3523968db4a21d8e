"""Training on a real Dask cluster (LocalCluster, 2 worker processes): validation units as tasks, the pooled
setup with lightgbm.dask; the model it registers is loaded and served like any other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from epigex.app.api.app import create_app
from epigex.app.settings import Settings
from epigex.models.metrics import spearman
from epigex.models.persist import load_model
from epigex.models.pipeline import train_from_store
from epigex.models.predict import ensure_predictions, read_predictions
from epigex.store.catalog import Store

pytestmark = pytest.mark.slow


def test_dask_training_matches_local_and_is_served(dask_client: object, trained_copy: Path) -> None:
    store = Store(trained_copy)
    local = load_model(store)
    reference, _ = train_from_store(store, None, "quick", threads=1, register=False)
    seen: list[str] = []
    _, record = train_from_store(
        store, None, "quick", threads=1, dask=dask_client, progress=lambda label, f: seen.append(label)
    )
    assert record is not None
    assert any("(distributed)" in s for s in seen)
    # the validation units ran as tasks with the same data, parameters and thread count: identical results
    same = [r for r in reference.metrics["summary"] if r["kind"] != "stack"]
    assert same == [r for r in record.metrics["summary"] if r["kind"] != "stack"]
    assert record.features == reference.features
    for stage in ("classifier", "regressor"):
        for s in ("within:X1", "within:X2"):
            assert (
                reference.boosters[s][stage].model_to_string()
                == load_model(store, record.id).boosters[s][stage].model_to_string()
            )
    # the pooled booster differs only by LightGBM's distributed training: predictions agree closely
    a = read_predictions(store, ensure_predictions(store, "X3", local))
    b = read_predictions(store, ensure_predictions(store, "X3", load_model(store, record.id)))
    rho = spearman(a["rank_predicted"].to_numpy(), b["rank_predicted"].to_numpy())
    assert rho > 0.97
    assert np.isfinite(b["gex_predicted"].to_numpy()).all()
    with TestClient(create_app(Settings(home=trained_copy))) as api:
        r = api.get("/predict/X3", params={"genes": "CAPN9"})
        assert r.status_code == 200
        assert r.json()["model_id"] == record.id
