"""Validation tables from out-of-fold predictions: per setup, cell and chromosome; the stack; transfer.

Pure computation. Masked Spearman zeroes a gene's predicted rank where P(expressed) is below the chosen
threshold (the stack uses the chosen mask rule over its setups); Pearson compares the masked prediction with
``log1p(gex)``; AUC scores stage 1's P(expressed) against ``gex > 0``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from epigex.models.dataset import CellData
from epigex.models.folds import chrom_sort_key
from epigex.models.metrics import nanmean, pearson, roc_auc, spearman
from epigex.models.stacking import RECIPE, Combiner, SweepResult, stack
from epigex.store.types import F64, Mask


def _scores(p: F64, r: F64, gex: F64, masked_pred: F64) -> dict[str, float]:
    return {
        "n": int(gex.size),
        "spearman_masked": spearman(masked_pred, gex),
        "spearman_unmasked": spearman(r.reshape(r.shape[0], -1).mean(axis=1), gex),
        "pearson": pearson(masked_pred, np.log1p(gex)),
        "auc": roc_auc(p.reshape(p.shape[0], -1).mean(axis=1), gex > 0),
    }


def setup_kind(setup: str, cell: str) -> tuple[str, str]:
    """The kind of a (setup, evaluated cell) pair and its display name: within, pooled or cross."""
    if setup == "pooled":
        return "pooled", "pooled"
    source = setup.removeprefix("within:")
    if source == cell:
        return "within", setup
    return "cross", f"cross:{source}->{cell}"


def validation_tables(
    cells: dict[str, CellData],
    oof: dict[tuple[str, str], tuple[F64, F64]],
    evaluated: dict[str, Mask],
    stacked: list[str],
    chosen: SweepResult,
    combiner: Combiner = RECIPE,
) -> dict[str, Any]:
    """Summary, per-chromosome, threshold-curve, mask-rule and transfer tables (lists of JSON-able rows)."""
    summary: list[dict[str, Any]] = []
    per_chrom: list[dict[str, Any]] = []
    for c, cd in cells.items():
        rows = evaluated[c]
        assert cd.gex is not None
        gex, chrom = cd.gex[rows], cd.chrom[rows]
        entries: list[tuple[str, str, F64, F64, F64]] = []
        for s in stacked:
            kind, name = setup_kind(s, c)
            p, r = oof[(s, c)][0][rows], oof[(s, c)][1][rows]
            entries.append((kind, name, p, r, np.where(p >= chosen.threshold, r, 0.0)))
        P = np.column_stack([e[2] for e in entries])
        R = np.column_stack([e[3] for e in entries])
        entries.append(("stack", "stack", P, R, stack(P, R, chosen.rule, chosen.threshold, combiner).gex_predicted))
        for kind, name, p, r, pred in entries:
            base = {"setup": name, "kind": kind, "cell": c}
            by_chrom = []
            for ch in sorted(set(chrom.tolist()), key=chrom_sort_key):
                m = chrom == ch
                row = base | {"chrom": ch} | _scores(p[m], r[m], gex[m], pred[m])
                per_chrom.append(row)
                by_chrom.append(row["spearman_masked"])
            summary.append(base | _scores(p, r, gex, pred) | {"mean_chrom_spearman_masked": nanmean(by_chrom)})
    rules: dict[str, dict[str, Any]] = {}
    for row in chosen.curve:
        rule = str(row["rule"])
        if rule not in rules or float(row["spearman"]) > float(rules[rule]["spearman"]):
            rules[rule] = {"rule": rule, "best_threshold": row["threshold"], "spearman": float(row["spearman"])}
    transfer = [
        {"kind": k, "spearman_masked": nanmean([r["spearman_masked"] for r in summary if r["kind"] == k])}
        for k in ("within", "pooled", "cross", "stack")
        if any(r["kind"] == k for r in summary)
    ]
    return {
        "summary": summary,
        "per_chrom": per_chrom,
        "threshold_curve": chosen.curve,
        "mask_rules": list(rules.values()),
        "chosen": {
            "rule": chosen.rule,
            "threshold": chosen.threshold,
            "spearman_masked": chosen.spearman,
            "spearman_unmasked": chosen.unmasked,
            "combiner": combiner.to_dict(),
        },
        "transfer": transfer,
    }
