"""The stacked ensemble: mean rank × a mask from the setups' P(expressed), and the sweep that picks the mask.

Pure computation on matrices with one column per stacked setup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from epigex.models.metrics import nanmean, spearman
from epigex.store.types import F64

MaskRule = Literal["mean", "union", "intersection"]
MASK_RULES: tuple[MaskRule, ...] = ("mean", "union", "intersection")
DEFAULT_RULE: MaskRule = "mean"
DEFAULT_THRESHOLD = 0.40
THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.05, 0.951, 0.05))


def expressed_mask(p: F64, rule: MaskRule, threshold: float) -> npt.NDArray[np.bool_]:
    """Which genes count as expressed, from ``p`` (genes × setups) by ``rule`` at ``threshold``.

    ``mean``: the setups' mean probability reaches the threshold; ``union``: any setup's does;
    ``intersection``: every setup's does.
    """
    p = p.reshape(p.shape[0], -1)
    if rule == "mean":
        return np.asarray(p.mean(axis=1) >= threshold)
    if rule == "union":
        return np.asarray((p >= threshold).any(axis=1))
    if rule == "intersection":
        return np.asarray((p >= threshold).all(axis=1))
    raise ValueError(f"unknown mask rule {rule!r}")


@dataclass(frozen=True)
class Stacked:
    """The ensemble's outputs for a set of genes."""

    gex_predicted: F64
    p_expressed: F64
    rank_predicted: F64
    mask: npt.NDArray[np.bool_]


def stack(p: F64, r: F64, rule: MaskRule = DEFAULT_RULE, threshold: float = DEFAULT_THRESHOLD) -> Stacked:
    """Mean rank over the setups, zeroed where the mask says the gene is not expressed."""
    p2 = p.reshape(p.shape[0], -1)
    r2 = r.reshape(r.shape[0], -1)
    mask = expressed_mask(p2, rule, threshold)
    rank = r2.mean(axis=1)
    return Stacked(np.where(mask, rank, 0.0), p2.mean(axis=1), rank, mask)


@dataclass(frozen=True)
class SweepResult:
    """The chosen mask rule and threshold, with the whole curve they were chosen from."""

    rule: MaskRule
    threshold: float
    spearman: float
    unmasked: float
    curve: list[dict[str, float | str]]


def sweep(
    per_cell: list[tuple[F64, F64, F64]],
    rules: tuple[MaskRule, ...] = MASK_RULES,
    thresholds: tuple[float, ...] = THRESHOLDS,
) -> SweepResult:
    """Pick the rule and threshold that maximise the mean Spearman over cells of out-of-fold predictions.

    ``per_cell`` holds, per labelled cell, ``(p, r, gex)`` with ``p`` and ``r`` genes × setups. Within 0.0005
    of the best, the default (mean rule, threshold nearest 0.40) wins, so that noise does not move the mask.
    """
    curve: list[dict[str, float | str]] = []
    unmasked = float(np.mean([spearman(r.reshape(r.shape[0], -1).mean(axis=1), g) for _, r, g in per_cell]))
    for rule in rules:
        for t in thresholds:
            scores = [spearman(stack(p, r, rule, t).gex_predicted, g) for p, r, g in per_cell]
            curve.append({"rule": rule, "threshold": t, "spearman": nanmean(scores)})
    best = max(float(c["spearman"]) for c in curve)

    def preference(c: dict[str, float | str]) -> tuple[int, float]:
        return (0 if c["rule"] == DEFAULT_RULE else 1, abs(float(c["threshold"]) - DEFAULT_THRESHOLD))

    near = [c for c in curve if float(c["spearman"]) >= best - 0.0005]
    chosen = min(near, key=preference)
    return SweepResult(
        rule=chosen["rule"],  # type: ignore[arg-type]
        threshold=float(chosen["threshold"]),
        spearman=float(chosen["spearman"]),
        unmasked=unmasked,
        curve=curve,
    )
