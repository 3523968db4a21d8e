"""A setup's rows binned once, so that every fold's training and early-stopping rows are cheap subsets.

LightGBM spends a noticeable share of a small fit turning float features into histogram bins (finding each
feature's bin edges, then coding every value). A training fits the same rows many times: every fold of every
stage of a setup draws its rows from the same cells. :class:`BinnedRows` bins a setup's cells once (all their
genes, whichever fold or stage) and hands out subsets that share those bins; the labels of a stage are set on
each subset. The bins see the held-out genes' features but never a label, as binning is unsupervised; and as
they are a function of the setup's rows only, a Dask task that bins the same rows gets the same boosters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from epigex.store.types import F32, Mask

I32 = npt.NDArray[np.int32]


@dataclass(frozen=True)
class BinnedRows:
    """The rows of ``cells`` (each cell's genes in order, cells in order) as one binned LightGBM Dataset."""

    dataset: lgb.Dataset
    cells: tuple[str, ...]
    offsets: dict[str, int]
    n_rows: int

    @classmethod
    def build(cls, X: dict[str, F32], cells: tuple[str, ...], params: dict[str, Any], names: list[str]) -> BinnedRows:
        """Bin the rows of ``cells`` (matrices from ``X``) with ``params`` (a stage's; both stages bin alike)."""
        offsets: dict[str, int] = {}
        n = 0
        for c in cells:
            offsets[c] = n
            n += int(X[c].shape[0])
        data = np.concatenate([X[c] for c in cells]) if len(cells) > 1 else X[cells[0]]
        ds = lgb.Dataset(data, label=np.zeros(n), feature_name=names, free_raw_data=True, params=dict(params))
        ds.construct()
        return cls(ds, tuple(cells), offsets, n)

    def indices(self, masks: dict[str, Mask]) -> I32:
        """Row numbers of the rows ``masks`` selects (one mask per cell of the setup), ascending."""
        return np.concatenate([np.flatnonzero(masks[c]).astype(np.int32) + self.offsets[c] for c in self.cells])

    def rows(self, masks: dict[str, Mask], y: dict[str, npt.NDArray[Any]]) -> lgb.Dataset:
        """The selected rows as a constructed Dataset of the parent's bins, labelled from ``y`` (per cell)."""
        idx = self.indices(masks)
        sub = self.dataset.subset(idx.tolist(), params=self.dataset.params)
        sub.construct()
        sub.set_label(np.concatenate([np.asarray(y[c])[masks[c]] for c in self.cells]).astype(np.float64))
        return sub
