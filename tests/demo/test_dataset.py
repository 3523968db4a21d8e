"""The demo's carried course files resolve from the installed package, whatever the working folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_course_files_resolve_outside_the_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = "from epigex.demo.dataset import course_file; print(course_file('global_track_stats.json').is_file())"
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "True"


def test_truth_holds_the_ceiling_and_each_genes_own_enhancers(demo_dir: Path) -> None:
    import json

    import polars as pl
    from scipy.stats import spearmanr

    truth = demo_dir.with_name(demo_dir.name + ".truth")
    manifest = json.loads((truth / "manifest.json").read_text())
    assert set(manifest["ceiling"]) == {"X1", "X2", "X3"}
    assert all(0.5 < v < 1.0 for v in manifest["ceiling"].values())
    labels = pl.concat(
        [pl.read_csv(demo_dir / "CAGE-train" / f"X1_{s}_y.tsv", separator="\t") for s in ("train", "val")]
    )
    test_genes = pl.read_csv(demo_dir / "CAGE-train" / "X3_test_info.tsv", separator="\t")["gene_name"]
    for cell in ("X1", "X2", "X3"):
        own = pl.read_csv(truth / f"{cell}_enhancers.tsv", separator="\t")
        assert own.columns == ["gene_name", "n_active", "amp_sum"]
        assert own["gene_name"].n_unique() == own.height == labels.height + test_genes.len()
        assert own["n_active"].min() >= 0
        assert ((own["n_active"] == 0) == (own["amp_sum"] == 0)).all()
    x1 = labels.join(pl.read_csv(truth / "X1_enhancers.tsv", separator="\t"), on="gene_name")
    # active genes have more active enhancers: the distal view carries the activity
    assert spearmanr(x1["n_active"], x1["gex"]).statistic > 0.5
