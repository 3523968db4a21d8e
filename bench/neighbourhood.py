"""Accuracy beyond the recipe: the regulatory-neighbourhood features and the learned stack, against the demo's ceiling.

For each demo seed the dataset is generated (with its gene-linked enhancers), X1, X2 and X3 are ingested once with
the default feature set, and models are trained on X1 + X2 in the same run:

- **today**: every feature but the neighbourhood families (the feature set before this work), the recipe's stack;
- **+ neighbourhood**: every feature, the recipe's stack;
- **+ neighbourhood + stack**: the same boosters, combined as :func:`models.stacking.choose` picks on
  out-of-fold predictions (learned non-negative setup weights and/or the soft stage combination, or the recipe);
- **without <family>**: every feature but one new family (the ablation per family), chosen stack;
- **today + oracle enhancers** (``--oracle``): today's features plus each gene's own active enhancer sites (how
  many, summed amplitude) from the simulation's truth, chosen stack — what a perfect enhancer-to-gene assignment
  with noiseless enhancer marks could add: the bound on any distal feature's gain on this demo.

Each row gives X3's Spearman against the hidden truth and the validation's masked Spearman (the val split for
``quick``, leave-one-chromosome-out for ``full``), beside the demo's ceiling (the Spearman of X3's simulated
latent chromatin activity against the truth). The mean |SHAP| of the selected features is summed per family.

Run: ``python -m bench.neighbourhood [--seeds 0,1,2] [--profile quick|full] [--no-ablation] [--oracle]``; prints
Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from epigex.app.services.demo import read_truth, truth_spearman
from epigex.demo.dataset import write_demo
from epigex.ingest.pipeline import ingest_dataset
from epigex.models.dataset import CellData, load_cell, load_training_cell, shared_feature_set
from epigex.models.params import get_profile
from epigex.models.predict import predict_with
from epigex.models.stacking import RECIPE
from epigex.models.training import train_ensemble
from epigex.store.catalog import Store
from epigex.store.cells import feature_families

NEW_FAMILIES = ("distal_rings", "distal_contact", "distal_assigned", "neighbour_promoters", "repressive_domain")


ORACLE = ("oracle_n_active", "oracle_amp_sum")


def with_oracle(cell: CellData, truth_dir: Path) -> CellData:
    """The cell with two more columns: its genes' own active enhancer sites, from the simulation's truth."""
    table = pl.read_csv(truth_dir / f"{cell.name}_enhancers.tsv", separator="\t")
    own = pl.DataFrame({"gene_name": cell.genes}).join(table, on="gene_name", how="left", maintain_order="left")
    extra = own.select("n_active", "amp_sum").to_numpy().astype(np.float32)
    return replace(cell, X=np.hstack([cell.X, extra]))


def run_seed(
    seed: int, root: Path, profile: str, threads: int, ablate: bool = True, oracle: bool = False
) -> dict[str, Any]:
    """Every variant's scores for one demo seed."""
    data = root / f"data{seed}"
    manifest = write_demo(data, seed=seed, workers=threads)
    store = Store(root / f"store{seed}")
    t0 = time.perf_counter()
    ingest_dataset(store, data, ["X1", "X2", "X3"], threads=threads)
    ingest_s = time.perf_counter() - t0
    truth = read_truth(Path(str(manifest["truth"])) / "X3_test_y.tsv")
    fs = shared_feature_set(store, ["X1", "X2"])
    fam = feature_families(store, fs)
    variants = {"today": [n for n in fam if fam[n] not in NEW_FAMILIES], "+ neighbourhood": list(fam)}
    if ablate:
        variants |= {f"without {f}": [n for n in fam if fam[n] != f] for f in NEW_FAMILIES}
    if oracle:
        variants["today + oracle enhancers"] = variants["today"]
    rows: dict[str, dict[str, float]] = {}
    shap_by_family: dict[str, float] = defaultdict(float)
    truth_dir = Path(str(manifest["truth"]))
    for label, names in variants.items():
        cells = [load_training_cell(store, c, fs, names) for c in ("X1", "X2")]
        if label.endswith("oracle enhancers"):
            cells, names = [with_oracle(c, truth_dir) for c in cells], [*names, *ORACLE]
        t0 = time.perf_counter()
        tm = train_ensemble(cells, names, fs, get_profile(profile), seed=seed, threads=threads)
        seconds = time.perf_counter() - t0
        if label.endswith("oracle enhancers"):
            full = with_oracle(load_cell(store, "X3", fs, names[: -len(ORACLE)]), truth_dir)
            x3 = replace(full, X=full.X[:, [names.index(f) for f in tm.features]])
        else:
            x3 = load_cell(store, "X3", fs, tm.features)
        test = x3.split == "test"
        choice = tm.metrics["stack_choice"]
        cands = {str(c["candidate"]): float(c["spearman"]) for c in choice["candidates"]}
        rec = choice["recipe"]
        recipe = predict_with(tm.boosters, rec["rule"], rec["threshold"], x3.X[test], explain=False, combiner=RECIPE)
        chosen = predict_with(tm.boosters, tm.rule, tm.threshold, x3.X[test], explain=False, combiner=tm.combiner)
        x3_recipe = truth_spearman(x3.genes[test], recipe.gex_predicted, truth)
        x3_chosen = truth_spearman(x3.genes[test], chosen.gex_predicted, truth)
        val_recipe = cands["recipe: mask, equal weights"]
        val_chosen = max(cands.values()) if choice["chosen"] != RECIPE.describe() else val_recipe
        if label in ("today", "+ neighbourhood"):
            rows[label] = {"x3": x3_recipe, "val": val_recipe, "seconds": seconds}
        if label == "+ neighbourhood":
            rows["+ neighbourhood + stack"] = {
                "x3": x3_chosen,
                "val": val_chosen,
                "seconds": seconds,
                "stack": choice["chosen"],
            }
            for s in tm.selection:
                if s.get("fate") == "selected":
                    shap_by_family[fam[str(s["feature"])]] += float(s["mean_abs_shap"])
        if label.startswith("without") or label.endswith("oracle enhancers"):
            rows[label] = {"x3": x3_chosen, "val": val_chosen, "seconds": seconds}
        print(f"seed {seed} {label}: X3 {x3_recipe:.4f} (recipe) {x3_chosen:.4f} (chosen), {seconds:.0f} s", flush=True)
    ceiling = float(manifest["ceiling"]["X3"])  # type: ignore[index]
    return {"rows": rows, "ceiling": ceiling, "ingest_s": ingest_s, "shap": dict(shap_by_family)}


def main() -> None:
    """Run every seed and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--profile", default="quick", choices=("quick", "full"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--no-ablation", action="store_true", help="only today / + neighbourhood (+ stack)")
    ap.add_argument(
        "--oracle", action="store_true", help="add today's features + each gene's own active enhancers (the bound)"
    )
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        res = {s: run_seed(s, Path(tmp), args.profile, args.threads, not args.no_ablation, args.oracle) for s in seeds}
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    labels = list(res[seeds[0]]["rows"])
    base = {s: res[s]["rows"]["today"]["x3"] for s in seeds}
    print(f"\nprofile {args.profile}; ceiling per seed: " + ", ".join(f"{res[s]['ceiling']:.3f}" for s in seeds))
    head = " | ".join(f"seed {s} X3 (Δ)" for s in seeds)
    print(f"\n| variant | X3 mean | Δ vs today | validation mean | {head} |")
    print("| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in seeds) + " |")
    for label in labels:
        x3 = [res[s]["rows"][label]["x3"] for s in seeds]
        val = [res[s]["rows"][label]["val"] for s in seeds]
        cells = " | ".join(f"{v:.3f} ({v - base[s]:+.3f})" for v, s in zip(x3, seeds, strict=True))
        delta = np.mean(x3) - np.mean(list(base.values()))
        print(f"| {label} | {np.mean(x3):.3f} | {delta:+.3f} | {np.mean(val):.3f} | {cells} |")
    print(
        f"| demo ceiling | {np.mean([res[s]['ceiling'] for s in seeds]):.3f} | | | "
        + " | ".join(f"{res[s]['ceiling']:.3f}" for s in seeds)
        + " |"
    )
    gap = [res[s]["ceiling"] - base[s] for s in seeds]
    best = [res[s]["rows"]["+ neighbourhood + stack"]["x3"] - base[s] for s in seeds]
    print(
        "\nshare of the gap to the ceiling closed: " + ", ".join(f"{b / g:.0%}" for b, g in zip(best, gap, strict=True))
    )
    print("stack chosen: " + ", ".join(str(res[s]["rows"]["+ neighbourhood + stack"].get("stack")) for s in seeds))
    fams: dict[str, list[float]] = defaultdict(list)
    for s in seeds:
        total = sum(res[s]["shap"].values()) or 1.0
        for f, v in res[s]["shap"].items():
            fams[f].append(v / total)
    print("\n| family | share of the selected features' mean abs SHAP (mean over seeds) |\n| --- | ---: |")
    for f, v in sorted(fams.items(), key=lambda kv: -float(np.mean(kv[1]))):
        print(f"| {f} | {np.mean(v):.1%} |")


if __name__ == "__main__":
    main()
