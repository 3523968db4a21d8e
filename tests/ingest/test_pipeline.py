"""End-to-end ingest of the demo dataset into a real store; atomicity under errors and SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from epigex.ingest.featureset import default_feature_set
from epigex.ingest.pipeline import ingest_dataset
from epigex.store.catalog import Store
from epigex.store.cells import cell_genes, feature_table
from epigex.store.errors import ConflictError, InputError

pytestmark = pytest.mark.slow
TABLES = (
    "genes",
    "cell_lines",
    "cell_genes",
    "labels",
    "tracks",
    "feature_sets",
    "features",
    "feature_tables",
)


def snapshot(home: Path) -> tuple[dict[str, list[tuple]], list[str]]:
    """Every catalog row and every file under features/ (after the store's own clean-up on open)."""
    store = Store(home)
    rows = {t: sorted(map(repr, store.query(f"SELECT * FROM {t}"))) for t in TABLES}
    files = sorted(str(p.relative_to(home)) for p in (home / "features").rglob("*") if p.is_file())
    return rows, files  # type: ignore[return-value]


def linked_copy(src: Path, dst: Path, skip: set[str] = frozenset()) -> Path:
    """A dataset folder of symlinks to ``src``'s files (cheap), leaving out relative paths in ``skip``."""
    for p in src.rglob("*"):
        rel = p.relative_to(src)
        if p.is_dir() or str(rel) in skip:
            continue
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        (dst / rel).symlink_to(p)
    return dst


def test_demo_ingest_builds_every_table(demo_store: Path) -> None:
    store = Store(demo_store)
    fs = default_feature_set()
    cells = dict(store.query("SELECT name, n_genes FROM cell_lines"))
    assert cells == {"X1": 16_284, "X2": 16_284, "X3": 1_984}
    x1 = feature_table(store, "X1", fs.id)
    assert x1.height == 16_284
    n_features = store.query("SELECT n_features FROM feature_sets WHERE id = ?", [fs.id])[0][0]
    assert x1.width == n_features + 1 > 500
    assert store.query("SELECT count(*) FROM labels WHERE cell_line = 'X2'")[0][0] == 16_284
    assert store.query("SELECT count(*) FROM labels WHERE cell_line = 'X3'")[0][0] == 0
    # Each cell keeps its own coordinates (X1 and X2 differ for 1,445 genes in the course files).
    g1, g2 = cell_genes(store, "X1"), cell_genes(store, "X2")
    assert int(((g1["tss_start"] != g2["tss_start"]) | (g1["tss_end"] != g2["tss_end"])).sum()) == 1_445
    # Genome-wide stats are recorded per track; the feature tables are plain hive-partitioned Parquet.
    assert store.query("SELECT count(*) FROM tracks WHERE log1p_std > 0 AND kind = 'bigwig'")[0][0] == 21
    df = duckdb.sql(
        f"SELECT cell_line, count(*) AS n FROM read_parquet('{demo_store}/features/*/*/*.parquet', "
        "hive_partitioning = true) GROUP BY cell_line ORDER BY cell_line"
    ).fetchall()
    assert df == [("X1", 16_284), ("X2", 16_284), ("X3", 1_984)]
    lazy = pl.scan_parquet(f"{demo_store}/features/**/*.parquet", hive_partitioning=True)
    assert lazy.select(pl.len()).collect().item() == 16_284 * 2 + 1_984


def test_reingest_of_identical_files_is_a_noop(demo_dir: Path, store_copy: Path) -> None:
    before = snapshot(store_copy)
    outcomes = ingest_dataset(Store(store_copy), demo_dir)
    assert [o.status for o in outcomes] == ["unchanged"] * 3
    assert snapshot(store_copy) == before


def test_missing_assay_is_named_and_store_unchanged(demo_dir: Path, store_copy: Path, tmp_path: Path) -> None:
    data = linked_copy(demo_dir, tmp_path / "data", {"H3K9me3-bigwig/X3.bw"})
    before = snapshot(store_copy)
    with pytest.raises(InputError, match="missing H3K9me3 bigWig for X3"):
        ingest_dataset(Store(store_copy), data, ["X3"], require_all=True)
    assert snapshot(store_copy) == before


def test_truncated_track_mid_ingest_leaves_store_unchanged(demo_dir: Path, store_copy: Path, tmp_path: Path) -> None:
    data = linked_copy(demo_dir, tmp_path / "data", {"H3K9me3-bigwig/X3.bw", "CAGE-train/X3_test_info.tsv"})
    full = (demo_dir / "H3K9me3-bigwig" / "X3.bw").read_bytes()
    (data / "H3K9me3-bigwig" / "X3.bw").write_bytes(full[: len(full) // 2])
    info = pl.read_csv(demo_dir / "CAGE-train" / "X3_test_info.tsv", separator="\t")
    info.head(500).write_csv(data / "CAGE-train" / "X3_test_info.tsv", separator="\t")
    before = snapshot(store_copy)
    with pytest.raises(InputError, match=r"X3.bw.*truncated or corrupt"):
        ingest_dataset(Store(store_copy), data, ["X3"], replace=True)
    assert snapshot(store_copy) == before


def test_a_cell_with_other_files_is_replaced_only_when_asked(demo_dir: Path, store_copy: Path, tmp_path: Path) -> None:
    data = linked_copy(demo_dir, tmp_path / "data", {"CAGE-train/X3_test_info.tsv"})
    info = pl.read_csv(demo_dir / "CAGE-train" / "X3_test_info.tsv", separator="\t")
    info.head(700).write_csv(data / "CAGE-train" / "X3_test_info.tsv", separator="\t")
    before = snapshot(store_copy)
    with pytest.raises(ConflictError, match=r"cell line\(s\) X3 already in the store .*\(epigex ingest --replace"):
        ingest_dataset(Store(store_copy), data)  # X1 and X2 unchanged, X3 changed: nothing is done
    assert snapshot(store_copy) == before
    outcomes = ingest_dataset(Store(store_copy), data, replace=True)
    assert [(o.cell, o.status) for o in outcomes] == [("X1", "unchanged"), ("X2", "unchanged"), ("X3", "ingested")]
    assert Store(store_copy).query("SELECT n_genes FROM cell_lines WHERE name = 'X3'") == [(700,)]


@pytest.mark.parametrize("delay", [0.3, 1.2, 2.0, 2.8])
def test_killed_ingest_leaves_store_as_it_was(demo_dir: Path, store_copy: Path, tmp_path: Path, delay: float) -> None:
    data = linked_copy(demo_dir, tmp_path / "data", {"CAGE-train/X3_test_info.tsv"})
    info = pl.read_csv(demo_dir / "CAGE-train" / "X3_test_info.tsv", separator="\t")
    info.head(1000).write_csv(data / "CAGE-train" / "X3_test_info.tsv", separator="\t")
    before = snapshot(store_copy)
    env = {**os.environ, "EPIGEX_HOME": str(store_copy)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "epigex.app.cli.main", "ingest", str(data), "--cells", "X3", "--replace"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = snapshot(store_copy)
    if after != before:  # the ingest finished before the kill: it must then be complete
        assert Store(store_copy).query("SELECT n_genes FROM cell_lines WHERE name = 'X3'") == [(1000,)]
        assert len(after[1]) == len(before[1])
    else:
        assert after == before
