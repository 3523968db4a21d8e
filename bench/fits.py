"""Booster fits side by side vs one multi-threaded fit at a time, on the real units of a ``full`` training.

The ``full`` profile's validation is many small, independent fits (held-out chromosome × setup × stage, each an
early-stopped booster; and a refit, until 2026-12). This bench takes the units of the first ``--folds`` held-out
chromosomes of a ``full`` training on demo seed 0 (X1 + X2, the features a quick training selects) and runs them
three ways in one process, alternating rounds so that each sees the same machine:

- **(a) before**: one unit at a time, each booster with ``--threads`` OpenMP threads (how epigex trained until
  this change);
- **(b)** one unit at a time, one thread per booster;
- **(c) now**: ``--threads`` units at a time, one thread per booster (:func:`models.parallel.run_concurrently`).

It prints wall seconds (best of ``--rounds``) and the ratios to (a), and checks that (b) and (c) give the same
rounds and predictions (the model bytes do not depend on the thread count).

Run: ``python -m bench.fits [--folds 3] [--threads 2] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from epigex.demo.dataset import write_demo
from epigex.ingest.pipeline import ingest_dataset
from epigex.models.dataset import load_training_cell, shared_feature_set
from epigex.models.parallel import run_concurrently
from epigex.models.params import STAGES, get_profile, lgb_params
from epigex.models.targets import expressed_target, rank_target
from epigex.models.training import Unit, plan_setups, run_unit, train_ensemble, validation_units
from epigex.store.catalog import Store
from epigex.store.cells import feature_names


def main() -> None:
    """Prepare the units, time the three schemes, print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, store = Path(tmp) / "data", Store(Path(tmp) / "store")
        write_demo(data, seed=0, workers=args.threads)
        ingest_dataset(store, data, ["X1", "X2"], threads=args.threads)
        fs = shared_feature_set(store, ["X1", "X2"])
        names = feature_names(store, fs)
        cells = [load_training_cell(store, c, fs, names) for c in ("X1", "X2")]
        quick = train_ensemble(cells, names, fs, get_profile("quick"), threads=args.threads)
    cols = [names.index(f) for f in quick.features]
    X = {c.name: np.ascontiguousarray(c.X[:, cols]) for c in cells}
    y: dict[str, dict[str, np.ndarray]] = {
        "classifier": {c.name: expressed_target(c.gex) for c in cells},  # type: ignore[arg-type]
        "regressor": {c.name: rank_target(c.gex) for c in cells},  # type: ignore[arg-type]
    }
    profile = get_profile("full")
    setups = plan_setups([c.name for c in cells])
    per_fold = len(setups) * len(STAGES)  # units come fold by fold
    units = validation_units({c.name: c for c in cells}, setups, profile)[: args.folds * per_fold]

    def task(u: Unit, threads: int) -> Callable[[], Any]:
        params = lgb_params(u.stage, profile, 0) | {"num_threads": threads}
        return lambda: run_unit(u, X, y[u.stage], params, quick.features, profile.max_rounds, profile.early_stopping)

    schemes: dict[str, Callable[[], list[Any]]] = {
        f"(a) one unit at a time, {args.threads} threads per booster (before)": lambda: [
            task(u, args.threads)() for u in units
        ],
        "(b) one unit at a time, 1 thread per booster": lambda: [task(u, 1)() for u in units],
        f"(c) {args.threads} units at a time, 1 thread per booster (now)": lambda: run_concurrently(
            [task(u, 1) for u in units], args.threads
        ),
    }
    best = dict.fromkeys(schemes, float("inf"))
    results: dict[str, list[Any]] = {}
    for _ in range(args.rounds):
        for label, run in schemes.items():
            t0 = time.perf_counter()
            results[label] = run()
            best[label] = min(best[label], time.perf_counter() - t0)
    b, c = (results[k] for k in list(schemes)[1:])
    same = all(
        rb[0] == rc[0] and all(np.array_equal(rb[1][k], rc[1][k]) for k in rb[1]) for rb, rc in zip(b, c, strict=True)
    )
    base = best[next(iter(schemes))]
    fits = sum(r[3] for r in c)
    print(f"{len(units)} units ({fits} boosters) of {args.folds} held-out chromosomes, {len(quick.features)} features")
    print("| scheme | wall s | vs (a) |\n| --- | ---: | ---: |")
    for label, t in best.items():
        print(f"| {label} | {t:.2f} | {t / base:.2f}× |")
    print(f"(b) and (c) give identical rounds and predictions: {same}")


if __name__ == "__main__":
    main()
