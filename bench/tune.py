"""The bounded hyper-parameter search behind the profiles' tree parameters (run once; its result is frozen).

Objective: on the demo's labelled cells (X1 + X2, one ingest), the features a quick training selects, four
balanced chromosome groups; for each group the pooled booster pair (classifier + regressor) trains on two groups,
stops early on the next one and predicts the held-out group; the score is the mean over cells and groups of the
masked Spearman (mean rule, 0.40) of the held-out genes — leave-one-chromosome-group-out, as the ``full``
profile validates. The search (Optuna's TPE sampler, seeded) varies the tree parameters at the quick profile's
learning rate; the profiles' current values are scored in the same run as trial 0 (the baseline), and the best
parameters are checked on a second demo seed the search never saw.

Run: ``pip install optuna`` then ``python -m bench.tune [--trials 30] [--seed 0] [--check-seed 1]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from epigex.demo.dataset import write_demo
from epigex.ingest.pipeline import ingest_dataset
from epigex.models.boosters import fit_booster, predict_stage
from epigex.models.dataset import CellData, load_training_cell, shared_feature_set
from epigex.models.folds import balanced_groups
from epigex.models.metrics import spearman
from epigex.models.parallel import run_concurrently
from epigex.models.params import STAGES, Profile, Stage, get_profile, lgb_params
from epigex.models.stacking import DEFAULT_THRESHOLD
from epigex.models.targets import expressed_target, rank_target
from epigex.models.training import train_ensemble
from epigex.store.catalog import Store
from epigex.store.cells import feature_names

TUNED = ("num_leaves", "max_depth", "min_data_in_leaf", "feature_fraction", "bagging_fraction", "lambda_l2")


def prepare(seed: int, root: Path, threads: int) -> tuple[list[CellData], list[str]]:
    """The demo of ``seed`` ingested; X1 and X2 restricted to the features a quick training selects."""
    data = root / f"data{seed}"
    write_demo(data, seed=seed, workers=threads)
    store = Store(root / f"store{seed}")
    ingest_dataset(store, data, ["X1", "X2"], threads=threads)
    fs = shared_feature_set(store, ["X1", "X2"])
    names = feature_names(store, fs)
    cells = [load_training_cell(store, c, fs, names) for c in ("X1", "X2")]
    trained = train_ensemble(cells, names, fs, get_profile("quick"), seed=seed, threads=threads)
    idx = [names.index(f) for f in trained.features]
    for c in cells:
        c.X = np.ascontiguousarray(c.X[:, idx])
    return cells, list(trained.features)


def _fit_and_predict(
    stage: Stage,
    X: np.ndarray,
    y: np.ndarray,
    Xv: np.ndarray,
    yv: np.ndarray,
    profile: Profile,
    seed: int,
    names: list[str],
    held_rows: list[np.ndarray],
) -> list[np.ndarray]:
    """One stage's pooled booster, stopped early on ``Xv``, and its predictions of each cell's held-out rows."""
    b = fit_booster(
        X,
        y,
        lgb_params(stage, profile, seed),
        names,
        valid=(Xv, yv),
        rounds=profile.max_rounds,
        early_stopping=profile.early_stopping,
    )
    return [predict_stage(b, stage, x) for x in held_rows]


def score(cells: list[CellData], names: list[str], profile: Profile, seed: int, threads: int) -> float:
    """Mean masked Spearman over cells and held-out chromosome groups of the pooled booster pair."""
    groups = balanced_groups(np.concatenate([c.chrom for c in cells]), 4)
    g_of = [np.array([groups[x] for x in c.chrom]) for c in cells]
    targets: dict[str, list[np.ndarray]] = {
        "classifier": [expressed_target(c.gex) for c in cells],  # type: ignore[arg-type]
        "regressor": [rank_target(c.gex) for c in cells],  # type: ignore[arg-type]
    }
    scores = []
    for held in range(4):
        stop = (held + 1) % 4
        tr = [(g != held) & (g != stop) for g in g_of]
        va = [g == stop for g in g_of]
        X = np.concatenate([c.X[m] for c, m in zip(cells, tr, strict=True)])
        Xv = np.concatenate([c.X[m] for c, m in zip(cells, va, strict=True)])

        data = {
            st: (
                np.concatenate([t[m] for t, m in zip(targets[st], tr, strict=True)]),
                np.concatenate([t[m] for t, m in zip(targets[st], va, strict=True)]),
            )
            for st in STAGES
        }
        held_rows = [c.X[g == held] for c, g in zip(cells, g_of, strict=True)]
        # The two stages side by side, one thread each (as training does).
        fitted = run_concurrently(
            [
                partial(_fit_and_predict, st, X, data[st][0], Xv, data[st][1], profile, seed, names, held_rows)
                for st in STAGES
            ],
            threads,
        )
        preds = dict(zip(STAGES, fitted, strict=True))
        for i, c in enumerate(cells):
            assert c.gex is not None
            p, r = preds["classifier"][i], preds["regressor"][i]
            scores.append(spearman(np.where(p >= DEFAULT_THRESHOLD, r, 0.0), c.gex[g_of[i] == held]))
    return float(np.mean(scores))


def main() -> None:
    """Search, report, and check the best parameters on a second seed."""
    import optuna

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check-seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    base = get_profile("quick")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        cells, names = prepare(args.seed, Path(tmp), args.threads)
        print(f"{len(names)} selected features; setup {time.perf_counter() - t0:.0f} s", flush=True)

        def objective(trial: Any) -> float:
            prof = replace(
                base,
                num_leaves=trial.suggest_int("num_leaves", 7, 63, log=True),
                max_depth=trial.suggest_int("max_depth", 3, 9),
                min_data_in_leaf=trial.suggest_int("min_data_in_leaf", 10, 300, log=True),
                feature_fraction=trial.suggest_float("feature_fraction", 0.2, 1.0),
                bagging_fraction=trial.suggest_float("bagging_fraction", 0.5, 1.0),
                lambda_l2=trial.suggest_float("lambda_l2", 0.01, 30.0, log=True),
            )
            return score(cells, names, prof, args.seed, args.threads)

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=args.seed))
        study.enqueue_trial({k: getattr(base, k) for k in TUNED})  # trial 0: the profiles' current values
        t1 = time.perf_counter()
        study.optimize(objective, n_trials=args.trials)
        search_s = time.perf_counter() - t1
        baseline = study.trials[0].value
        best = study.best_trial
        print(f"\nsearch: {args.trials} trials in {search_s:.0f} s (seed {args.seed})")
        print(f"baseline (current profile): {baseline:.4f}; best: {best.value:.4f} (trial {best.number})")
        print(
            "best parameters: "
            + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items())
        )
        top = sorted((t for t in study.trials if t.value is not None), key=lambda t: -float(t.value))[:5]
        print(
            "\n| trial | score | "
            + " | ".join(TUNED)
            + " |\n| ---: | ---: | "
            + " | ".join("---:" for _ in TUNED)
            + " |"
        )
        for t in top:
            vals = " | ".join(
                f"{t.params[k]:.3g}" if isinstance(t.params[k], float) else str(t.params[k]) for k in TUNED
            )
            print(f"| {t.number} | {t.value:.4f} | {vals} |")
        check_cells, check_names = prepare(args.check_seed, Path(tmp), args.threads)
        b0 = score(check_cells, check_names, base, args.check_seed, args.threads)
        b1 = score(check_cells, check_names, replace(base, **best.params), args.check_seed, args.threads)
        print(f"\nheld-out seed {args.check_seed}: current {b0:.4f}, best {b1:.4f} ({b1 - b0:+.4f})")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
