"""Report figures as embedded PNGs (matplotlib, Agg backend): one function per figure, tables of rows in."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from epigex.models.folds import chrom_sort_key
from epigex.store.types import F64

COLORS = {"within": "#1f77b4", "pooled": "#2ca02c", "cross": "#ff7f0e", "stack": "#000000"}


def to_data_uri(fig: Figure) -> str:
    """PNG bytes of a figure as a ``data:`` URI; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def per_chrom_figure(rows: Sequence[dict[str, Any]], cell: str) -> str:
    """Spearman per held-out chromosome for every setup evaluated on ``cell``: masked solid, unmasked dashed."""
    rows = [r for r in rows if r["cell"] == cell]
    chroms = sorted({r["chrom"] for r in rows}, key=chrom_sort_key)
    x = np.arange(len(chroms))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(chroms) + 2), 3.6))
    setups = list(dict.fromkeys(r["setup"] for r in rows))
    # A few chromosomes (the quick profile's two val chromosomes) are separate categories: bars, not a line.
    as_bars = len(chroms) <= 3
    width = 0.8 / max(1, len(setups))
    for i, setup in enumerate(setups):
        sub = {r["chrom"]: r for r in rows if r["setup"] == setup}
        kind = next(iter(sub.values()))["kind"]
        color = COLORS.get(kind, "#7f7f7f")
        masked = [sub[c]["spearman_masked"] if c in sub else np.nan for c in chroms]
        unmasked = [sub[c]["spearman_unmasked"] if c in sub else np.nan for c in chroms]
        if as_bars:
            offset = x - 0.4 + width * (i + 0.5)
            ax.bar(offset, masked, width * 0.9, color=color, alpha=1.0 if kind == "stack" else 0.6, label=setup)
            ax.scatter(offset, unmasked, marker="_", color="black", s=60, zorder=3)
            continue
        lw = 2.2 if kind == "stack" else 1.2
        ax.plot(x, masked, "-o", color=color, lw=lw, ms=3, label=f"{setup} masked")
        ax.plot(x, unmasked, "--", color=color, lw=0.9, alpha=0.7, label=f"{setup} unmasked")
    if as_bars:
        ax.set_ylim(0, 1)
        ax.set_title(f"{cell}: Spearman per held-out chromosome (bars masked, ticks unmasked)")
    ax.set_xticks(x, [c.removeprefix("chr") for c in chroms])
    ax.set_xlabel("held-out chromosome")
    ax.set_ylabel("Spearman")
    if not as_bars:
        ax.set_title(f"{cell}: Spearman per held-out chromosome")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    return to_data_uri(fig)


def threshold_figure(curve: Sequence[dict[str, Any]], chosen: dict[str, Any]) -> str:
    """Out-of-fold Spearman of the stack against the mask threshold, per mask rule; the choice marked."""
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    for rule in dict.fromkeys(r["rule"] for r in curve):
        pts = [(r["threshold"], r["spearman"]) for r in curve if r["rule"] == rule]
        ax.plot(*zip(*pts, strict=True), "-o", ms=3, label=rule)
    ax.axhline(chosen["spearman_unmasked"], color="grey", ls=":", label="no mask")
    ax.plot([chosen["threshold"]], [chosen["spearman_masked"]], "k*", ms=12, label="chosen")
    ax.set_xlabel("threshold on P(expressed)")
    ax.set_ylabel("Spearman (out of fold)")
    ax.set_title("mask threshold and rule")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return to_data_uri(fig)


def bars_figure(labels: Sequence[str], values: Sequence[float], title: str, kinds: Sequence[str] = ()) -> str:
    """A labelled bar chart of Spearman values."""
    fig, ax = plt.subplots(figsize=(max(4.5, 0.7 * len(labels) + 1.5), 3.2))
    colors = [COLORS.get(k, "#7f7f7f") for k in kinds] if kinds else None
    ax.bar(range(len(labels)), values, color=colors)
    for i, v in enumerate(values):
        ax.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    finite = [v for v in values if v == v]
    lo = min(finite) if finite else 0.0
    ax.set_ylim(max(0.0, lo - 0.1), 1.0)
    ax.set_ylabel("Spearman")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    return to_data_uri(fig)


def shap_summary_figure(contrib: F64, values: F64, names: list[str], title: str, top: int = 15) -> str:
    """A beeswarm-style SHAP summary: one row per top feature, dots coloured by the feature's value rank."""
    imp = np.abs(contrib).mean(axis=0)
    order = np.argsort(-imp, kind="stable")[:top][::-1]
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(7.0, 0.32 * len(order) + 1.2))
    for row, j in enumerate(order):
        v = values[:, j]
        finite = np.isfinite(v)
        rank = np.full(v.size, 0.5)
        if finite.sum() > 1:
            rank[finite] = np.argsort(np.argsort(v[finite])) / (finite.sum() - 1)
        y = row + rng.uniform(-0.3, 0.3, v.size)
        ax.scatter(contrib[:, j], y, c=rank, cmap="coolwarm", s=4, alpha=0.6, vmin=0, vmax=1, linewidths=0)
    ax.set_yticks(range(len(order)), [names[j] for j in order], fontsize=8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("SHAP value (raw-score units); colour: feature value, low (blue) to high (red)")
    ax.set_title(title)
    return to_data_uri(fig)


def reliability_figure(raw: Sequence[dict[str, Any]], calibrated: Sequence[dict[str, Any]]) -> str:
    """Reliability curves of P(expressed) before and after calibration (observed frequency against prediction)."""
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfect")
    for rows, label, style in ((raw, "raw stack mean", "--o"), (calibrated, "calibrated", "-o")):
        ax.plot([r["p_mean"] for r in rows], [r["observed"] for r in rows], style, ms=4, label=label)
    ax.set_xlabel("predicted P(expressed)")
    ax.set_ylabel("observed share expressed")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("calibration (out-of-fold)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return to_data_uri(fig)
