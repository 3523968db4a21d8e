"""The course pipeline end to end: ingest the demo's 3 cells, train the ``full`` profile on X1 + X2, score X3.

Each step runs in a fresh child process (no warm caches shared between measurements): ``epigex ingest`` of the
demo dataset (X1, X2, X3 × 7 assays × bigWig + narrowPeak, the course's 16,284 genes), then, per seed, a ``full``
training on a copy of that store, X3 predicted and scored against its hidden truth. With ``--baseline-tree DIR``
another checkout (the code before a change) ingests into its own store and trains on copies of it, in the same
run, interleaved seed by seed (each seed's first run alternating) so that a noisy machine hits both alike; the
table prints each one's seconds, boosters, X3 Spearman and the ratio against the baseline.

Run: ``python -m bench.course_pipeline [--data DIR] [--seeds 0,1] [--baseline-tree DIR] [--threads 2]``.
Make a baseline tree with ``git worktree add /tmp/epigex-base <commit>``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TRAIN = """
import json, sys, time
from pathlib import Path
import polars as pl
from epigex.app.services.demo import read_truth, truth_spearman
from epigex.models.persist import load_model
from epigex.models.pipeline import train_from_store
from epigex.models.predict import ensure_predictions, read_predictions
from epigex.store.catalog import Store

home, truth, profile, seed, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
store = Store(Path(home))
t0 = time.perf_counter()
_, record = train_from_store(store, ["X1", "X2"], profile, seed=seed, threads=threads)
seconds = time.perf_counter() - t0
where = ensure_predictions(store, "X3", load_model(store, record.id))
test = read_predictions(store, where).filter(pl.col("split") == "test")
x3 = truth_spearman(test["gene_name"].to_numpy(), test["gex_predicted"].to_numpy(), read_truth(Path(truth)))
stack = [r for r in record.metrics["summary"] if r["kind"] == "stack"]
import epigex
print(json.dumps({
    "code": str(Path(epigex.__file__).parents[1]), "seconds": seconds, "boosters": record.n_boosters, "x3": x3,
    "timings": record.timings,
    "oof": {r["cell"]: r["spearman_masked"] for r in stack},
}))
"""


def child(
    code: list[str], tree: Path | None, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a Python child with the epigex of ``tree`` (None: this checkout) first on its path, in that tree."""
    root = (tree or Path(__file__).resolve().parents[1]).resolve()
    env = {**os.environ, **(env_extra or {}), "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, *code], env=env, cwd=root, capture_output=True, text=True, check=False)


def ingest(data: Path, home: Path, threads: int, tree: Path | None) -> float:
    """Seconds of ``epigex ingest`` (the code of ``tree``) of the dataset into a fresh store at ``home``."""
    t0 = time.perf_counter()
    out = child(
        ["-m", "epigex.app.cli.main", "ingest", str(data)],
        tree,
        {"EPIGEX_HOME": str(home), "EPIGEX_THREADS": str(threads)},
    )
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"epigex ingest failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
    return seconds


def train(home: Path, truth: Path, profile: str, seed: int, threads: int, tree: Path | None) -> dict[str, Any]:
    """One training in a child process on a copy of the store at ``home``: its JSON line."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "home"
        shutil.copytree(home, copy)
        out = child(["-c", TRAIN, str(copy), str(truth), profile, str(seed), str(threads)], tree)
    if out.returncode != 0:
        raise SystemExit(f"training failed ({tree or 'this checkout'}): {out.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    want = (tree or Path(__file__).resolve().parents[1]).resolve()
    if Path(result["code"]).resolve() != want:
        raise SystemExit(f"the child ran the epigex of {result['code']}, not {want}")
    return result


def main() -> None:
    """Ingest with each tree, train each seed with each, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("epigex-demo/data"))
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--profile", default="full")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline-tree", type=Path, default=None, help="also train from this checkout, same run")
    args = ap.parse_args()
    args.data = args.data.resolve()  # the children run in their own trees
    if not (args.data / "CAGE-train").is_dir():
        from epigex.demo.dataset import write_demo

        write_demo(args.data, seed=0, workers=args.threads)
    truth = args.data.with_name(args.data.name + ".truth") / "X3_test_y.tsv"
    trees: list[tuple[str, Path | None]] = [("this checkout", None)]
    if args.baseline_tree is not None:
        trees.insert(0, (f"baseline ({args.baseline_tree})", args.baseline_tree))
    rows: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in trees}
    ingest_s: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        homes = {label: Path(tmp) / f"home{i}" for i, (label, _) in enumerate(trees)}
        for label, tree in trees:  # each tree trains on the features its own code computes
            ingest_s[label] = ingest(args.data, homes[label], args.threads, tree)
            print(f"{label}: epigex ingest (3 cells × 7 assays × bigWig + narrowPeak) {ingest_s[label]:.1f} s")
        for k, seed in enumerate(int(s) for s in args.seeds.split(",")):
            for label, tree in trees[:: 1 if k % 2 == 0 else -1]:  # alternate which goes first
                r = train(homes[label], truth, args.profile, seed, args.threads, tree)
                r["seed"] = seed
                rows[label].append(r)
                print(f"{label} seed {seed}: {json.dumps(r)}", flush=True)
    base_label = trees[0][0]
    print(f"\n`{args.profile}` training on X1 + X2 ({args.threads} threads), X3 against its hidden truth")
    print("| code | seed | train s | vs baseline | ingest + train s | boosters | X3 Spearman | OOF stack X1 / X2 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for label, _ in trees:
        for r, b in zip(rows[label], rows[base_label], strict=True):
            ratio = f"{b['seconds'] / r['seconds']:.2f}× faster" if label != base_label else ""
            oof = " / ".join(f"{v:.4f}" for v in r["oof"].values())
            print(
                f"| {label} | {r['seed']} | {r['seconds']:.1f} | {ratio} | {ingest_s[label] + r['seconds']:.1f} | "
                f"{r['boosters']} | {r['x3']:.4f} | {oof} |"
            )
    for label, _ in trees:
        print(f"{label} timings: " + "; ".join(json.dumps(r["timings"]) for r in rows[label]))


if __name__ == "__main__":
    main()
