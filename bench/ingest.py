"""Ingest benchmark: one demo bigWig, all its genes, every window; ratios against baselines from the same run.

(a) epigex: every window statistic of every gene plus the genome-wide normalisation, one decode;
(b) a per-gene loop of pyBigWig ``stats(type="mean", exact=True)`` over the same windows (means only);
(c) decoding every interval of the file once with epigex's reader (the floor), and (c2) with pyBigWig;
(d) deepTools ``multiBigwigSummary BED-file -p 2`` over the same windows, when it is installed.

Run: ``python -m bench.ingest [--data DIR] [--cell X1] [--assay H3K4me3]`` (makes the demo data if needed).
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
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyBigWig

from epigex.ingest.bigwig import BigWigReader
from epigex.ingest.featureset import default_feature_set
from epigex.ingest.genes import gene_coords, read_info
from epigex.ingest.tracks import bigwig_features
from epigex.ingest.windows import window_bounds
from epigex.store.genome import HG38_SIZES


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, float, Any]:
    """Best wall time and best process CPU time of ``repeat`` runs, and the last result."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu, out


def all_windows(genes: pl.DataFrame) -> pl.DataFrame:
    """Every (gene, window) of the default feature set, clipped to hg38, non-empty."""
    fs = default_feature_set()
    frames = []
    for chrom in genes["chrom"].unique().sort():
        sub = genes.filter(pl.col("chrom") == chrom)
        coords = gene_coords(sub)
        for w in fs.windows:
            s, e = window_bounds(coords, w, HG38_SIZES.get(chrom))
            frames.append(pl.DataFrame({"chrom": [chrom] * sub.height, "start": s, "end": e}))
    return pl.concat(frames).filter(pl.col("end") > pl.col("start"))


def pybigwig_loop(path: Path, windows: pl.DataFrame) -> np.ndarray:
    """The common approach: one exact ``stats`` call per window."""
    bw = pyBigWig.open(str(path))
    out = np.empty(windows.height)
    for i, (c, s, e) in enumerate(windows.iter_rows()):
        v = bw.stats(c, s, e, type="mean", exact=True)[0]
        out[i] = np.nan if v is None else v
    bw.close()
    return out


def decode_all(path: Path) -> int:
    """Decode every interval of every chromosome once."""
    n = 0
    with BigWigReader(path) as r:
        for c in r.chroms:
            n += len(r.intervals(c))
    return n


def decode_all_pybigwig(path: Path) -> int:
    """Decode every interval with pyBigWig ``intervals`` into NumPy arrays (another reader's floor)."""
    bw = pyBigWig.open(str(path))
    n = 0
    for c in bw.chroms():
        n += np.asarray(bw.intervals(c) or [], dtype=np.float64).reshape(-1, 3).shape[0]
    bw.close()
    return n


def find_deeptools() -> str | None:
    """``multiBigwigSummary`` on PATH, in this venv, or in ``$DEEPTOOLS_BIN``."""
    for cand in (os.environ.get("DEEPTOOLS_BIN", ""), str(Path(sys.executable).parent), ""):
        exe = shutil.which("multiBigwigSummary", path=cand or None)
        if exe:
            return exe
    return None


def deeptools(exe: str, path: Path, windows: pl.DataFrame, tmp: Path) -> None:
    """deepTools over the same windows, 2 processes."""
    bed = tmp / "windows.bed"
    windows.write_csv(bed, separator="\t", include_header=False)
    subprocess.run(
        [exe, "BED-file", "--BED", str(bed), "-b", str(path), "-o", str(tmp / "out.npz"), "-p", "2"],
        check=True,
        capture_output=True,
    )


def peak_memory(fn: Callable[[], Any]) -> float:
    """Peak traced Python/NumPy memory of ``fn`` in MB."""
    tracemalloc.start()
    fn()
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    """Run the benchmark and print a table of times and ratios."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("epigex-demo/data"))
    ap.add_argument("--cell", default="X1")
    ap.add_argument("--assay", default="H3K4me3")
    ap.add_argument("--skip-loop", action="store_true", help="skip (b), the slow per-gene loop")
    ap.add_argument("--rounds", type=int, default=9, help="alternating rounds of (a) and (c); best of each")
    args = ap.parse_args()
    if not (args.data / "CAGE-train").is_dir():
        from epigex.demo.dataset import write_demo

        write_demo(args.data, seed=0)
    bw = args.data / f"{args.assay}-bigwig" / f"{args.cell}.bw"
    genes = pl.concat([read_info(p) for p in sorted((args.data / "CAGE-train").glob(f"{args.cell}_*_info.tsv"))])
    windows = all_windows(genes)
    fs = default_feature_set()
    print(f"file: {bw} ({bw.stat().st_size / 1e6:.1f} MB), genes: {genes.height:,}, windows: {windows.height:,}")
    results: dict[str, float] = {}
    cpu: dict[str, float] = {}
    n_iv = decode_all(bw)
    # (a) and (c) alternate, round after round, so that a noisy neighbour slows both alike; best of each.
    pair = {
        "c_decode_floor": lambda: decode_all(bw),
        "a_epigex_all_stats": lambda: bigwig_features(bw, args.assay, genes, fs),
    }
    for name in pair:
        results[name], cpu[name] = float("inf"), float("inf")
    for r in range(args.rounds):
        for name in sorted(pair, reverse=bool(r % 2)):
            wall, proc, _ = timed(pair[name])
            results[name], cpu[name] = min(results[name], wall), min(cpu[name], proc)
    runs: list[tuple[str, Callable[[], Any], int]] = [
        ("c2_decode_floor_pybigwig_intervals", lambda: decode_all_pybigwig(bw), 3),
    ]
    if not args.skip_loop:
        runs.append(("b_pybigwig_exact_loop_means", lambda: pybigwig_loop(bw, windows), 1))
    for name, fn, repeat in runs:
        results[name], cpu[name], _ = timed(fn, repeat=repeat)
    exe = find_deeptools()
    if exe:
        with tempfile.TemporaryDirectory() as tmp:
            name = "d_deeptools_multiBigwigSummary_p2"
            results[name], cpu[name], _ = timed(lambda: deeptools(exe, bw, windows, Path(tmp)))
            cpu[name] = float("nan")  # its work runs in child processes, which process_time does not see
    else:
        print("(d) skipped: multiBigwigSummary not found (pip install deeptools, or set DEEPTOOLS_BIN)")
    mem = peak_memory(lambda: bigwig_features(bw, args.assay, genes, fs))
    print(f"intervals decoded: {n_iv:,}; peak traced memory of (a): {mem:.0f} MB")
    a, a_cpu = results["a_epigex_all_stats"], cpu["a_epigex_all_stats"]
    print(f"{'method':<38}{'wall s':>9}{'vs (a)':>9}{'CPU s':>9}{'vs (a)':>9}")
    for k, v in results.items():
        print(f"{k:<38}{v:>9.3f}{v / a:>8.2f}×{cpu[k]:>9.3f}{cpu[k] / a_cpu:>8.2f}×")
    c, c_cpu = results["c_decode_floor"], cpu["c_decode_floor"]
    print(f"(a)/(c): wall {a / c:.2f}×, CPU {a_cpu / c_cpu:.2f}× (target ≤ 1.5×)")
    print(
        json.dumps(
            {
                "windows": windows.height,
                "intervals": n_iv,
                "peak_mb": round(mem),
                **{k: round(v, 3) for k, v in results.items()},
                "cpu": {k: round(v, 3) for k, v in cpu.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
