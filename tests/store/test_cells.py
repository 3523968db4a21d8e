"""Committing cells: a batch of cells is one transaction, all of it or none of it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from epigex.store.catalog import Store
from epigex.store.cells import CellIngest, TrackRow, commit_cell, commit_cells, feature_table


def tiny_cell(name: str, genes: list[str]) -> CellIngest:
    """A hand-made cell: one feature, one track row, the given genes (duplicates allowed, to make a bad cell)."""
    n = len(genes)
    frame = pl.DataFrame(
        {
            "gene_name": genes,
            "chrom": ["chr1"] * n,
            "gene_start": list(range(100, 100 + n)),
            "gene_end": list(range(200, 200 + n)),
            "tss_start": list(range(100, 100 + n)),
            "tss_end": list(range(101, 101 + n)),
            "strand": ["+"] * n,
            "split": ["test"] * n,
        }
    )
    return CellIngest(
        name=name,
        source="test",
        input_digest=f"digest-{name}",
        genes=frame,
        labels=None,
        tracks=[TrackRow("DNase", "bigwig", "DNase.bw", "0" * 64, 10, {"naming": "ucsc"})],
        feature_set_id="fs0",
        feature_set_json="{}",
        catalogue=[("f1", "signal", "DNase", "tss", "mean", "mean of the window", "DNase:bigwig")],
        features=pl.DataFrame({"gene_name": genes, "f1": [float(i) for i in range(n)]}),
        seconds=0.1,
    )


def feature_files(home: Path) -> list[Path]:
    return sorted((home / "features").rglob("*.parquet"))


def test_a_batch_commits_every_cell(tmp_path: Path) -> None:
    store = Store(tmp_path / "h")
    commit_cells(store, [(tiny_cell("A", ["g1", "g2"]), None), (tiny_cell("B", ["g1", "g3"]), None)])
    assert store.query("SELECT name, n_genes FROM cell_lines ORDER BY name") == [("A", 2), ("B", 2)]
    assert feature_table(store, "B")["f1"].to_list() == [0.0, 1.0]
    assert len(feature_files(store.home)) == 2


def test_a_failing_cell_rolls_back_the_whole_batch(tmp_path: Path) -> None:
    store = Store(tmp_path / "h")
    commit_cell(store, tiny_cell("A", ["g1"]))
    before = (store.query("SELECT name, input_digest FROM cell_lines"), feature_files(store.home))
    replaced_a = tiny_cell("A", ["g1", "g2"])
    replaced_a.input_digest = "new"
    bad = tiny_cell("B", ["g1", "g1"])  # a duplicate gene breaks cell_genes' primary key inside the transaction
    with pytest.raises(duckdb.ConstraintException):
        commit_cells(store, [(replaced_a, None), (bad, None)])
    assert (store.query("SELECT name, input_digest FROM cell_lines"), feature_files(store.home)) == before
