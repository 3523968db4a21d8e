"""Fitting one LightGBM booster of one stage, with early stopping or a fixed round count."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from epigex.models.params import Stage
from epigex.store.types import F32, F64


def fit_booster(
    X: F32,
    y: npt.ArrayLike,
    params: dict[str, Any],
    feature_names: list[str],
    *,
    valid: tuple[F32, npt.ArrayLike] | None = None,
    rounds: int,
    early_stopping: int = 0,
) -> lgb.Booster:
    """Train a booster on a matrix; with ``valid``, stop early on it (see :func:`train_booster`)."""
    train = lgb.Dataset(X, label=np.asarray(y), feature_name=feature_names, free_raw_data=True, params=params)
    stop = None if valid is None else lgb.Dataset(valid[0], label=np.asarray(valid[1]), reference=train)
    return train_booster(params, train, stop, rounds=rounds, early_stopping=early_stopping)


def train_booster(
    params: dict[str, Any], train: lgb.Dataset, stop: lgb.Dataset | None, *, rounds: int, early_stopping: int = 0
) -> lgb.Booster:
    """Train on a Dataset; with ``stop`` (binned like ``train``), stop early on it and keep only the best rounds.

    The returned booster is rebuilt from its own model text truncated to the kept rounds, so that it predicts
    exactly as the file written from it will after a reload.
    """
    callbacks: list[Any] = []
    valid_sets: list[lgb.Dataset] = []
    if stop is not None:
        valid_sets = [stop]
        callbacks.append(lgb.early_stopping(max(1, early_stopping), first_metric_only=True, verbose=False))
    booster = lgb.train(params, train, num_boost_round=max(1, rounds), valid_sets=valid_sets, callbacks=callbacks)
    best = booster.best_iteration if stop is not None and booster.best_iteration > 0 else booster.current_iteration()
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=best))


def rounds_of(booster: lgb.Booster) -> int:
    """Number of boosting rounds a (truncated) booster holds."""
    return int(booster.current_iteration())


def predict_stage(booster: lgb.Booster, stage: Stage, X: F32) -> F64:
    """P(expressed) for the classifier, the rank clipped to [0, 1] for the regressor."""
    out = np.asarray(booster.predict(X), dtype=np.float64)
    return out if stage == "classifier" else np.clip(out, 0.0, 1.0)


def contributions(booster: lgb.Booster, X: F32) -> F64:
    """TreeSHAP contributions in raw-score units: one column per feature plus the base value last."""
    return np.asarray(booster.predict(X, pred_contrib=True), dtype=np.float64)
