"""Reference-informed prediction on the demo, in the cases labs are in, beside the baselines of the same run.

For each demo seed a dataset is generated whose labelled cells are also labelled on X3's test genes
(``--reference-labels``; cell types correlate like the real X1/X2 labels, Spearman 0.78 between lineages), ingested
once, and models are trained (``--profile``) on:

- **one reference**: X1 alone, predicting X3 (a lab with one measured cell line);
- **two references**: X1 + X2, predicting X3, a third cell type as far from both as they are from each other;
- **four references** (``--four``): X1, X2, C1, C2 (another dataset, ``--cells 4``).

Each row gives X3's Spearman against the hidden truth for epigex (reference-informed), the marks-only stack of the
same model, the references' expression alone and the plain rank average of the two — all computed here — and the
90 % intervals' coverage and mean width and the ECE of P(expressed) on X3's genes, and the training time with the
share the reference model took (the ratio of training with it to training without it).

Run: ``python -m bench.references [--seeds 0,1] [--profile quick|full] [--four]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from epigex.app.services.demo import read_truth, reference_baselines, truth_spearman
from epigex.demo.dataset import write_demo
from epigex.ingest.pipeline import ingest_dataset
from epigex.models.persist import load_model
from epigex.models.pipeline import train_from_store
from epigex.models.predict import ensure_predictions, read_predictions
from epigex.models.references import rank01
from epigex.models.uncertainty import ece
from epigex.store.catalog import Store


def score(store: Store, truth: pl.DataFrame, cells: list[str], profile: str, seed: int, threads: int) -> dict[str, Any]:
    """Train on ``cells``, predict X3 and score it beside the baselines."""
    t0 = time.perf_counter()
    _, record = train_from_store(store, cells, profile, seed=seed, threads=threads, activate=False)
    seconds = time.perf_counter() - t0
    assert record is not None
    model = load_model(store, record.id)
    pred = read_predictions(store, ensure_predictions(store, "X3", model)).filter(pl.col("split") == "test")
    joined = pred.join(truth, on="gene_name", how="inner")
    pct = rank01(joined["gex"].to_numpy())
    lo, hi = joined["pct_lo"].to_numpy(), joined["pct_hi"].to_numpy()
    refs = sorted({r for v in pred["references"].to_list() for r in v.split(",") if r})
    base = reference_baselines(store, model, "X3", refs, truth) if refs else {}
    t_refs = float(record.timings.get("references", 0.0))
    total = float(record.timings.get("total", seconds))
    return {
        "epigex": truth_spearman(pred["gene_name"].to_numpy(), pred["gex_predicted"].to_numpy(), truth),
        **{k.split(" (")[0].removeprefix("baseline: "): v for k, v in base.items()},
        "mode": record.metrics["references"]["mode"],
        "coverage": float(((pct >= lo) & (pct <= hi)).mean()),
        "width": float((hi - lo).mean()),
        "ece": ece(joined["p_expressed"].to_numpy(), (joined["gex"].to_numpy() > 0).astype(np.float64)),
        "train_s": seconds,
        "ratio": total / max(1e-9, total - t_refs),
    }


def run(seed: int, root: Path, profile: str, threads: int, four: bool) -> list[dict[str, Any]]:
    """Every case for one seed."""
    out = []
    cases = [("one reference", 2, ["X1"]), ("two references", 2, ["X1", "X2"])]
    if four:
        cases.append(("four references", 4, ["X1", "X2", "C1", "C2"]))
    stores: dict[int, tuple[Store, pl.DataFrame]] = {}
    for label, n, cells in cases:
        if n not in stores:
            data = root / f"data{seed}-{n}"
            manifest = write_demo(data, seed=seed, workers=threads, n_labelled=n, reference_labels=True)
            store = Store(root / f"store{seed}-{n}")
            ingest_dataset(store, data, threads=threads)
            stores[n] = (store, read_truth(Path(str(manifest["truth"])) / "X3_test_y.tsv"))
        store, truth = stores[n]
        row = {"case": label, "seed": seed, **score(store, truth, cells, profile, seed, threads)}
        print(f"seed {seed} {label}: epigex {row['epigex']:.4f}", flush=True)
        out.append(row)
    return out


def main() -> None:
    """Run every seed and case; print the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--profile", default="quick", choices=("quick", "full"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--four", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            rows += run(seed, Path(tmp), args.profile, args.threads, args.four)
    cols = ["epigex", "marks only", "the references' expression alone", "rank average of marks and references"]
    print(f"\nprofile {args.profile}; X3's Spearman vs hidden truth (baselines computed in the same run)\n")
    print(
        "| case | seed | epigex (mode) | marks only | references alone | rank average | coverage | width | ECE "
        "| train s | × without refs |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        vals = " | ".join(f"{r.get(c, float('nan')):.3f}" for c in cols[1:])
        print(
            f"| {r['case']} | {r['seed']} | {r['epigex']:.3f} ({r['mode']}) | {vals} | {r['coverage']:.3f} | "
            f"{r['width']:.3f} | {r['ece']:.3f} | {r['train_s']:.0f} | {r['ratio']:.2f} |"
        )


if __name__ == "__main__":
    main()
