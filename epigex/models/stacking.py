"""The stacked ensemble: the setups' ranks and P(expressed) combined into one prediction, and the choice of how.

Pure computation on matrices with one column per stacked setup. The course recipe averages the setups' ranks and
zeroes them where the mean P(expressed) is below 0.40 (a hard mask; the rule and threshold are swept). Beyond it
(:class:`Combiner`): non-negative setup weights fitted on out-of-fold predictions (NNLS of the rank target on the
setups' ranks, and of the expressed target on their probabilities), and a soft combination of the stages,
``P(expressed) × rank`` — the expected normalised rank when a silent gene ranks 0. :func:`choose` scores every
candidate on the out-of-fold predictions and keeps the recipe unless another beats it by more than noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from epigex.models.metrics import nanmean, spearman
from epigex.store.types import F64, Mask

MaskRule = Literal["mean", "union", "intersection"]
Combine = Literal["mask", "soft"]
MASK_RULES: tuple[MaskRule, ...] = ("mean", "union", "intersection")
DEFAULT_RULE: MaskRule = "mean"
DEFAULT_THRESHOLD = 0.40
THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.05, 0.951, 0.05))
MARGIN = 0.0005  # a candidate must beat the recipe by more than this on the out-of-fold predictions


@dataclass(frozen=True)
class Combiner:
    """How the setups' outputs are combined: setup weights (None: equal) and the stages (hard mask or soft)."""

    combine: Combine = "mask"
    weights: tuple[float, ...] | None = None
    p_weights: tuple[float, ...] | None = None

    def setup_weights(self, which: Literal["rank", "p"], n_setups: int) -> F64 | None:
        """The normalised weights of the ``n_setups`` setups for ranks or probabilities; None when equal."""
        w = self.weights if which == "rank" else self.p_weights
        if w is None or len(w) != n_setups:
            return None
        wa = np.asarray(w, dtype=np.float64)
        return wa / wa.sum()

    def mean(self, x: F64, which: Literal["rank", "p"]) -> F64:
        """The weighted mean over setups of ``x`` (genes × setups)."""
        w = self.setup_weights(which, x.shape[1])
        if w is None:
            return np.asarray(x.mean(axis=1))
        return np.asarray((x * w[None, :]).sum(axis=1))  # not ``@``: thread-independent rounding

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able values."""
        return {
            "combine": self.combine,
            "weights": None if self.weights is None else list(self.weights),
            "p_weights": None if self.p_weights is None else list(self.p_weights),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, object] | None) -> Combiner:
        """Read :meth:`to_dict`'s output; the recipe's combiner for models saved without one."""
        if not raw:
            return RECIPE

        def tup(v: object) -> tuple[float, ...] | None:
            return None if v is None else tuple(float(x) for x in v)  # type: ignore[attr-defined]

        combine = str(raw.get("combine", "mask"))
        if combine not in ("mask", "soft"):
            raise ValueError(f"unknown stage combination {combine!r}")
        return cls(combine, tup(raw.get("weights")), tup(raw.get("p_weights")))  # type: ignore[arg-type]

    def describe(self) -> str:
        """One line for people: the stage combination and whether the weights are learned."""
        how = "hard mask" if self.combine == "mask" else "soft: P(expressed) × rank"
        if self.weights is None:
            return f"{how}, equal setup weights"
        return f"{how}, learned setup weights " + "/".join(f"{w:.2f}" for w in self.weights)


RECIPE = Combiner()


def expressed_mask(p: F64, rule: MaskRule, threshold: float, combiner: Combiner = RECIPE) -> Mask:
    """Which genes count as expressed, from ``p`` (genes × setups) by ``rule`` at ``threshold``.

    ``mean``: the setups' (weighted) mean probability reaches the threshold; ``union``: any setup's does;
    ``intersection``: every setup's does.
    """
    p = p.reshape(p.shape[0], -1)
    if rule == "mean":
        return np.asarray(combiner.mean(p, "p") >= threshold)
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
    mask: Mask


def stack(
    p: F64,
    r: F64,
    rule: MaskRule = DEFAULT_RULE,
    threshold: float = DEFAULT_THRESHOLD,
    combiner: Combiner = RECIPE,
) -> Stacked:
    """The (weighted) mean rank over the setups, zeroed where the mask says the gene is not expressed — or, with a
    soft combiner, multiplied by the (weighted) mean P(expressed)."""
    p2 = p.reshape(p.shape[0], -1)
    r2 = r.reshape(r.shape[0], -1)
    mask = expressed_mask(p2, rule, threshold, combiner)
    rank = combiner.mean(r2, "rank")
    prob = combiner.mean(p2, "p")
    gex = np.where(mask, rank, 0.0) if combiner.combine == "mask" else prob * rank
    return Stacked(gex, prob, rank, mask)


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
    combiner: Combiner = RECIPE,
) -> SweepResult:
    """Pick the rule and threshold that maximise the mean Spearman over cells of out-of-fold predictions.

    ``per_cell`` holds, per labelled cell, ``(p, r, gex)`` with ``p`` and ``r`` genes × setups. Within 0.0005
    of the best, the default (mean rule, threshold nearest 0.40) wins, so that noise does not move the mask.
    """
    curve: list[dict[str, float | str]] = []
    unmasked = float(np.mean([spearman(combiner.mean(r.reshape(r.shape[0], -1), "rank"), g) for _, r, g in per_cell]))
    for rule in rules:
        for t in thresholds:
            scores = [spearman(stack(p, r, rule, t, combiner).gex_predicted, g) for p, r, g in per_cell]
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


def nnls_weights(x: F64, y: F64) -> tuple[float, ...] | None:
    """Non-negative least-squares weights of the columns of ``x`` for ``y``, summing to 1 (None if all vanish)."""
    from scipy.optimize import nnls  # imported here: scipy.optimize is slow to import at CLI start

    ok = np.isfinite(y) & np.isfinite(x).all(axis=1)
    if int(ok.sum()) < 10 or x.shape[1] < 2:
        return None
    w, _ = nnls(np.ascontiguousarray(x[ok]), y[ok])
    if not np.isfinite(w).all() or float(w.sum()) <= 0:
        return None
    return tuple(round(float(v), 6) for v in w / w.sum())


@dataclass(frozen=True)
class Choice:
    """The chosen mask sweep and combiner, with every candidate's out-of-fold score."""

    sweep: SweepResult
    combiner: Combiner
    candidates: list[dict[str, float | str]]
    recipe: SweepResult


def choose(per_cell: list[tuple[F64, F64, F64]], rank_targets: list[F64], expressed: list[F64]) -> Choice:
    """Score the recipe and the learned/soft combiners on out-of-fold predictions; keep the recipe unless beaten.

    ``per_cell`` holds ``(p, r, gex)`` per cell as in :func:`sweep`; ``rank_targets`` and ``expressed`` the
    matching stage targets, which the setup weights are fitted to (one fit over every cell's rows). A candidate
    replaces the recipe only when its mean Spearman exceeds the recipe's by more than ``MARGIN``.
    """
    recipe = sweep(per_cell)
    P = np.concatenate([p.reshape(p.shape[0], -1) for p, _, _ in per_cell])
    R = np.concatenate([r.reshape(r.shape[0], -1) for _, r, _ in per_cell])
    w_r = nnls_weights(R, np.concatenate(rank_targets))
    w_p = nnls_weights(P, np.concatenate(expressed).astype(np.float64))
    options: list[tuple[str, Combiner]] = [("soft, equal weights", Combiner("soft"))]
    if w_r is not None or w_p is not None:
        options += [
            ("mask, learned weights", Combiner("mask", w_r, w_p)),
            ("soft, learned weights", Combiner("soft", w_r, w_p)),
        ]
    candidates: list[dict[str, float | str]] = [
        {"candidate": "recipe: mask, equal weights", "spearman": recipe.spearman}
    ]
    best: tuple[float, SweepResult, Combiner] = (recipe.spearman + MARGIN, recipe, RECIPE)
    for label, comb in options:
        if comb.combine == "mask":
            res = sweep(per_cell, combiner=comb)
        else:
            scores = [
                spearman(stack(p, r, recipe.rule, recipe.threshold, comb).gex_predicted, g) for p, r, g in per_cell
            ]
            res = SweepResult(recipe.rule, recipe.threshold, nanmean(scores), recipe.unmasked, recipe.curve)
        candidates.append({"candidate": label, "spearman": res.spearman})
        if res.spearman > best[0]:
            best = (res.spearman, res, comb)
    return Choice(best[1], best[2], candidates, recipe)
