"""Ablations on the demo data: both groups run, land in the store and reach the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from epigex.app.services.ablate import (
    NEIGHBOURHOOD_FAMILIES,
    family_note,
    kinds_note,
    run_ablation,
    window_name,
    window_note,
)
from epigex.models.persist import load_model
from epigex.models.report import render_report
from epigex.store.ablations import latest_ablation
from epigex.store.catalog import Store
from epigex.store.errors import InputError


def test_notes_by_hand() -> None:
    rows = [
        {"variant": "bigWig + BED", "spearman_masked": 0.80},
        {"variant": "bigWig only", "spearman_masked": 0.75},
        {"variant": "BED only", "spearman_masked": 0.70},
    ]
    assert kinds_note(rows).startswith("as in the course recipe")
    rows[1]["spearman_masked"] = 0.801
    assert kinds_note(rows).startswith("both kinds together score as well")
    rows[1]["spearman_masked"] = 0.85
    assert kinds_note(rows).startswith("unlike the course recipe")
    w = [
        {"variant": "one-sided 100 bp", "side": "one-sided", "size": 100, "spearman_masked": 0.7},
        {"variant": "symmetric 500 bp", "side": "symmetric", "size": 500, "spearman_masked": 0.72},
    ]
    assert window_note(w) == "best window: symmetric 500 bp (0.720); the recipe's default one-sided 100 bp: 0.700."
    assert window_name("tss_onesided", 50) == "o50"
    f = [{"variant": "every family", "spearman_masked": 0.8}, {"variant": "without x", "spearman_masked": 0.79}]
    assert family_note(f) == "every family 0.800; without x -0.010 (negative: the family helps)."


@pytest.mark.slow
def test_ablation_runs_and_reaches_the_report(trained_copy: Path, demo_dir: Path) -> None:
    store = Store(trained_copy)
    result = run_ablation(store, demo_dir, ["X1", "X2"], sizes=(2000,), threads=2)
    kinds, windows, families = result["results"]
    assert [r["variant"] for r in kinds["rows"]] == ["bigWig + BED", "bigWig only", "BED only"]
    assert [r["variant"] for r in windows["rows"]] == ["one-sided 2000 bp", "symmetric 2000 bp"]
    assert [r["variant"] for r in families["rows"]] == [
        "every family",
        *[f"without {f}" for f in NEIGHBOURHOOD_FAMILIES],
        "without all of the neighbourhood",
    ]
    assert families["rows"][0]["spearman_masked"] == kinds["rows"][0]["spearman_masked"]
    for row in kinds["rows"] + windows["rows"] + families["rows"]:
        assert 0.3 < row["spearman_masked"] < 1.0
    assert latest_ablation(store)["id"] == result["id"]  # type: ignore[index]
    page = render_report(store, load_model(store))
    assert "one-sided 2000 bp" in page
    assert "without distal_assigned" in page
    assert "No ablation run yet" not in page
    with pytest.raises(InputError, match="no labels"):
        run_ablation(store, demo_dir, ["X3"], sizes=(100,))
