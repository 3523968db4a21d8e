"""Trust evidence on the demo: track QC against swaps and failed ChIPs, false alarms, and per-gene uncertainty.

For each demo seed: the demo dataset, X1 and X2 ingested, a quick model trained; then
- false alarms: the QC of each clean cell (X1 and X2 against each other, X3 against both);
- uncertainty on X3 against its hidden truth: the coverage and mean width of the 90 % percentile intervals, and
  the expected calibration error (10 bins) of P(expressed), raw and calibrated, with ``expressed = gex > 0``;
and for the first seed:
- every pair of the seven assays swapped in X3, bigWig and BED separately (42 variants): do both tracks fail, and
  is the swap named;
- every track of X3 replaced by a background-only one (values shuffled / peaks moved at random; 14 variants): does
  it fail.

Run: ``python -m bench.qc [--seeds 0,1,2]``; prints Markdown tables.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import polars as pl

from epigex.app.services.qc import cell_qc
from epigex.app.services.reading import predictions
from epigex.demo.dataset import write_demo
from epigex.demo.variants import background_bed, background_bigwig, cell_files, swapped, with_file
from epigex.ingest.featureset import ASSAYS
from epigex.ingest.pipeline import ingest_cell, ingest_dataset
from epigex.models.pipeline import train_from_store
from epigex.models.uncertainty import ece, percentiles
from epigex.store.catalog import Store
from epigex.store.genome import HG38_SIZES


def prepare(seed: int, root: Path) -> tuple[Path, Store]:
    data = root / f"data{seed}"
    write_demo(data, seed=seed)
    store = Store(root / f"store{seed}")
    ingest_dataset(store, data, ["X1", "X2", "X3"])
    train_from_store(store, ["X1", "X2"], "quick", seed=seed)
    return data, store


def uncertainty_on_x3(data: Path, store: Store) -> dict[str, float]:
    truth = pl.read_csv(data.with_name(data.name + ".truth") / "X3_test_y.tsv", separator="\t")
    _, frame = predictions(store, "X3")
    j = frame.join(truth, on="gene_name", how="inner")
    pct = percentiles(j["gex"].to_numpy())
    lo, hi = j["pct_lo"].to_numpy(), j["pct_hi"].to_numpy()
    y = (j["gex"].to_numpy() > 0).astype(float)
    return {
        "coverage": float(((pct >= lo) & (pct <= hi)).mean()),
        "width": float((hi - lo).mean()),
        "ece_raw": ece(j["p_expressed_raw"].to_numpy(), y),
        "ece_calibrated": ece(j["p_expressed"].to_numpy(), y),
    }


def main() -> None:
    """Run every check and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    clean_rows, unc_rows = [], []
    swap_rows: list[tuple[str, str, str, bool, bool]] = []
    bg_rows: list[tuple[str, str, str]] = []
    qc_seconds: list[float] = []
    ingest_seconds: list[float] = []  # one cell's ingest (the swapped variants of X3)
    variant_qc_seconds: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for k, seed in enumerate(seeds):
            data, store = prepare(seed, root)
            for cell in ("X1", "X2", "X3"):
                t0 = time.perf_counter()
                q = cell_qc(store, cell)
                qc_seconds.append(time.perf_counter() - t0)
                v = [t["verdict"] for t in q["tracks"]]
                clean_rows.append((seed, cell, v.count("fail"), v.count("warn"), len(v), q["drift"]["verdict"]))
            unc_rows.append((seed, uncertainty_on_x3(data, store)))
            if k:
                continue
            base = cell_files(data, "X3", ASSAYS)
            for kind in ("bigwig", "bed"):
                for a, b in combinations(ASSAYS, 2):
                    name = f"S{len(swap_rows)}"
                    t0 = time.perf_counter()
                    ingest_cell(store, swapped(base, a, b, kind, name))
                    t1 = time.perf_counter()
                    q = {(t["assay"], t["kind"]): t for t in cell_qc(store, name)["tracks"]}
                    ingest_seconds.append(t1 - t0)
                    variant_qc_seconds.append(time.perf_counter() - t1)
                    both = q[(a, kind)]["verdict"] == "fail" and q[(b, kind)]["verdict"] == "fail"
                    named = any("look swapped" in r for r in q[(a, kind)]["reasons"])
                    swap_rows.append((kind, a, b, both, named))
            for kind in ("bigwig", "bed"):
                for a in ASSAYS:
                    name = f"B{len(bg_rows)}"
                    src = base.bigwig[a] if kind == "bigwig" else base.bed[a]
                    dst = root / f"{name}.{'bw' if kind == 'bigwig' else 'bed'}"
                    if kind == "bigwig":
                        background_bigwig(src, dst)
                    else:
                        background_bed(src, dst, HG38_SIZES)
                    ingest_cell(store, with_file(base, a, kind, dst, name))
                    q = {(t["assay"], t["kind"]): t for t in cell_qc(store, name)["tracks"]}
                    bg_rows.append((kind, a, q[(a, kind)]["verdict"]))
    print("\n## Clean cells (false alarms)\n\n| seed | cell | tracks failing | tracks warning | tracks | drift |")
    print("| ---: | --- | ---: | ---: | ---: | --- |")
    for seed, cell, f, w, n, d in clean_rows:
        print(f"| {seed} | {cell} | {f} | {w} | {n} | {d} |")
    fails = sum(r[2] for r in clean_rows)
    total = sum(r[4] for r in clean_rows)
    print(f"\nfalse-alarm rate (clean tracks that fail): {fails}/{total}")
    if ingest_seconds:
        ing, qcs = float(np.median(ingest_seconds)), float(np.median(variant_qc_seconds))
        print(
            f"\nQC cost: median {qcs:.2f} s per cell after a median ingest of {ing:.2f} s per cell "
            f"({100 * qcs / ing:.0f} % of the ingest; {len(ingest_seconds)} cells)"
        )
    print("\n## X3 against its hidden truth\n\n| seed | interval coverage | mean width | ECE raw | ECE calibrated |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for seed, u in unc_rows:
        print(f"| {seed} | {u['coverage']:.3f} | {u['width']:.3f} | {u['ece_raw']:.3f} | {u['ece_calibrated']:.3f} |")
    if swap_rows:
        ok = sum(1 for r in swap_rows if r[3])
        named = sum(1 for r in swap_rows if r[4])
        n = len(swap_rows)
        print(f"\n## Swaps in X3: both tracks fail in {ok}/{n}, the swap is named in {named}/{n}")
        for kind, a, b, both, nm in swap_rows:
            if not (both and nm):
                print(f"- missed: {kind} {a} ↔ {b} (both fail: {both}, named: {nm})")
        bad = [r for r in bg_rows if r[2] != "fail"]
        print(f"\n## Background-only tracks in X3: {len(bg_rows) - len(bad)}/{len(bg_rows)} fail")
        for kind, a, v in bad:
            print(f"- {kind} {a}: {v}")


if __name__ == "__main__":
    main()
