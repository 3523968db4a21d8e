"""Training over 2, 4, 8 and 16 labelled cells: time and peak memory, in one run.

One demo dataset with enough simulated cells (``--n-cells``; half of the extra cells are labelled) is generated
and ingested once; then for each N a fresh process trains on the first N labelled cells (X1, X2, C1, …) with the
chosen profile and reports its wall time, the boosters it fitted, the setups it stacked and its peak resident
memory (``ru_maxrss``). Each training runs in its own process so that one N's memory does not hide another's.

Run: ``python -m bench.cells [--counts 2,4,8,16] [--profile quick]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from epigex.models.pipeline import train_from_store
from epigex.store.catalog import Store
store, cells, profile, threads = Store(sys.argv[1]), sys.argv[2].split(","), sys.argv[3], int(sys.argv[4])
t0 = time.perf_counter()
trained, _ = train_from_store(store, cells, profile, threads=threads, register=False)
seconds = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
stack = [r for r in trained.metrics["summary"] if r["kind"] == "stack"]
print(json.dumps({"seconds": seconds, "boosters": trained.n_boosters, "setups": len(trained.setups),
                  "rss_mb": rss, "spearman": sum(r["spearman_masked"] for r in stack) / len(stack)}))
"""


def main() -> None:
    """Generate, ingest, train for each count, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", default="2,4,8,16")
    ap.add_argument("--profile", default="quick", choices=("quick", "full"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    extra = 2 * max(0, max(counts) - 2)  # half of the extra cells are labelled
    from epigex.demo.dataset import write_demo
    from epigex.ingest.pipeline import ingest_dataset
    from epigex.store.catalog import Store

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        t0 = time.perf_counter()
        manifest = write_demo(data, seed=args.seed, n_cells=extra, workers=args.threads)
        labelled = [str(c) for c in manifest["labelled"]]  # type: ignore[union-attr]
        store = Store(Path(tmp) / "store")
        ingest_dataset(store, data, labelled, threads=args.threads)
        print(f"{len(labelled)} labelled cells generated and ingested in {time.perf_counter() - t0:.0f} s", flush=True)
        rows = []
        for n in counts:
            r = subprocess.run(
                [sys.executable, "-c", CHILD, str(store.home), ",".join(labelled[:n]), args.profile, str(args.threads)],
                capture_output=True,
                text=True,
                check=True,
            )
            res = json.loads(r.stdout.strip().splitlines()[-1])
            rows.append((n, res))
            print(f"{n} cells: {res}", flush=True)
    base_s, base_n = rows[0][1]["seconds"], rows[0][0]
    print(f"\nprofile {args.profile}, {args.threads} threads")
    print(
        "| labelled cells | setups stacked | boosters | seconds | s per cell | vs linear | peak RSS MB | val Spearman |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, res in rows:
        linear = base_s * n / base_n
        print(
            f"| {n} | {res['setups']} | {res['boosters']} | {res['seconds']:.0f} | {res['seconds'] / n:.1f} | "
            f"{res['seconds'] / linear:.2f}× | {res['rss_mb']:.0f} | {res['spearman']:.3f} |"
        )


if __name__ == "__main__":
    main()
