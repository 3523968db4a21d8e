"""CLI tables: every header, row and note, read back from the rich objects and from the rendered text."""

from __future__ import annotations

import math
from typing import Any

import pytest
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from epigex.app.cli.render import (
    _f,
    ablation_tables,
    explanation_tables,
    qc_table,
    qc_verdict_table,
    reference_table,
    score_table,
    timing_line,
    validation_table,
)
from epigex.ingest.committer import IngestOutcome
from epigex.ingest.featureset import ASSAYS
from epigex.store.registry import ModelRecord


def rows(t: Table) -> list[list[str]]:
    cols = [[c.plain if isinstance(c, Text) else str(c) for c in col._cells] for col in t.columns]
    return [list(r) for r in zip(*cols, strict=True)]


def parts(g: Group, *kinds: type) -> list[Any]:
    """The group's renderables, checked to be of ``kinds`` in order."""
    items: list[Any] = list(g.renderables)
    assert [type(x) for x in items] == list(kinds)
    return items


def headers(t: Table) -> list[str]:
    return [str(c.header) for c in t.columns]


def text(renderable: Any) -> str:
    console = Console(width=300)
    with console.capture() as cap:
        console.print(renderable)
    return cap.get()


def record(**kw: Any) -> ModelRecord:
    base: dict[str, Any] = {
        "id": "m-0001",
        "created_at": None,
        "profile": "quick",
        "seed": 0,
        "threads": 1,
        "feature_set": "fs",
        "cells": ["X1", "X2"],
        "setups": ["pooled"],
        "lineage": {},
        "params": {"profile": {"validation": "split"}},
        "features": ["a", "b", "c"],
        "selection": [],
        "mask_rule": "mean",
        "threshold": 0.4,
        "metrics": {},
        "timings": {"features": 1.25, "fit": 10.0, "total": 11.5},
        "n_boosters": 6,
        "content_digest": "d",
    }
    return ModelRecord(**(base | kw))


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.12345, "0.123"), (1.0, "1.000"), (-0.5, "-0.500"), (math.nan, "-"), (None, "-"), (3, "-"), ("x", "-")],
)
def test_number_format(value: object, shown: str) -> None:
    assert _f(value) == shown


def outcome(cell: str, status: str, ws: dict[str, int], **qc: Any) -> IngestOutcome:
    return IngestOutcome(cell, status, 12_345, 3.14159, {"genes_without_signal": ws, **qc})


def test_qc_table_rows_and_signal_columns_of_fresh_cells() -> None:
    outs = [
        outcome(
            "X1",
            "ingested",
            {"DNase/bigwig": 5, "DNase/bed": 7},
            naming_seen=["ucsc", "ensembl"],
            names_normalised=True,
            tracks=14,
        ),
        outcome("X2", "unchanged", {"DNase/bigwig": 99}, naming_seen=["ucsc"], tracks=14),
        outcome("X3", "ingested", {"H3K9me3/bed": 0}),
    ]
    g = qc_table(outs)
    cells, signal = parts(g, Table, Table)
    assert cells.title == "ingest QC"
    assert headers(cells) == ["cell", "status", "genes", "tracks", "chromosome naming", "seconds"]
    assert [c.justify for c in cells.columns] == ["left", "left", "right", "right", "left", "right"]
    assert rows(cells) == [
        ["X1", "ingested", "12,345", "14", "ucsc, ensembl (normalised to chr1…)", "3.1"],
        ["X2", "unchanged", "12,345", "14", "ucsc", "3.1"],
        ["X3", "ingested", "12,345", "", "", "3.1"],
    ]
    assert headers(signal) == ["assay", "X1", "X3"]  # only the cells ingested now
    body = {r[0]: r[1:] for r in rows(signal)}
    assert list(body) == list(ASSAYS)
    assert body["DNase"] == ["5 / 7", "- / -"]
    assert body["H3K9me3"] == ["- / -", "- / 0"]


def test_qc_table_of_unchanged_cells_only_has_no_signal_table() -> None:
    parts(qc_table([outcome("X2", "unchanged", {})]), Table)


SUMMARY = [
    {
        "setup": "within:X1",
        "kind": "within",
        "cell": "X1",
        "n": 1234,
        "spearman_masked": 0.81234,
        "spearman_unmasked": 0.8,
        "mean_chrom_spearman_masked": math.nan,
        "pearson": 0.5,
        "auc": 0.9,
    },
    {
        "setup": "stack",
        "kind": "stack",
        "cell": "X1",
        "n": 1234,
        "spearman_masked": 0.85,
        "spearman_unmasked": 0.84,
        "mean_chrom_spearman_masked": 0.8,
        "pearson": 0.6,
        "auc": 0.95,
    },
]
CHOSEN = {"rule": "mean", "threshold": 0.4, "spearman_masked": 0.85, "spearman_unmasked": 0.84}


def test_validation_table() -> None:
    g = validation_table(record(metrics={"summary": SUMMARY, "chosen": CHOSEN}))
    table, note = parts(g, Table, Text)
    assert table.title == "validation of m-0001 (quick: val split (chr14, chr19))"
    assert headers(table)[:3] == ["setup", "cell", "genes"]
    assert rows(table) == [
        ["within:X1", "X1", "1,234", "0.812", "0.800", "-", "0.500", "0.900"],
        ["stack", "X1", "1,234", "0.850", "0.840", "0.800", "0.600", "0.950"],
    ]
    assert [r.style for r in table.rows] == [None, "bold"]  # the stack stands out
    assert note.plain == (
        "mask: mean of P(expressed) ≥ 0.40 (swept on out-of-fold predictions: 0.850 vs 0.840 unmasked); "
        "3 features selected"
    )


def test_validation_table_of_a_full_model_with_a_stack_choice() -> None:
    metrics = {"summary": [], "chosen": CHOSEN, "stack_choice": {"chosen": "learned weights"}}
    g = validation_table(record(profile="full", params={"profile": {"validation": "loco"}}, metrics=metrics))
    table, note = parts(g, Table, Text)
    assert table.title == "validation of m-0001 (full: leave-one-chromosome-out)"
    assert rows(table) == []
    assert note.plain.endswith("3 features selected; setups combined: learned weights")


def test_reference_table() -> None:
    assert reference_table(record(metrics={})) is None
    off = reference_table(record(metrics={"references": {"mode": "off", "why": "one labelled cell", "cells": []}}))
    assert off is not None
    (only,) = parts(off, Text)
    assert only.plain == "reference-informed prediction: off (one labelled cell)"
    ref = {
        "mode": "blend",
        "why": "best out of fold",
        "cells": [
            {
                "cell": "X1",
                "genes": 2000,
                "learned": 0.8,
                "blend": 0.85,
                "marks only": 0.7,
                "references alone": 0.75,
                "rank average": math.nan,
            }
        ],
        "uncertainty": {"coverage": 0.9, "mean_width": 0.25, "ece_calibrated_cross_fitted": None},
    }
    g = reference_table(record(metrics={"references": ref}))
    assert g is not None
    table, note = parts(g, Table, Text)
    assert headers(table) == ["cell", "genes", "learned", "blend *", "marks only", "references alone", "rank average"]
    assert rows(table) == [["X1", "2,000", "0.800", "0.850", "0.700", "0.750", "-"]]
    assert note.plain.startswith("* chosen: blend (best out of fold); ")
    assert note.plain.endswith("coverage 0.900, mean width 0.250; ECE of P(expressed) -")


def test_reference_table_without_uncertainty() -> None:
    ref = {
        "mode": "learned",
        "why": "w",
        "cells": [
            {
                "cell": "X1",
                "genes": 1,
                **dict.fromkeys(("learned", "blend", "marks only", "references alone", "rank average"), 0.5),
            }
        ],
    }
    g = reference_table(record(metrics={"references": ref}))
    assert g is not None
    table, note = parts(g, Table, Text)
    assert note.plain.endswith("coverage -, mean width -; ECE of P(expressed) -")
    assert headers(table)[2] == "learned *"


def test_timing_line() -> None:
    assert timing_line(record()) == "trained 6 boosters in 11.5 s (features 1.2 s, fit 10.0 s)"
    assert timing_line(record(timings={})) == "trained 6 boosters in 0.0 s ()"


def test_explanation_tables() -> None:
    ex = {
        "gene": "TP53",
        "cell_line": "X3",
        "model_id": "m-1",
        "gex_predicted": 0.123456,
        "p_expressed": 0.9,
        "rank_predicted": 0.5,
        "stages": {
            "classifier": {
                "base_value": -0.25,
                "contributions": [
                    {"feature": "DNase_bw_tss_mean", "value": 1.5, "shap": 0.75},
                    {"feature": "H3K9me3_bw_body_mean", "value": math.nan, "shap": -0.125},
                ],
            },
            "regressor": {"base_value": 0.5, "contributions": []},
        },
    }
    g = explanation_tables(ex)
    head, clf, reg = parts(g, Text, Table, Table)
    assert head.plain == "TP53 in X3 (model m-1): gex_predicted 0.1235, P(expressed) 0.900, rank 0.500"
    assert clf.title == "classifier (base value -0.2500 log-odds)"
    assert reg.title == "regressor (base value 0.5000 rank)"
    assert rows(clf) == [["DNase_bw_tss_mean", "1.500", "+0.7500"], ["H3K9me3_bw_body_mean", "-", "-0.1250"]]
    assert rows(reg) == []


def test_score_table() -> None:
    t = score_table({"epigex stack": 0.81, "baseline: mean of X1, X2": 0.7, "random": math.nan})
    assert t.title == "X3 held out: Spearman vs hidden truth"
    assert rows(t) == [["epigex stack", "0.810"], ["baseline: mean of X1, X2", "0.700"], ["random", "-"]]
    assert [r.style for r in t.rows] == ["bold", None, None]


def test_ablation_tables() -> None:
    result = {
        "results": [
            {
                "title": "marks",
                "note": "drop one mark at a time",
                "rows": [
                    {"variant": "all", "features": 120, "spearman_masked": 0.8, "spearman_unmasked": 0.75},
                    {"variant": "-DNase", "features": 100, "spearman_masked": 0.78, "spearman_unmasked": math.nan},
                ],
            },
            {"title": "windows", "note": "n", "rows": []},
        ]
    }
    out = parts(ablation_tables(result), Table, Text, Table, Text)
    assert out[0].title == "marks"
    assert rows(out[0]) == [["all", "120", "0.800", "0.750"], ["-DNase", "100", "0.780", "-"]]
    assert out[1].plain == "drop one mark at a time"
    assert rows(out[2]) == []


QC = {
    "cell_line": "X3",
    "verdict": "warn",
    "references": ["X1", "X2"],
    "tracks": [
        {"assay": "DNase", "kind": "bigwig", "verdict": "pass", "looks_like": "DNase", "reasons": []},
        {
            "assay": "H3K4me3",
            "kind": "bed",
            "verdict": "fail",
            "looks_like": "H3K27ac",
            "reasons": ["few peaks", "wrong mark"],
        },
    ],
    "drift": {
        "score": 0.3,
        "training_cells_baseline": 0.1,
        "verdict": "warn",
        "top_features": [{"feature": f"f{i}", "ks": 0.5 - i / 100} for i in range(7)],
    },
    "note": "checked on 12,345 genes",
}


def test_qc_verdict_table() -> None:
    g = qc_verdict_table(QC)
    table, drift, note = parts(g, Table, Text, Text)
    assert table.title == "track QC of X3: WARN (against X1, X2)"
    assert headers(table) == ["assay", "kind", "verdict", "looks like", "reasons"]
    assert rows(table) == [
        ["DNase", "bigwig", "pass", "DNase", "-"],
        ["H3K4me3", "bed", "fail", "H3K27ac", "few peaks; wrong mark"],
    ]
    assert [str(c.style) for c in table.columns[2]._cells] == ["green", "bold red"]
    assert drift.plain == (
        "drift from the training cells: 0.3 (training cells among themselves: 0.1) → warn; "
        "most drifted: f0 (0.50), f1 (0.49), f2 (0.48), f3 (0.47), f4 (0.46)"
    )
    assert note.plain == "checked on 12,345 genes"


def test_qc_verdict_table_without_drift_or_references() -> None:
    qc: dict[str, Any] = QC | {"references": [], "drift": None, "note": ""}
    g = qc_verdict_table(qc)
    assert len(g.renderables) == 1
    (table,) = parts(g, Table)
    assert table.title == "track QC of X3: WARN (peak placement only; nothing compared)"
    (passing,) = parts(qc_verdict_table(qc | {"verdict": "pass"}), Table)
    assert passing.title == "track QC of X3: NOTHING COMPARED (no other labelled cell line in the store)"


def test_tables_render_as_text() -> None:
    out = text(Group(score_table({"epigex": 0.5}), qc_verdict_table(QC)))
    assert "┃ predictor ┃ Spearman ┃" in out
    assert "│ epigex    │    0.500 │" in out
    assert "few peaks; wrong mark" in out
