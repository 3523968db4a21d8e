"""Training benchmark: quick and full profiles on the demo (X1 + X2, ~16k genes each), X3 scored against its truth.

Prints, for each profile, the wall time with its breakdown, the boosters trained, the validation Spearman of the
stack per cell (val split for quick, leave-one-chromosome-out for full; masked and unmasked), and X3's held-out
Spearman; beside them, measured in the same run, the two baselines of ``epigex demo`` (promoter H3K4me3 + DNase
rank, and the two-stage stack on promoter means only, with its training time).

Run: ``python -m bench.train [--data DIR] [--profiles quick,full]`` (makes the demo data if needed).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from epigex.app.services.demo import PROMOTER_MEANS, baseline_scores, read_truth, truth_spearman
from epigex.ingest.pipeline import ingest_dataset
from epigex.models.persist import load_model
from epigex.models.pipeline import train_from_store
from epigex.models.predict import ensure_predictions, read_predictions
from epigex.store.catalog import Store


def main() -> None:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("epigex-demo/data"))
    ap.add_argument("--profiles", default="quick,full")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    if not (args.data / "CAGE-train").is_dir():
        from epigex.demo.dataset import write_demo

        write_demo(args.data, seed=0, workers=args.threads)
    truth = read_truth(args.data.with_name(args.data.name + ".truth") / "X3_test_y.tsv")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "home")
        t0 = time.perf_counter()
        ingest_dataset(store, args.data, threads=args.threads)
        results["ingest_seconds"] = round(time.perf_counter() - t0, 1)
        for profile in args.profiles.split(","):
            t0 = time.perf_counter()
            _, record = train_from_store(store, None, profile, threads=args.threads)
            wall = time.perf_counter() - t0
            assert record is not None
            where = ensure_predictions(store, "X3", load_model(store, record.id))
            test = read_predictions(store, where).filter(pl.col("split") == "test")
            x3 = truth_spearman(test["gene_name"].to_numpy(), test["gex_predicted"].to_numpy(), truth)
            stack = {
                r["cell"]: (round(r["spearman_masked"], 4), round(r["spearman_unmasked"], 4))
                for r in record.metrics["summary"]
                if r["kind"] == "stack"
            }
            setups = {f"{r['setup']} on {r['cell']}": round(r["spearman_masked"], 4) for r in record.metrics["summary"]}
            results[profile] = {
                "seconds": round(wall, 1),
                "timings": record.timings,
                "boosters": record.n_boosters,
                "features": len(record.features),
                "mask": f"{record.mask_rule} >= {record.threshold:.2f}",
                "stack_masked_unmasked": stack,
                "per_setup_masked": setups,
                "x3_spearman": round(x3, 4),
            }
            print(f"{profile}: {json.dumps(results[profile])}", flush=True)
        t0 = time.perf_counter()
        base = baseline_scores(store, "X3", truth, seed=0, threads=args.threads)
        results["baselines"] = {k: round(v, 4) for k, v in base.items()}
        results["baselines_seconds"] = round(time.perf_counter() - t0, 1)
    print()
    print(f"{'predictor':<48} {'X3 Spearman':>12} {'seconds':>9} {'boosters':>9}")
    for profile in args.profiles.split(","):
        r = results[profile]
        print(f"{'epigex ' + profile:<48} {r['x3_spearman']:>12.4f} {r['seconds']:>9.1f} {r['boosters']:>9}")
    for name, v in results["baselines"].items():
        print(f"{name:<48} {v:>12.4f}")
    print(
        f"(baselines incl. a quick training on {len(PROMOTER_MEANS)} promoter means: {results['baselines_seconds']} s)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
