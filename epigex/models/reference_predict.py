"""Reference-informed predictions of one cell from the store: its references read, the reference model applied.

The references are the model's labelled training cells other than the cell itself, as they were when the model
was trained (a cell re-ingested since, with other inputs, is left out). A gene that no reference measured keeps
the marks-only stack's prediction; the others get the reference model's, with P(expressed) calibrated and the
interval fitted for how their references agree (:mod:`models.reference_fit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from epigex.models.dataset import CellData, load_cell
from epigex.models.persist import LoadedModel
from epigex.models.references import (
    CellView,
    Features,
    Prediction,
    agreement_class,
    align,
    choose_references,
    cross_predict,
    label_view,
    reference_features,
)
from epigex.models.uncertainty import Uncertainty, floor_mask, percentiles
from epigex.store.access import may_inform
from epigex.store.catalog import Store
from epigex.store.cells import cell_info
from epigex.store.errors import EpigexError
from epigex.store.types import F64


@dataclass
class ReferenceOutputs:
    """What the references add to one cell's predictions."""

    features: Features
    prediction: Prediction
    classes: np.ndarray  # per gene: "single", "agree", "disagree" or ""

    @property
    def informed(self) -> np.ndarray:
        """The genes at least one reference measured."""
        return self.features.has_ref


def _reference_cells(store: Store, model: LoadedModel, target: str) -> list[str]:
    """The model's training cells that can inform ``target``: labelled, unchanged since training, not itself, and
    readable by whoever may read ``target`` (with users: :func:`store.access.may_inform`)."""
    out = []
    allowed = may_inform(store, target)
    for c in model.record.cells:
        if c == target or not allowed(c):
            continue
        try:
            info = cell_info(store, c)
        except EpigexError:  # deleted since
            continue
        if info["labelled"] and info["input_digest"] == model.record.lineage.get(c, {}).get("input_digest"):
            out.append(c)
    return out


def _reference_data(
    store: Store, model: LoadedModel, cell: str, top: list[int]
) -> tuple[np.ndarray, np.ndarray, F64, F64]:
    """A reference's genes, top features, label ranks and expressed flags, read once per loaded model."""
    key = ("reference", cell)
    if key not in model.memo:
        data = load_cell(store, cell, model.record.feature_set, model.record.features)
        assert data.gex is not None
        y, e = label_view(data.gex)
        model.memo[key] = (data.genes, np.ascontiguousarray(data.X[:, top]), y, e)
    return model.memo[key]  # type: ignore[no-any-return,unused-ignore]


def reference_outputs(store: Store, model: LoadedModel, target: CellData) -> ReferenceOutputs | None:
    """The reference model's predictions for ``target``'s genes, or None when nothing can inform them."""
    ref_model = model.references()
    if ref_model is None:
        return None
    refs = _reference_cells(store, model, target.name)
    within = [b for s, b in model.boosters.items() if s in model.record.setups and s.startswith("within:")]
    others = [b for s, b in model.boosters.items() if s.startswith("within:") and s != f"within:{target.name}"]
    if not refs or not within or not others:
        return None
    features = model.record.features
    top = [features.index(f) for f in ref_model.top_features]
    rank, p, _ = cross_predict(others, target.X, model.record.mask_rule, model.record.threshold)  # type: ignore[arg-type]
    view = CellView(target.name, rank, p, np.ascontiguousarray(target.X[:, top]))
    views = []
    for r in refs:
        genes, top_x, y, e = _reference_data(store, model, r, top)
        views.append(
            CellView(
                r,
                np.zeros(target.genes.size),
                np.zeros(target.genes.size),
                align(genes, top_x, target.genes).astype(np.float32),
                align(genes, y, target.genes),
                align(genes, e, target.genes),
            )
        )
    f = reference_features(view, choose_references(view, views), ref_model.top_features)
    if not f.has_ref.any():
        return None
    return ReferenceOutputs(f, ref_model.predict(f), agreement_class(f))


def reference_uncertainty(model: LoadedModel) -> dict[str, Uncertainty]:
    """The reference model's calibration and intervals per agreement class (empty when it has none)."""
    ref_model = model.references()
    fitted = ref_model.uncertainty if ref_model is not None else None
    return {k: Uncertainty.from_dict(v) for k, v in (fitted or {}).items()}


def overlay(
    columns: dict[str, F64], out: ReferenceOutputs, per_class: dict[str, Uncertainty], stack_unc: Uncertainty | None
) -> list[str]:
    """Replace the informed genes' columns with the reference model's (in place); the references per gene.

    Intervals are redone for every gene, since percentiles are within the cell: the informed genes from their
    agreement class's bounds (all classes pooled for a class the validation never saw), the others from the
    stack's.
    """
    m = out.informed
    columns["gex_predicted"][m] = out.prediction.gex_predicted[m]
    columns["rank_predicted"][m] = out.prediction.rank_predicted[m]
    columns["p_expressed_raw"][m] = out.prediction.p_expressed[m]
    columns["p_expressed"][m] = out.prediction.p_expressed[m]
    gex = columns["gex_predicted"]
    pct, floor = percentiles(gex), floor_mask(gex)
    if stack_unc is not None:
        lo, hi = stack_unc.interval(pct, floor)
        columns["pct_lo"], columns["pct_hi"] = lo, hi
    for cls in ("single", "agree", "disagree"):
        unc = per_class.get(cls) or per_class.get("all")
        sel = out.classes == cls
        if unc is not None and sel.any():
            columns["p_expressed"][sel] = unc.calibrate(out.prediction.p_expressed[sel])
            lo, hi = unc.interval(pct[sel], floor[sel])
            columns["pct_lo"][sel], columns["pct_hi"][sel] = lo, hi
    return out.features.references_of()
