"""Training and prediction matrices read from the store: features, chromosomes, splits and labels per cell."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from epigex.store.catalog import Store
from epigex.store.cells import cell_feature_sets, cell_genes, cell_info, cell_labels, feature_names, feature_table
from epigex.store.errors import ConflictError, InputError
from epigex.store.types import F32, F64, Mask, Strs

TRAIN_SPLITS = ("train", "val")


@dataclass
class CellData:
    """One cell's genes (in its info-file order) with their feature matrix, and labels when it has them."""

    name: str
    genes: Strs
    chrom: Strs
    split: Strs
    X: F32
    gex: F64 | None
    input_digest: str

    def subset(self, mask: Mask) -> CellData:
        """The rows selected by ``mask``."""
        return CellData(
            self.name,
            self.genes[mask],
            self.chrom[mask],
            self.split[mask],
            self.X[mask],
            None if self.gex is None else self.gex[mask],
            self.input_digest,
        )


def shared_feature_set(store: Store, cells: list[str]) -> str:
    """The newest feature set that every one of ``cells`` has a feature table for."""
    per_cell = {c: cell_feature_sets(store, c) for c in cells}
    first = per_cell[cells[0]]
    for fs in first:
        if all(fs in v for v in per_cell.values()):
            return fs
    raise ConflictError(
        f"cells {', '.join(cells)} share no feature set; re-ingest them with the same feature definition"
    )


def load_cell(store: Store, cell: str, feature_set: str, features: list[str] | None = None) -> CellData:
    """A cell's genes, features (``features`` or the whole set, in that order) and labels if it has them."""
    info = cell_info(store, cell)
    genes = cell_genes(store, cell)
    table = feature_table(store, cell, feature_set, features)
    names = features if features is not None else feature_names(store, feature_set)
    missing = [f for f in names if f not in table.columns]
    if missing:
        raise ConflictError(f"cell line {cell!r} lacks features {missing[:3]} of feature set {feature_set}")
    frame = genes.select("gene_name", "chrom", "split").join(table, on="gene_name", how="left", maintain_order="left")
    gex: F64 | None = None
    if info["labelled"]:
        labels = cell_labels(store, cell).select("gene_name", "gex")
        frame = frame.join(labels, on="gene_name", how="left", maintain_order="left")
        gex = frame["gex"].to_numpy().astype(np.float64)
    X = frame.select(names).cast(pl.Float32).to_numpy()
    return CellData(
        name=cell,
        genes=frame["gene_name"].to_numpy().astype(str),
        chrom=frame["chrom"].to_numpy().astype(str),
        split=frame["split"].to_numpy().astype(str),
        X=np.ascontiguousarray(X, dtype=np.float32),
        gex=gex,
        input_digest=str(info["input_digest"]),
    )


def load_training_cell(store: Store, cell: str, feature_set: str, features: list[str] | None = None) -> CellData:
    """A labelled cell's train + val genes (``features`` or the whole set), or a clear error without labels."""
    info = cell_info(store, cell)
    if not info["labelled"]:
        raise InputError(
            f"cell line {cell!r} has no labels ({cell}_train_y.tsv / {cell}_val_y.tsv); only labelled cells can "
            "train a model"
        )
    data = load_cell(store, cell, feature_set, features)
    assert data.gex is not None
    keep = np.isin(data.split, TRAIN_SPLITS) & np.isfinite(data.gex)
    if int(keep.sum()) < 50:
        raise InputError(f"cell line {cell!r} has only {int(keep.sum())} labelled genes; training needs at least 50")
    return data.subset(keep)
