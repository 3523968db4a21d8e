"""Rich tables for CLI output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from epigex.ingest.committer import IngestOutcome
from epigex.ingest.featureset import ASSAYS
from epigex.store.registry import ModelRecord


def qc_table(outcomes: Sequence[IngestOutcome]) -> Group:
    """Per-cell QC: genes, tracks, chromosome naming and time; then genes without signal per assay and cell."""
    cells = Table(title="ingest QC")
    for col in ("cell", "status", "genes", "tracks", "chromosome naming", "seconds"):
        cells.add_column(col, justify="right" if col in ("genes", "tracks", "seconds") else "left")
    signal = Table(title="genes without signal (bigWig / BED)")
    signal.add_column("assay")
    fresh = [o for o in outcomes if o.status != "unchanged"]
    for o in fresh:
        signal.add_column(o.cell, justify="right")
    for o in outcomes:
        naming = ", ".join(o.qc.get("naming_seen", []))
        if o.qc.get("names_normalised"):
            naming += " (normalised to chr1…)"
        tracks = str(o.qc.get("tracks", ""))
        cells.add_row(o.cell, o.status, f"{o.genes:,}", tracks, naming, f"{o.seconds:.1f}")
    for a in ASSAYS:
        row = []
        for o in fresh:
            ws = o.qc.get("genes_without_signal", {})
            row.append(f"{ws.get(f'{a}/bigwig', '-')} / {ws.get(f'{a}/bed', '-')}")
        signal.add_row(a, *row)
    return Group(cells, signal) if fresh else Group(cells)


def _f(v: object) -> str:
    return f"{v:.3f}" if isinstance(v, float) and v == v else "-"


def validation_table(record: ModelRecord) -> Group:
    """The model's validation summary per setup and cell, and the chosen mask."""
    m = record.metrics
    where = "val split (chr14, chr19)" if record.validated_on_val_split else "leave-one-chromosome-out"
    table = Table(title=f"validation of {record.id} ({record.profile}: {where})")
    cols = ("setup", "cell", "genes", "Spearman masked", "unmasked", "mean per chrom", "Pearson", "AUC")
    for col in cols:
        table.add_column(col, justify="left" if col in ("setup", "cell") else "right", no_wrap=col == "setup")
    for r in m["summary"]:
        style = "bold" if r["kind"] == "stack" else None
        table.add_row(
            r["setup"],
            r["cell"],
            f"{r['n']:,}",
            _f(r["spearman_masked"]),
            _f(r["spearman_unmasked"]),
            _f(r["mean_chrom_spearman_masked"]),
            _f(r["pearson"]),
            _f(r["auc"]),
            style=style,
        )
    ch = m["chosen"]
    note = Text(
        f"mask: {ch['rule']} of P(expressed) ≥ {ch['threshold']:.2f} (swept on out-of-fold predictions: "
        f"{ch['spearman_masked']:.3f} vs {ch['spearman_unmasked']:.3f} unmasked); "
        f"{len(record.features)} features selected"
        + (f"; setups combined: {m['stack_choice']['chosen']}" if m.get("stack_choice") else "")
    )
    return Group(table, note)


REFERENCE_COLUMNS = ("learned", "blend", "marks only", "references alone", "rank average")


def reference_table(record: ModelRecord) -> Group | None:
    """The reference model's validation: each labelled cell predicted from the others, beside the baselines."""
    ref = record.metrics.get("references")
    if not ref:
        return None
    if not ref.get("cells"):
        return Group(Text(f"reference-informed prediction: {ref['mode']} ({ref['why']})"))
    table = Table(title="reference-informed: each labelled cell predicted from the others (Spearman, out of fold)")
    table.add_column("cell")
    table.add_column("genes", justify="right")
    for col in REFERENCE_COLUMNS:
        table.add_column(col + (" *" if col == ref["mode"] else ""), justify="right")
    for r in ref["cells"]:
        table.add_row(r["cell"], f"{r['genes']:,}", *(_f(r[c]) for c in REFERENCE_COLUMNS))
    unc = ref.get("uncertainty") or {}
    n = len(ref["cells"])
    # with two labelled cells each cell's intervals come from one other cell, which cannot show how far cells'
    # silent shares differ; the model's own intervals are widened by that spread, measured over both
    fitted_on = "the other cell alone" if n == 2 else "the other cells"
    note = Text(
        f"* chosen: {ref['mode']} ({ref['why']}); a gene some reference measured is predicted this way, the others "
        f"by the stack; 90 % intervals out of fold (each cell's fitted on {fitted_on}): coverage "
        f"{_f(unc.get('coverage'))}, mean width {_f(unc.get('mean_width'))}; ECE of P(expressed) "
        f"{_f(unc.get('ece_calibrated_cross_fitted'))}"
    )
    return Group(table, note)


def timing_line(record: ModelRecord) -> str:
    """Where the training's time went."""
    t = record.timings
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in t.items() if k != "total")
    return f"trained {record.n_boosters} boosters in {t.get('total', 0):.1f} s ({parts})"


def explanation_tables(ex: dict[str, Any]) -> Group:
    """One table per stage: feature, value, SHAP."""
    head = Text(
        f"{ex['gene']} in {ex['cell_line']} (model {ex['model_id']}): gex_predicted {ex['gex_predicted']:.4f}, "
        f"P(expressed) {ex['p_expressed']:.3f}, rank {ex['rank_predicted']:.3f}"
    )
    parts: list[Any] = [head]
    units = {"classifier": "log-odds", "regressor": "rank"}
    for stage, body in ex["stages"].items():
        t = Table(title=f"{stage} (base value {body['base_value']:.4f} {units.get(stage, '')})")
        for col in ("feature", "value", "SHAP"):
            t.add_column(col, justify="left" if col == "feature" else "right")
        for c in body["contributions"]:
            t.add_row(c["feature"], _f(c["value"]), f"{c['shap']:+.4f}")
        parts.append(t)
    return Group(*parts)


def score_table(scores: dict[str, float]) -> Table:
    """X3's held-out Spearman against the hidden truth: the ensemble and the baselines."""
    table = Table(title="X3 held out: Spearman vs hidden truth")
    table.add_column("predictor")
    table.add_column("Spearman", justify="right")
    for name, v in scores.items():
        table.add_row(name, _f(v), style="bold" if name.startswith("epigex") else None)
    return table


def ablation_tables(result: dict[str, Any]) -> Group:
    """One table per ablation group, with its note."""
    parts: list[Any] = []
    for group in result["results"]:
        t = Table(title=group["title"])
        for col in ("variant", "features", "Spearman masked", "unmasked"):
            t.add_column(col, justify="left" if col == "variant" else "right")
        for r in group["rows"]:
            t.add_row(r["variant"], str(r["features"]), _f(r["spearman_masked"]), _f(r["spearman_unmasked"]))
        parts += [t, Text(group["note"])]
    return Group(*parts)


VERDICT_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}


def qc_verdict_table(qc: dict[str, Any]) -> Group:
    """A cell's track QC: one row per track (verdict, looks like, reasons), then its drift."""
    if qc["references"]:
        title = f"track QC of {qc['cell_line']}: {qc['verdict'].upper()} (against {', '.join(qc['references'])})"
    elif qc["verdict"] == "pass":  # nothing to compare with: a pass would claim a check that never ran
        title = f"track QC of {qc['cell_line']}: NOTHING COMPARED (no other labelled cell line in the store)"
    else:
        title = f"track QC of {qc['cell_line']}: {qc['verdict'].upper()} (peak placement only; nothing compared)"
    table = Table(title=title)
    for col in ("assay", "kind", "verdict", "looks like", "reasons"):
        table.add_column(col, no_wrap=col in ("assay", "kind", "verdict", "looks like"))
    for t in qc["tracks"]:
        table.add_row(
            t["assay"],
            t["kind"],
            Text(t["verdict"], style=VERDICT_STYLE[t["verdict"]]),
            t["looks_like"],
            Text("; ".join(t["reasons"]) or "-"),
        )
    parts: list[Any] = [table]
    d = qc.get("drift")
    if d:
        top = ", ".join(f"{f['feature']} ({f['ks']:.2f})" for f in d["top_features"][:5])
        parts.append(
            Text(
                f"drift from the training cells: {d['score']} (training cells among themselves: "
                f"{d['training_cells_baseline']}) → {d['verdict']}; most drifted: {top}"
            )
        )
    if qc.get("note"):
        parts.append(Text(qc["note"]))
    return Group(*parts)
