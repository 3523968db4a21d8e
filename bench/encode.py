"""ENCODE-sized tracks: one track's ingest beside pyBigWig's 2-window exact loop and a full decode, with peak RSS.

Each measurement runs in a fresh process (its peak RSS is that process's ``VmHWM``; the RSS after importing
everything is printed as the floor), one after another so that they never share the machine's two cores:

- ``epigex bigwig``: the whole track job ``epigex ingest`` runs for a bigWig — every window statistic,
  neighbourhood feature and QC sum of every gene, from one decode;
- ``pyBigWig 2-window loop``: what a user writes first — ``bw.stats(exact=True)`` over each gene's promoter
  (TSS ± 1 kb) and body, two calls per gene; the baseline of the ratios;
- ``pyBigWig full decode``: ``bw.intervals`` of every chromosome into NumPy;
- ``epigex narrowPeak``: the BED track job of the matching peak file;
- with ``--baseline-tree DIR``, ``epigex bigwig`` again from another checkout (the code before a change), same run;
- with ``--cell DIR``, ``epigex ingest DIR`` of a whole 7-assay cell (``bench.encode_tracks --cell``) into a fresh
  store: wall time and the peak RSS of the ingest process (target: a cell of ~1 GB tracks in ≤ 90 s).

Genes: the course's 16,284 (X1's train and validation genes, X3's test genes). Tracks come from
:mod:`bench.encode_tracks` (written to ``--data`` when missing). Not part of the test run.

Run: ``python -m bench.encode [--data bench-data/encode] [--size-gb 0.5 1.0] [--kind fc] [--repeat 1]``, or
``python -m bench.encode --cell DIR`` (write DIR first: ``python -m bench.encode_tracks DIR --size-gb 1 --cell E1``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.encode_tracks import PEAKS_PER_GB, write_bigwig, write_peaks

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
import polars as pl
what, path = sys.argv[1], sys.argv[2]
from epigex.demo.dataset import course_file
from epigex.ingest.featureset import default_feature_set
from epigex.ingest.genes import read_info
from epigex.ingest.trackjobs import TrackJob, run_track
import pyBigWig
genes = pl.concat([read_info(course_file(f"CAGE-train/{n}_info.tsv")) for n in ("X1_train", "X1_val", "X3_test")])
def hwm():  # this process's own peak (ru_maxrss would carry the parent's across fork and exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
floor = hwm()
t0 = time.perf_counter()
if what in ("bigwig", "bed"):
    job = TrackJob("E", "H3K27ac", what, path, default_feature_set().to_json(), False)
    res = run_track(job, genes)
    n = res.qc.get("n_items", res.qc.get("n_peaks"))
elif what == "loop":
    bw = pyBigWig.open(path)
    chroms = bw.chroms()
    tss = np.where(genes["strand"].to_numpy() == "+", genes["gene_start"].to_numpy(), genes["gene_end"].to_numpy())
    n = 0
    for c, t, s, e in zip(genes["chrom"].to_list(), tss.tolist(), genes["gene_start"].to_list(),
                          genes["gene_end"].to_list()):
        if c not in chroms:
            continue
        bw.stats(c, max(0, t - 1000), min(chroms[c], t + 1000), type="mean", exact=True)
        bw.stats(c, s, e, type="mean", exact=True)
        n += 2
else:
    bw = pyBigWig.open(path)
    n = 0
    for c in bw.chroms():
        n += np.asarray(bw.intervals(c) or [], dtype=np.float64).reshape(-1, 3).shape[0]
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "floor_mb": floor,
                  "peak_mb": hwm(), "n": n}))
"""

MEASURES = (
    ("epigex bigwig", "bigwig", "bw"),
    ("pyBigWig 2-window loop", "loop", "bw"),
    ("pyBigWig full decode", "decode", "bw"),
    ("epigex narrowPeak", "bed", "bed"),
)


def run_child(what: str, path: Path, tree: Path | None = None) -> dict[str, Any]:
    """One measurement in a fresh process (with ``tree`` first on its path, if given)."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    # ``python -c`` puts its working directory first on the path: run the other tree's code from inside it
    out = subprocess.run(
        [sys.executable, "-c", CHILD, what, str(path.resolve())],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def ensure_tracks(data: Path, size_gb: float, kind: str) -> tuple[Path, Path]:
    """The bigWig and narrowPeak of this size, written when missing."""
    data.mkdir(parents=True, exist_ok=True)
    bw = data / f"encode_{kind}_{size_gb:g}gb.bw"
    bed = data / f"encode_{size_gb:g}gb.narrowPeak"
    if not bw.is_file():
        print(f"writing {bw} …", flush=True)
        write_bigwig(bw, size_gb, kind, seed=0)
    if not bed.is_file():
        write_peaks(bed, int(PEAKS_PER_GB * size_gb), seed=0)
    return bw, bed


def ingest_cell(data: Path) -> None:
    """Time ``epigex ingest`` of a whole cell folder into a fresh store, and its peak RSS."""
    import resource
    import tempfile
    import time

    import polars as pl

    from epigex.demo.dataset import course_file

    cells = sorted(p.stem for p in (data / "DNase-bigwig").glob("*.bw"))
    tables = data / "CAGE-train"
    tables.mkdir(exist_ok=True)
    for cell in cells:
        info = tables / f"{cell}_test_info.tsv"
        if not info.is_file():  # the course's 16,284 genes, every chromosome
            frames = [pl.read_csv(course_file(f"CAGE-train/{n}_info.tsv"), separator="\t") for n in NAMES]
            pl.concat(frames).write_csv(info, separator="\t")
    size = sum(p.stat().st_size for p in data.rglob("*") if p.suffix in (".bw", ".bed"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "EPIGEX_HOME": str(Path(tmp) / "home")}
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "epigex.app.cli.main", "ingest", str(data)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if out.returncode != 0:
        raise SystemExit(f"epigex ingest failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
    print(f"\n{data}: {len(cells)} cell(s), {size / 1e9:.2f} GB of tracks")
    print("| measure | seconds | peak RSS MB | target |")
    print("| --- | ---: | ---: | --- |")
    verdict = "met" if seconds <= 90 else "NOT met"
    print(f"| epigex ingest (7 bigWigs + 7 narrowPeaks) | {seconds:.1f} | {peak:,.0f} | ≤ 90 s: {verdict} |")


NAMES = ("X1_train", "X1_val", "X3_test")


def main() -> None:
    """Measure each size and print a table of seconds, peak RSS and ratios against the pyBigWig loop."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("bench-data/encode"))
    ap.add_argument("--size-gb", type=float, nargs="+", default=[0.5, 1.0])
    ap.add_argument("--kind", choices=("fc", "pval"), default="fc")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each measurement (the fastest is kept)")
    ap.add_argument("--baseline-tree", type=Path, default=None, help="also run epigex bigwig from this checkout")
    ap.add_argument("--cell", type=Path, default=None, help="time `epigex ingest` of this whole-cell folder instead")
    args = ap.parse_args()
    if args.cell is not None:
        ingest_cell(args.cell)
        return
    measures = list(MEASURES)
    if args.baseline_tree is not None:
        measures.append((f"epigex bigwig ({args.baseline_tree})", "bigwig", "bw"))
    for size in args.size_gb:
        bw, bed = ensure_tracks(args.data, size, args.kind)
        results: dict[str, dict[str, Any]] = {}
        for _ in range(args.repeat):
            for label, what, which in measures:
                tree = args.baseline_tree if label.startswith("epigex bigwig (") else None
                r = run_child(what, bw if which == "bw" else bed, tree)
                if "error" in r or label not in results or r["seconds"] < results[label]["seconds"]:
                    results[label] = r
        base = results["pyBigWig 2-window loop"].get("seconds")
        print(f"\n{bw.name}: {bw.stat().st_size / 1e9:.2f} GB; {bed.name}: {bed.stat().st_size / 1e6:.0f} MB")
        print("| measure | seconds | vs the pyBigWig loop | peak RSS MB | RSS after imports MB | items |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for label, _what, _which in measures:
            r = results[label]
            if "error" in r:
                print(f"| {label} | failed: {r['error']} | | | | |")
                continue
            ratio = f"{r['seconds'] / base:.2f}×" if base else ""
            print(
                f"| {label} | {r['seconds']:.2f} | {ratio} | {r['peak_mb']:,.0f} | {r['floor_mb']:,.0f} | {r['n']:,} |"
            )


if __name__ == "__main__":
    main()
