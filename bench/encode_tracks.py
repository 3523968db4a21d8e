"""ENCODE-shaped tracks at real scale: MACS2-like signal bigWigs over the GRCh38 analysis set, and narrowPeaks.

ENCODE's histone and DNase pipelines write MACS2 signal as bigWigs of variable-length bedGraph records that tile
each contig end to end (a record wherever the value changes: short ones in and around peaks, long ones through
the background), values printed with five decimals, over the GRCh38 analysis set: chr1–22, X, Y, M, the
``*_random`` and ``chrUn_*`` contigs and chrEBV. Two signal types are written:

- ``fc``: fold change over control — background near 1 (a slowly varying lambda), peaks a few to ~50-fold;
- ``pval``: −log10 p-value — mostly exactly 0, peaks from ~2 to a few hundred.

The file size is set by the number of records (about 8.3 bytes per record after zlib at this shape): ``--size-gb
0.5`` writes ~63 M records, as the file the issue measured. Peaks are placed by the same random field, so the
narrowPeak (MACS2's ten columns) matches its signal.

Run: ``python -m bench.encode_tracks OUT_DIR [--size-gb 0.5] [--kind fc|pval] [--seed 0] [--cell NAME]``; with
``--cell`` it writes a whole cell (7 assays, one seed each) as ``OUT_DIR/{assay}-bigwig/NAME.bw`` and
``OUT_DIR/{assay}-bed/NAME.bed``, the data layout ``epigex ingest`` reads.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pyBigWig

from epigex.store.genome import HG38_SIZES

# The GRCh38 analysis set's extra contigs (a sample of each family; sizes from the GRC / UCSC hg38 assembly).
EXTRA_CONTIGS: dict[str, int] = {
    "chr1_KI270706v1_random": 175_055,
    "chr14_GL000009v2_random": 201_709,
    "chr17_KI270729v1_random": 280_839,
    "chr22_KI270731v1_random": 150_754,
    "chrUn_GL000195v1": 182_896,
    "chrUn_GL000218v1": 161_147,
    "chrUn_GL000220v1": 161_802,
    "chrUn_KI270742v1": 186_739,
    "chrEBV": 171_823,
}
ANALYSIS_SET: dict[str, int] = {**HG38_SIZES, **EXTRA_CONTIGS}
ASSAYS = ("DNase", "H3K27ac", "H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3")
# zlib-compressed bytes per bedGraph record of this shape, measured on the generator's own output.
BYTES_PER_RECORD = 8.3
PEAKS_PER_GB = 300_000


def _records(
    rng: np.random.Generator, size: int, mean_len: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Record boundaries tiling ``[0, size)``, and which records lie in a peak."""
    n = int(1.5 * size / mean_len) + 16  # enough records to pass the contig's end; the rest are cut off
    # background records are long and peak records short: the mixture's mean length is ``mean_len``
    in_peak = rng.random(n) < 0.35
    short, long = rng.geometric(1 / max(2.0, mean_len * 0.25), n), rng.geometric(1 / (mean_len * 1.404), n)
    ends = np.cumsum(np.where(in_peak, short, long))
    ends = np.append(ends[ends < size], size)
    return ends, in_peak[: ends.size]


def chrom_signal(
    rng: np.random.Generator, size: int, mean_len: float, kind: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """One contig's records ``(starts, ends, values)``: tiling it end to end, values with MACS2's five decimals."""
    ends, in_peak = _records(rng, size, mean_len)
    starts = np.concatenate([[0], ends[:-1]])
    n = ends.size
    # a slowly varying background (a random walk over ~1 kb steps) and peak heights that persist over runs
    walk = np.cumsum(rng.normal(0, 0.02, n))
    csum = np.concatenate([[0.0], np.cumsum(walk)])
    lo, hi = np.maximum(np.arange(n) - 200, 0), np.minimum(np.arange(n) + 201, n)
    walk -= (csum[hi] - csum[lo]) / (hi - lo)  # minus its moving average over ~400 records: a local wobble
    height = rng.lognormal(1.2, 0.8, n)
    if kind == "fc":
        values = np.exp(walk * 2) * rng.uniform(0.6, 1.3, n)
        values = np.where(in_peak, values + height, values)
    else:
        values = np.where(in_peak, np.maximum(height * 3 - 2, 0), 0.0)
    return starts, ends, np.round(values, 5)


def write_bigwig(path: Path, size_gb: float, kind: str, seed: int) -> int:
    """Write one ENCODE-shaped bigWig of about ``size_gb``; return its number of records."""
    rng = np.random.default_rng(seed)
    genome = sum(ANALYSIS_SET.values())
    n_records = size_gb * 1e9 / BYTES_PER_RECORD
    mean_len = genome / n_records
    total = 0
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(ANALYSIS_SET.items()), maxZooms=10)
    for chrom, size in ANALYSIS_SET.items():
        starts, ends, values = chrom_signal(rng, size, mean_len, kind)
        # pyBigWig writes records as given; a chunk at a time keeps its buffers small
        step = 1 << 22
        for i in range(0, starts.size, step):
            bw.addEntries(
                [chrom] * min(step, starts.size - i),
                starts[i : i + step].tolist(),
                ends=ends[i : i + step].tolist(),
                values=values[i : i + step].tolist(),
            )
        total += starts.size
    bw.close()
    return total


def write_peaks(path: Path, n_peaks: int, seed: int) -> None:
    """A MACS2 narrowPeak of ``n_peaks`` peaks over the main chromosomes, sorted, with its ten columns."""
    rng = np.random.default_rng(seed + 10_000)
    chroms = [c for c in ANALYSIS_SET if c in HG38_SIZES and c != "chrM"]
    sizes = np.array([ANALYSIS_SET[c] for c in chroms], dtype=np.float64)
    which = rng.choice(len(chroms), n_peaks, p=sizes / sizes.sum())
    width = rng.integers(150, 2_000, n_peaks)
    start = (rng.random(n_peaks) * (sizes[which] - width - 1)).astype(np.int64)
    order = np.lexsort((start, which))
    fold = np.round(rng.lognormal(1.5, 0.6, n_peaks), 5)
    p = np.round(fold * rng.uniform(2, 6, n_peaks), 5)
    q = np.round(np.maximum(p - 1.3, 0), 5)
    summit = (width * rng.uniform(0.3, 0.7, n_peaks)).astype(np.int64)
    score = np.minimum((q * 10).astype(np.int64), 1000)
    rows = pl.DataFrame(
        {
            "chrom": np.array(chroms)[which[order]],
            "start": start[order],
            "end": start[order] + width[order],
            "name": [f"peak_{k}" for k in range(n_peaks)],
            "score": score[order],
            "strand": ".",
            "fold": fold[order],
            "p": p[order],
            "q": q[order],
            "summit": summit[order],
        }
    )
    rows.write_csv(path, separator="\t", include_header=False, float_precision=5)


def write_cell(out: Path, name: str, size_gb: float, kind: str, seed: int) -> None:
    """A whole cell of ENCODE-shaped tracks, in the layout ``epigex ingest`` reads."""
    for j, assay in enumerate(ASSAYS):
        (out / f"{assay}-bigwig").mkdir(parents=True, exist_ok=True)
        (out / f"{assay}-bed").mkdir(parents=True, exist_ok=True)
        write_bigwig(out / f"{assay}-bigwig" / f"{name}.bw", size_gb, kind, seed + j)
        write_peaks(out / f"{assay}-bed" / f"{name}.bed", int(PEAKS_PER_GB * size_gb), seed + j)


def main() -> None:
    """Write the tracks and say what was written."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--size-gb", type=float, default=0.5)
    ap.add_argument("--kind", choices=("fc", "pval"), default="fc")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cell", default=None, help="write a whole 7-assay cell of this name")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.cell:
        write_cell(args.out, args.cell, args.size_gb, args.kind, args.seed)
        print(f"cell {args.cell}: 7 assays of ~{args.size_gb:g} GB in {time.perf_counter() - t0:.0f} s")
        return
    bw = args.out / f"encode_{args.kind}_{args.size_gb:g}gb.bw"
    n = write_bigwig(bw, args.size_gb, args.kind, args.seed)
    bed = args.out / f"encode_{args.size_gb:g}gb.narrowPeak"
    write_peaks(bed, int(PEAKS_PER_GB * args.size_gb), args.seed)
    print(f"{bw}: {n:,} records, {bw.stat().st_size / 1e9:.2f} GB; {bed}: {bed.stat().st_size / 1e6:.0f} MB")
    print(f"in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
