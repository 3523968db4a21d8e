"""Genes on chrX and chrY end to end: features, leave-one-chromosome-out validation and predictions.

The course's genes have none there, so the demo is moved: every chr21 gene, track record and peak becomes chrX's
and every chr22 one chrY's (both fit inside: 46.7 < 156.0 Mb and 50.8 < 57.2 Mb), the genome the tracks declare
unchanged. The signal that explained chr21's and chr22's genes now explains chrX's and chrY's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pyBigWig
import pytest

from epigex import api
from epigex.store.genome import HG38_SIZES
from epigex.store.registry import get_model

pytestmark = pytest.mark.slow
MOVE = {"chr21": "chrX", "chr22": "chrY"}


def _move_bigwig(src: Path, dst: Path) -> None:
    old = pyBigWig.open(str(src))
    new = pyBigWig.open(str(dst), "w")
    new.addHeader(list(HG38_SIZES.items()), maxZooms=0)
    came_from = {b: a for a, b in MOVE.items()}
    for chrom in HG38_SIZES:  # written in the header's order, as bigWig requires
        if chrom in MOVE:
            continue
        source = came_from.get(chrom, chrom)
        iv = np.array(old.intervals(source) or [], dtype=np.float64).reshape(-1, 3)
        if iv.shape[0]:
            new.addEntries(
                [chrom] * iv.shape[0],
                iv[:, 0].astype(np.int64).tolist(),
                ends=iv[:, 1].astype(np.int64).tolist(),
                values=iv[:, 2].tolist(),
            )
    new.close()
    old.close()


def _moved(demo_dir: Path, out: Path) -> Path:
    for path in demo_dir.rglob("*"):
        rel = path.relative_to(demo_dir)
        target = out / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.suffix == ".bw":
            _move_bigwig(path, target)
        elif path.suffix == ".bed" or path.name.endswith("_info.tsv"):
            text = path.read_text()
            for a, b in MOVE.items():
                text = text.replace(f"\n{a}\t", f"\n{b}\t").replace(f"\t{a}\t", f"\t{b}\t")
            target.write_text(text)
        else:
            shutil.copyfile(path, target)
    return out


def test_genes_on_x_and_y_are_featured_validated_and_predicted(demo_dir: Path, tmp_path: Path) -> None:
    data = _moved(demo_dir, tmp_path / "data")
    info = pl.read_csv(data / "CAGE-train" / "X1_train_info.tsv", separator="\t")
    on_sex = set(info.filter(pl.col("chr").is_in(["chrX", "chrY"]))["gene_name"].to_list())
    assert len(on_sex) > 500
    assert info.filter(pl.col("chr").is_in(list(MOVE))).is_empty()
    home = tmp_path / "home"
    api.ingest(data, store=home)
    api.train(store=home, profile="full")  # the full profile holds every chromosome out in turn
    per_chrom = pl.DataFrame(get_model(api.open_store(home), None).metrics["per_chrom"])
    stack = per_chrom.filter(pl.col("kind") == "stack")
    for chrom in ("chrX", "chrY"):
        rows = stack.filter(pl.col("chrom") == chrom)
        assert rows.height == 2, chrom  # both labelled cells held chrX and chrY out in turn
        # the moved genes keep the signal that explained them: as well predicted as the other chromosomes
        assert rows["spearman_masked"].min() > stack["spearman_masked"].median() - 0.15, rows
    pred = api.predict("X1", store=home)
    moved = pred.filter(pl.col("gene_name").is_in(list(on_sex)))
    assert moved.height == len(on_sex)
    assert moved["gex_predicted"].is_finite().all()
    assert moved["gex_predicted"].std() > 0
