"""Validation tables from out-of-fold predictions: two cells, two setups and the stack, computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from epigex.models.dataset import CellData
from epigex.models.stacking import Combiner, SweepResult
from epigex.models.validation import setup_kind, validation_tables


@pytest.mark.parametrize(
    ("setup", "cell", "expected"),
    [
        ("pooled", "X1", ("pooled", "pooled")),
        ("within:X1", "X1", ("within", "within:X1")),
        ("within:X1", "X2", ("cross", "cross:X1->X2")),
        ("X2", "X2", ("within", "X2")),
    ],
)
def test_setup_kind(setup: str, cell: str, expected: tuple[str, str]) -> None:
    assert setup_kind(setup, cell) == expected


def cell(name: str, gex: list[float], chrom: list[str]) -> CellData:
    n = len(gex)
    return CellData(
        name,
        np.array([f"{name}{i}" for i in range(n)]),
        np.array(chrom),
        np.full(n, "train"),
        np.zeros((n, 1), dtype=np.float32),
        np.array(gex, dtype=np.float64),
        "digest",
    )


def a(*xs: float) -> np.ndarray:
    return np.array(xs, dtype=np.float64)


# Cell A: 7 evaluated genes (chr10: 0-3, chr2: 4-6) and an 8th left out of the evaluation.
GEX_A = [0.0, 1, 2, 3, 4, 5, 6, 100]
CELLS = {
    "A": cell("A", GEX_A, ["chr10"] * 4 + ["chr2"] * 4),
    "B": cell("B", [1.0, 2, 3], ["chr1"] * 3),
}
EVALUATED = {"A": np.array([True] * 7 + [False]), "B": np.ones(3, dtype=bool)}
OOF = {
    # within:A on A: confident and in order; pooled on A: below the threshold for genes 0-2, same order
    ("within:A", "A"): (np.full(8, 0.8), a(*GEX_A) / 10),
    ("pooled", "A"): (a(0.1, 0.1, 0.3, 0.6, 0.7, 0.8, 0.9, 0.9), a(*GEX_A) / 20),
    # on B: within:A (a cross prediction) in order, pooled in reverse order
    ("within:A", "B"): (np.full(3, 0.9), a(0.1, 0.2, 0.3)),
    ("pooled", "B"): (np.full(3, 0.9), a(0.3, 0.2, 0.1)),
}
CURVE: list[dict[str, float | str]] = [
    {"rule": "mean", "threshold": 0.3, "spearman": 0.5},
    {"rule": "mean", "threshold": 0.5, "spearman": 0.7},
    {"rule": "union", "threshold": 0.2, "spearman": 0.6},
    {"rule": "union", "threshold": 0.4, "spearman": 0.6},
]
CHOSEN = SweepResult(rule="mean", threshold=0.5, spearman=0.7, unmasked=0.65, curve=CURVE)


def tables(combiner: Combiner | None = None) -> dict:
    kw = {} if combiner is None else {"combiner": combiner}
    return validation_tables(CELLS, OOF, EVALUATED, ["within:A", "pooled"], CHOSEN, **kw)


def by(rows: list[dict], **match: str) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, match
    return found[0]


def test_summary_rows_by_hand() -> None:
    s = tables()["summary"]
    assert [(r["cell"], r["kind"], r["setup"]) for r in s] == [
        ("A", "within", "within:A"),
        ("A", "pooled", "pooled"),
        ("A", "stack", "stack"),
        ("B", "cross", "cross:A->B"),
        ("B", "pooled", "pooled"),
        ("B", "stack", "stack"),
    ]
    assert [r["n"] for r in s] == [7, 7, 7, 3, 3, 3]  # the unevaluated gene is left out
    within, pooled, stack = s[:3]
    assert within["spearman_masked"] == pytest.approx(1.0)
    # pooled masks genes 0-2 (p < 0.5): ranks (2, 2, 2, 4, 5, 6, 7) against 1..7
    assert pooled["spearman_masked"] == pytest.approx(math.sqrt(26 / 28))
    assert pooled["spearman_unmasked"] == pytest.approx(1.0)
    # stack: mean p (0.45, 0.45, 0.55, ...) masks genes 0-1: ranks (1.5, 1.5, 3, ..., 7)
    assert stack["spearman_masked"] == pytest.approx(math.sqrt(27.5 / 28))
    # AUC of gex > 0: constant p ties → 0.5; pooled/stack: the one silent gene ties with one expressed one
    assert within["auc"] == pytest.approx(0.5)
    assert pooled["auc"] == pytest.approx(11 / 12)
    assert stack["auc"] == pytest.approx(11 / 12)
    masked = np.where(OOF[("pooled", "A")][0][:7] >= 0.5, OOF[("pooled", "A")][1][:7], 0.0)
    assert pooled["pearson"] == pytest.approx(np.corrcoef(masked, np.log1p(GEX_A[:7]))[0, 1])
    cross, pooled_b, stack_b = s[3:]
    assert cross["spearman_masked"] == pytest.approx(1.0)
    assert pooled_b["spearman_masked"] == pytest.approx(-1.0)
    assert math.isnan(stack_b["spearman_masked"])  # the two setups cancel: a constant prediction
    assert math.isnan(cross["auc"])  # every gene of B is expressed: one class


def test_per_chromosome_rows_in_chromosome_order() -> None:
    t = tables()
    rows = [r for r in t["per_chrom"] if r["cell"] == "A" and r["setup"] == "pooled"]
    assert [(r["chrom"], r["n"]) for r in rows] == [("chr2", 3), ("chr10", 4)]
    # chr10: masked (0, 0, 0, 0.15) against 0..3 → ranks (2, 2, 2, 4) against 1..4
    assert rows[1]["spearman_masked"] == pytest.approx(math.sqrt(3 / 5))
    assert rows[0]["spearman_masked"] == pytest.approx(1.0)
    assert math.isnan(rows[0]["auc"])  # chr2 genes are all expressed
    pooled = by(t["summary"], cell="A", setup="pooled")
    assert pooled["mean_chrom_spearman_masked"] == pytest.approx((1 + math.sqrt(3 / 5)) / 2)
    assert len(t["per_chrom"]) == 3 * 2 + 3 * 1
    assert math.isnan(by(t["summary"], cell="B", setup="stack")["mean_chrom_spearman_masked"])


def test_mask_rules_transfer_and_chosen() -> None:
    t = tables()
    assert t["threshold_curve"] is CURVE
    assert t["mask_rules"] == [
        {"rule": "mean", "best_threshold": 0.5, "spearman": 0.7},
        {"rule": "union", "best_threshold": 0.2, "spearman": 0.6},  # a tie keeps the first
    ]
    transfer = {r["kind"]: r["spearman_masked"] for r in t["transfer"]}
    assert list(transfer) == ["within", "pooled", "cross", "stack"]
    assert transfer["within"] == pytest.approx(1.0)
    assert transfer["pooled"] == pytest.approx((math.sqrt(26 / 28) - 1.0) / 2)
    assert transfer["cross"] == pytest.approx(1.0)
    assert transfer["stack"] == pytest.approx(math.sqrt(27.5 / 28))  # B's NaN is skipped
    assert t["chosen"] == {
        "rule": "mean",
        "threshold": 0.5,
        "spearman_masked": 0.7,
        "spearman_unmasked": 0.65,
        "combiner": {"combine": "mask", "weights": None, "p_weights": None},
    }


def test_soft_combiner_multiplies_instead_of_masking() -> None:
    t = tables(Combiner("soft"))
    # P(expressed) x rank keeps every gene of A in order: nothing is zeroed
    assert by(t["summary"], cell="A", setup="stack")["spearman_masked"] == pytest.approx(1.0)
    assert t["chosen"]["combiner"]["combine"] == "soft"
    # the setups' own rows still use the chosen hard threshold
    assert by(t["summary"], cell="A", setup="pooled")["spearman_masked"] == pytest.approx(math.sqrt(26 / 28))


def test_only_kinds_present_are_in_the_transfer_table() -> None:
    t = validation_tables({"A": CELLS["A"]}, OOF, {"A": EVALUATED["A"]}, ["within:A"], CHOSEN)
    assert [r["kind"] for r in t["transfer"]] == ["within", "stack"]
    assert [r["kind"] for r in t["summary"]] == ["within", "stack"]
