"""Peak memory of one track's extraction on a dense, full-length chr1 (every base covered, 25 bp intervals).

Run: ``python -m bench.memory [--bin 25]``. It writes the bigWig to a temporary folder, then extracts every window
statistic of the course's 1,984 chr1 genes in a fresh process and prints that process's peak RSS beside the
RSS of the same process after importing everything (the baseline).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyBigWig

from epigex.store.genome import HG38_SIZES

CHILD = """
import resource, sys, time
from pathlib import Path
from epigex.demo.dataset import course_file
from epigex.ingest.featureset import default_feature_set
from epigex.ingest.genes import read_info
from epigex.ingest.tracks import bigwig_features
genes = read_info(course_file("CAGE-train/X3_test_info.tsv"))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
res = bigwig_features(Path(sys.argv[1]), "H3K4me3", genes, default_feature_set())
sec = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{res.qc['n_items']} {base:.0f} {peak:.0f} {sec:.2f}")
"""


def write_dense_chr1(path: Path, bin_size: int) -> int:
    """A bigWig covering all of chr1 with ``bin_size`` intervals of random values."""
    size = HG38_SIZES["chr1"]
    rng = np.random.default_rng(0)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", size)], maxZooms=0)
    n = 0
    step = 20_000_000
    for lo in range(0, size, step):
        starts = np.arange(lo, min(lo + step, size), bin_size, dtype=np.int64)
        ends = np.minimum(starts + bin_size, size)
        vals = rng.gamma(0.5, 1.0, starts.size)
        bw.addEntries(np.full(starts.size, "chr1"), starts, ends=ends, values=vals)
        n += starts.size
    bw.close()
    return n


def main() -> None:
    """Write the track, run the extraction in a child process, print peak memory."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", type=int, default=25)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dense_chr1.bw"
        t0 = time.perf_counter()
        n = write_dense_chr1(path, args.bin)
        print(f"wrote {n:,} intervals ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        out = subprocess.run([sys.executable, "-c", CHILD, str(path)], check=True, capture_output=True, text=True)
        items, base, peak, sec = out.stdout.split()
        print(
            f"intervals: {int(items):,}; RSS after imports: {base} MB; peak RSS: {peak} MB; "
            f"extra for the track: {int(peak) - int(base)} MB; extraction: {sec} s"
        )


if __name__ == "__main__":
    main()
