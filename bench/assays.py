"""What each assay is worth: X3's Spearman on the demo when the model sees only some of the tracks.

For each demo seed the dataset is generated, X1, X2 and X3 are ingested with every track, and for each track set a
quick model is trained on X1 + X2 restricted to that set (``train_from_store(..., tracks=...)``, exactly what a
cell line with those tracks gets) and X3's test genes are scored against the hidden truth. The sets: every track;
each assay left out; the four of a typical lab (DNase, H3K4me3, H3K27ac, H3K36me3); the promoter trio (DNase,
H3K4me3, H3K27ac); DNase alone; bigWig files only; BED files only. Beside them, the promoter baseline of
``epigex demo`` (the rank of H3K4me3 + DNase promoter means).

Run: ``python -m bench.assays [--seeds 0,1,2]``; prints a Markdown table (mean and per seed).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from epigex.app.services.demo import read_truth, truth_spearman
from epigex.demo.dataset import write_demo
from epigex.ingest.featureset import ASSAYS
from epigex.ingest.pipeline import ingest_dataset
from epigex.models.dataset import load_cell
from epigex.models.pipeline import train_from_store
from epigex.models.predict import predict_with
from epigex.store.catalog import Store
from epigex.store.cells import feature_names

KINDS = ("bigwig", "bed")


def tracks_of(assays: tuple[str, ...], kinds: tuple[str, ...] = KINDS) -> list[str]:
    """Track names of ``assays`` × ``kinds``."""
    return sorted(f"{a}:{k}" for a in assays for k in kinds)


def track_sets() -> dict[str, list[str]]:
    """The track sets measured, by label."""
    sets = {"all tracks": tracks_of(ASSAYS)}
    sets |= {f"without {a}": tracks_of(tuple(x for x in ASSAYS if x != a)) for a in ASSAYS}
    sets["DNase + H3K4me3 + H3K27ac + H3K36me3"] = tracks_of(("DNase", "H3K4me3", "H3K27ac", "H3K36me3"))
    sets["DNase + H3K4me3 + H3K27ac (promoter trio)"] = tracks_of(("DNase", "H3K4me3", "H3K27ac"))
    sets["DNase only"] = tracks_of(("DNase",))
    sets["bigWig files only"] = tracks_of(ASSAYS, ("bigwig",))
    sets["BED files only"] = tracks_of(ASSAYS, ("bed",))
    return sets


def run_seed(seed: int, root: Path, threads: int) -> dict[str, tuple[float, float]]:
    """``label -> (X3 Spearman, training seconds)`` for one demo seed."""
    data = root / f"data{seed}"
    write_demo(data, seed=seed)
    store = Store(root / f"store{seed}")
    ingest_dataset(store, data, ["X1", "X2", "X3"])
    truth = read_truth(data.with_name(data.name + ".truth") / "X3_test_y.tsv")
    out: dict[str, tuple[float, float]] = {}
    for label, tracks in track_sets().items():
        t0 = time.perf_counter()
        trained, _ = train_from_store(
            store, ["X1", "X2"], "quick", seed=seed, threads=threads, register=False, tracks=tracks
        )
        seconds = time.perf_counter() - t0
        cell = load_cell(store, "X3", trained.feature_set, trained.features)
        test = cell.split == "test"
        pred = predict_with(trained.boosters, trained.rule, trained.threshold, cell.X[test], explain=False)
        out[label] = (truth_spearman(cell.genes[test], pred.gex_predicted, truth), seconds)
        print(f"seed {seed}: {label}: {out[label][0]:.4f} ({seconds:.0f} s)", flush=True)
    full = load_cell(store, "X3", trained.feature_set, feature_names(store, trained.feature_set))
    cols = {f: i for i, f in enumerate(feature_names(store, trained.feature_set))}
    test = full.split == "test"
    k4, dnase = (full.X[:, cols[f"{a}_bw_prom1k_mean"]].astype(np.float64) for a in ("H3K4me3", "DNase"))
    signal = np.nan_to_num(k4, nan=-10.0) + np.nan_to_num(dnase, nan=-10.0)
    out["baseline: promoter H3K4me3 + DNase rank"] = (truth_spearman(full.genes[test], signal[test], truth), 0.0)
    return out


def main() -> None:
    """Run every seed and print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        results = {seed: run_seed(seed, Path(tmp), args.threads) for seed in seeds}
    labels = list(results[seeds[0]])
    full = np.mean([results[s]["all tracks"][0] for s in seeds])
    seed_cols = " | ".join(f"seed {s}" for s in seeds)
    print(f"\n| tracks the model sees | X3 Spearman (mean) | vs all tracks | {seed_cols} |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in seeds) + " |")
    for label in labels:
        vals = [results[s][label][0] for s in seeds]
        mean = float(np.mean(vals))
        print(f"| {label} | {mean:.3f} | {mean - full:+.3f} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")


if __name__ == "__main__":
    main()
