"""Local vs Dask training on the demo: X3's held-out Spearman and wall time, quick and full profiles.

Both paths train on the same ingested store: the local trainer with one thread, the Dask path on a LocalCluster
of two single-threaded workers (validation units as tasks, the pooled boosters with ``lightgbm.dask``).

Run: ``python -m bench.dask_accuracy [--data DIR]`` (makes the demo data if needed).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl


def main() -> None:
    """Run both paths for both profiles and print a table."""
    from distributed import Client, LocalCluster

    from epigex.app.services.demo import read_truth, truth_spearman
    from epigex.ingest.pipeline import ingest_dataset
    from epigex.models.persist import load_model
    from epigex.models.pipeline import train_from_store
    from epigex.models.predict import ensure_predictions, read_predictions
    from epigex.store.catalog import Store
    from epigex.store.registry import ModelRecord

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("epigex-demo/data"))
    ap.add_argument("--profiles", default="quick,full")
    args = ap.parse_args()
    if not (args.data / "CAGE-train").is_dir():
        from epigex.demo.dataset import write_demo

        write_demo(args.data, seed=0)
    truth = read_truth(args.data.with_name(args.data.name + ".truth") / "X3_test_y.tsv")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "h")
        ingest_dataset(store, args.data)

        def score(rec: ModelRecord) -> float:
            where = ensure_predictions(store, "X3", load_model(store, rec.id))
            p = read_predictions(store, where).filter(pl.col("split") == "test")
            return truth_spearman(p["gene_name"].to_numpy(), p["gex_predicted"].to_numpy(), truth)

        for prof in args.profiles.split(","):
            t0 = time.perf_counter()
            _, local = train_from_store(store, None, prof, threads=1)
            t_local = time.perf_counter() - t0
            with (
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc,
                Client(lc) as client,
            ):
                t0 = time.perf_counter()
                _, dist = train_from_store(store, None, prof, threads=1, dask=client)
                t_dask = time.perf_counter() - t0
            assert local is not None
            assert dist is not None
            out[prof] = {
                "local": {"x3_spearman": round(score(local), 4), "seconds": round(t_local, 1)},
                "dask": {"x3_spearman": round(score(dist), 4), "seconds": round(t_dask, 1)},
            }
            print(f"{prof}: {json.dumps(out[prof])}", flush=True)


if __name__ == "__main__":
    main()
