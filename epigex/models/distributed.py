"""Training on a Dask cluster: validation units as Dask tasks, the pooled setup with ``lightgbm.dask``.

- Every (fold, setup, stage) validation unit is a task (:func:`models.training.run_unit`) on the cluster's
  workers. Each cell's feature matrix and targets are scattered once (not broadcast), and each fold's held-out
  rows per cell once more; a task receives only its own setup's cells and the held-out rows it predicts, so a
  worker's memory follows the tasks it runs, not the number of labelled cells.
- The final pooled boosters train with ``lightgbm.dask`` on a Dask DataFrame read straight from the store's
  Parquet feature tables (one partition per cell), at the round count the validation chose (``lightgbm.dask``
  has no early stopping). LightGBM's distributed training bins features per worker and merges histograms over
  the network, so its boosters differ slightly from a single-machine fit (documented by LightGBM); the
  difference in Spearman is measured in ``BENCHMARKS.md``.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from epigex.models.params import Stage, lgb_params
from epigex.models.training import PooledFitter, TrainingRun, Unit, UnitRunner, run_unit
from epigex.store.catalog import Store
from epigex.store.cells import feature_table_path
from epigex.store.errors import EpigexError
from epigex.store.types import F64, Mask


def connect(address: str) -> Any:
    """A ``distributed.Client`` for ``address``, or a clear error."""
    from distributed import Client

    try:
        return Client(address, timeout=10)
    except (OSError, TimeoutError, ValueError) as err:
        raise EpigexError(f"cannot reach the Dask scheduler at {address!r} ({err})") from None


def _scatter(client: Any, arrays: dict[str, Any], broadcast: bool = True) -> dict[str, Any]:
    """Send arrays to the cluster once (to every worker with ``broadcast``); dict of futures by the same names.

    A list, not the dict itself: ``scatter`` would use the dict's keys as the futures' keys, so the targets
    of cell ``X1`` would collide with its feature matrix.
    """
    names = list(arrays)
    futures = client.scatter([arrays[n] for n in names], broadcast=broadcast)
    return dict(zip(names, futures, strict=True))


def dask_units(client: Any) -> UnitRunner:
    """A unit runner that submits every validation unit as a Dask task."""

    def run(units: list[Unit], tr: TrainingRun) -> list[tuple[int, dict[str, F64], str | None, int]]:
        from distributed import as_completed

        X = {c: tr.X(c, np.ones(cd.genes.size, bool)) for c, cd in tr.cells.items()}
        used = sorted({c for u in units for c in u.cells})
        X_f = _scatter(client, {c: X[c] for c in used}, broadcast=False)
        y_f = {
            st: _scatter(client, {c: tr.targets[c].of(st) for c in used}, broadcast=False)
            for st in ("classifier", "regressor")
        }
        # The held-out rows of each fold (units of one fold share one ``test`` dict), per cell, scattered once.
        tests: dict[int, dict[str, Any]] = {}
        for u in units:
            if id(u.test) not in tests:
                rows = {c: X[c][m] for c, m in u.test.items() if m.any()}
                tests[id(u.test)] = _scatter(client, rows, broadcast=False)
        futures = []
        for u in units:
            own = list(u.cells)
            slim = replace(
                u,
                train={c: u.train[c] for c in own},
                stop={c: u.stop[c] for c in own},
                test={},
            )
            futures.append(
                client.submit(
                    run_unit,
                    slim,
                    {c: X_f[c] for c in own},
                    {c: y_f[u.stage][c] for c in own},
                    lgb_params(u.stage, tr.profile, tr.seed),
                    tr.names,
                    tr.profile.max_rounds,
                    tr.profile.early_stopping,
                    tests[id(u.test)],
                    pure=False,
                    retries=2,
                )
            )
        index = {f.key: u for f, u in zip(futures, units, strict=True)}
        for fut in as_completed(futures):
            u = index[fut.key]
            tr.tick(f"{u.setup} {u.stage}")
        return list(client.gather(futures))

    return run


def _load_part(path: str, features: list[str], targets: dict[str, float]) -> pd.DataFrame:
    """One cell's feature table (only the training genes), with its target column ``__y``."""
    df = pd.read_parquet(path, columns=["gene_name", *features])
    df = df[df["gene_name"].isin(targets.keys())].copy()
    df["__y"] = df["gene_name"].map(targets).astype("float64")
    return df.drop(columns=["gene_name"]).astype("float64")


def dask_pooled(client: Any, store: Store, feature_set: str) -> PooledFitter:
    """A pooled-setup fitter training with ``lightgbm.dask`` on the store's Parquet feature tables."""

    def fit(stage: Stage, rows: dict[str, Mask], rounds: int, tr: TrainingRun) -> lgb.Booster:
        import dask.dataframe as dd
        from lightgbm.dask import DaskLGBMClassifier, DaskLGBMRegressor

        parts = []
        for cell, cd in tr.cells.items():
            found = feature_table_path(store, cell, feature_set)
            if found is None:
                raise EpigexError(f"cell line {cell!r} has no feature table of feature set {feature_set}")
            target = tr.targets[cell].of(stage)
            sel = rows[cell]
            mapping = dict(zip(cd.genes[sel].tolist(), np.asarray(target[sel], dtype=np.float64).tolist(), strict=True))
            parts.append((str(found), list(tr.names), mapping))
        meta = pd.DataFrame({**{f: pd.Series(dtype="float64") for f in tr.names}, "__y": pd.Series(dtype="float64")})
        ddf = dd.from_map(lambda p: _load_part(*p), parts, meta=meta, enforce_metadata=False)
        params = lgb_params(stage, tr.profile, tr.seed)
        params.pop("metric", None)
        params.pop("num_threads", None)
        seed = params.pop("seed")
        cls = DaskLGBMClassifier if stage == "classifier" else DaskLGBMRegressor
        model = cls(client=client, n_estimators=max(1, rounds), random_state=seed, **params)
        y = ddf["__y"].astype("int64") if stage == "classifier" else ddf["__y"]
        with warnings.catch_warnings():
            # lightgbm.dask sets each worker's thread count itself and says so for the wrapper's n_jobs
            warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored", category=UserWarning)
            model.fit(ddf[list(tr.names)], y)
        return lgb.Booster(model_str=model.booster_.model_to_string())

    return fit
