"""One self-contained HTML page per model: validation tables, plots, SHAP summaries, ablations if run."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from epigex.models.dataset import load_cell
from epigex.models.persist import LoadedModel
from epigex.models.predict import predict_matrix
from epigex.store.ablations import latest_ablation
from epigex.store.catalog import Store

SHAP_SAMPLE = 2000
CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:0.6em 0;font-size:0.88em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3} td.l,th.l{text-align:left} tr.stack td{font-weight:bold}
img{max-width:100%;margin:0.4em 0} .muted{color:#666;font-size:0.9em}
"""


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "–" if v != v else f"{v:.3f}"
    return html.escape(str(v))


def html_table(rows: list[dict[str, Any]], columns: list[str], left: tuple[str, ...] = ()) -> str:
    """Rows as an HTML table over ``columns``; a row of kind ``stack`` is bold."""
    head = "".join(f"<th class='{'l' if c in left else ''}'>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cls = " class='stack'" if r.get("kind") == "stack" else ""
        cells = "".join(f"<td class='{'l' if c in left else ''}'>{_fmt(r.get(c, ''))}</td>" for c in columns)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _img(uri: str, alt: str) -> str:
    return f"<img src='{uri}' alt='{html.escape(alt)}'>"


def _shap_section(store: Store, model: LoadedModel) -> str:
    """SHAP summary per stage on a seeded sample of the training cells' val-split genes."""
    from epigex.models import plots  # matplotlib loads only when a report is drawn (most of a second)

    rec = model.record
    xs = []
    for c in rec.cells:
        data = load_cell(store, c, rec.feature_set, rec.features)
        xs.append(data.X[data.split == "val"])
    X = np.concatenate(xs)
    if X.shape[0] > SHAP_SAMPLE:
        X = X[np.sort(np.random.default_rng(0).choice(X.shape[0], SHAP_SAMPLE, replace=False))]
    pred = predict_matrix(model, X)
    out = []
    for stage, contrib in pred.contrib.items():
        unit = "log-odds" if stage == "classifier" else "rank"
        title = f"{stage}: SHAP on {X.shape[0]:,} val-split genes ({unit}, mean over stacked setups)"
        out.append(_img(plots.shap_summary_figure(contrib[:, :-1], X.astype(np.float64), rec.features, title), title))
    return "".join(out)


def _stack_choice(choice: dict[str, Any] | None) -> list[str]:
    """The stack's combination: every candidate's out-of-fold score and the one chosen (models from before: none)."""
    if not choice:
        return []
    return [
        "<h3>How the setups are combined</h3>",
        f"<p>Chosen on the out-of-fold predictions: <b>{html.escape(str(choice['chosen']))}</b>. The recipe's "
        "equal-weight mean with a hard mask stays unless a candidate beats it by more than 0.0005.</p>",
        html_table(choice["candidates"], ["candidate", "spearman"], ("candidate",)),
    ]


def _uncertainty_section(unc: dict[str, Any] | None) -> str:
    from epigex.models import plots

    if not unc:
        return "<p class='muted'>This model was trained before per-gene uncertainty existed.</p>"
    cross = unc.get("ece_calibrated_cross_fitted")
    cross_txt = f"; cross-fitted (each cell calibrated on the others): {cross:.3f}" if cross is not None else ""
    coverage = [r for r in unc["coverage"] if r["chrom"] == "all"] + [r for r in unc["coverage"] if r["chrom"] != "all"]
    return "".join(
        [
            f"<p>Expected calibration error of P(expressed) (10 bins, {unc['n_calibration']:,} out-of-fold genes): "
            f"raw {unc['ece_raw']:.3f}, calibrated {unc['ece_calibrated']:.3f}{cross_txt}. Intervals from "
            f"{html.escape(unc['model']['residuals_from'])} residuals; their coverage below is cross-fitted (each "
            "cell's intervals come from the other cells' residuals), target 90 %.</p>",
            _img(plots.reliability_figure(unc["reliability_raw"], unc["reliability_calibrated"]), "calibration"),
            html_table(coverage, ["cell", "chrom", "n", "coverage", "mean_width"], ("cell", "chrom")),
        ]
    )


REFERENCE_COLUMNS = ["learned", "blend", "marks only", "references alone", "rank average"]


def _references_section(ref: dict[str, Any] | None) -> str:
    """How the labelled cells' measured expression informs a prediction, validated cell by cell (out of fold)."""
    if not ref:
        return "<p class='muted'>Trained before reference-informed prediction existed.</p>"
    head = (
        f"<p>Chosen: <b>{html.escape(ref['mode'])}</b> — {html.escape(ref['why'])}. A gene that some labelled cell "
        "measured is predicted from that cell's expression, the change in the marks and how alike the cells are; "
        "the others by the stack above. Each labelled cell is predicted from the others, on chromosome groups and "
        "cell groups the model never trained on, beside the marks alone, the references' expression alone and the "
        "plain rank average of the two (computed in the same run).</p>"
    )
    if not ref.get("cells"):
        return head
    unc = ref.get("uncertainty") or {}
    by_chrom = [r for r in ref.get("chromosomes", []) if r["genes"] >= 50]
    return (
        head
        + html_table(ref["cells"], ["cell", "genes", *REFERENCE_COLUMNS], ("cell",))
        + "<h3>Per chromosome</h3>"
        + html_table(by_chrom, ["cell", "chrom", "genes", *REFERENCE_COLUMNS], ("cell", "chrom"))
        + f"<p>90 % intervals of reference-informed genes out of fold: coverage {unc.get('coverage') or 0:.3f}, "
        f"mean width {unc.get('mean_width') or 0:.3f}; ECE of P(expressed) "
        f"{unc.get('ece_calibrated_cross_fitted') or 0:.3f}; genes per agreement class "
        f"{html.escape(str(unc.get('classes', {})))}.</p>"
    )


def _ablation_section(ablation: dict[str, Any] | None) -> str:
    from epigex.models import plots

    if not ablation:
        return "<p class='muted'>No ablation run yet (<code>epigex ablate DATA_DIR</code>).</p>"
    parts = [f"<p class='muted'>Ablation {html.escape(ablation['id'])} on cells {', '.join(ablation['cells'])}.</p>"]
    for group in ablation["results"]:
        rows = group["rows"]
        parts.append(f"<h3>{html.escape(group['title'])}</h3>")
        parts.append(html_table(rows, ["variant", "features", "spearman_masked", "spearman_unmasked"], ("variant",)))
        parts.append(
            _img(
                plots.bars_figure([r["variant"] for r in rows], [r["spearman_masked"] for r in rows], group["title"]),
                group["title"],
            )
        )
        if group.get("note"):
            parts.append(f"<p>{html.escape(group['note'])}</p>")
    return "".join(parts)


def write_report(
    store: Store, model: LoadedModel, path: Path | None = None, qc: list[dict[str, Any]] | None = None
) -> Path:
    """Render the report and write it atomically (default: ``$EPIGEX_HOME/reports/<model>.html``).

    ``qc``: the track QC of the training cells (each against the others), as the service layer computes it.
    """
    path = path or store.report_path(model.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_report(store, model, qc))
    tmp.replace(path)
    return path


def _qc_section(qc: list[dict[str, Any]] | None) -> str:
    if not qc:
        return "<p class='muted'>No track QC was given for this report.</p>"
    rows = []
    for q in qc:
        odd = [t for t in q["tracks"] if t["verdict"] != "pass"]
        rows.append(
            {
                "cell": q["cell_line"],
                "verdict": q["verdict"],
                "against": ", ".join(q.get("references", [])) or "-",
                "tracks not passing": "; ".join(
                    f"{t['assay']} {t['kind']}: {t['verdict']} ({'; '.join(t['reasons'])})" for t in odd
                )
                or "none",
                "drift": (q.get("drift") or {}).get("verdict", "-"),
            }
        )
    return (
        "<p>Each training cell's tracks checked against the other training cells (epigex qc): does each track look "
        "like its assay, does it carry signal, do its bigWig and peaks agree.</p>"
        + html_table(rows, ["cell", "verdict", "against", "tracks not passing", "drift"], ("cell", "verdict", "against",
                     "tracks not passing", "drift"))
    )  # fmt: skip


def render_report(store: Store, model: LoadedModel, qc: list[dict[str, Any]] | None = None) -> str:
    """The report page of ``model`` as one HTML string (images embedded as data URIs)."""
    # long by design: the report's sections in reading order
    from epigex.models import plots  # matplotlib loads only when a report is drawn (most of a second)

    rec = model.record
    m = rec.metrics
    ch = m["chosen"]
    where = "the course's val split (chr14, chr19)" if rec.validated_on_val_split else "leave-one-chromosome-out"
    summary_cols = [
        "setup",
        "kind",
        "cell",
        "n",
        "spearman_masked",
        "spearman_unmasked",
        "mean_chrom_spearman_masked",
        "pearson",
        "auc",
    ]
    lineage = [
        {"cell": c, "input_digest": v["input_digest"][:16], "genes": v["genes"], "tracks": len(v["tracks"])}
        for c, v in rec.lineage.items()
    ]
    sections = [
        f"<h1>epigex model {html.escape(rec.id)}</h1>",
        f"<p>Profile <b>{rec.profile}</b>, trained {html.escape(str(rec.created_at)[:19])} on cells "
        f"{', '.join(rec.cells)} (feature set {rec.feature_set}, {len(rec.features)} selected features, "
        f"{rec.n_boosters} boosters, {rec.timings.get('total', 0):.1f} s). Stacked setups: "
        f"{', '.join(rec.setups)}. Mask: <b>{ch['rule']}</b> of P(expressed) ≥ <b>{ch['threshold']:.2f}</b>.</p>",
        f"<h2>Validation ({where})</h2>",
        "<p class='muted'>Out-of-fold predictions only: no gene is scored by a booster that saw its chromosome. "
        "Masked: the predicted rank is zeroed where P(expressed) is below the threshold. Pearson compares the "
        "masked prediction with log1p(gex); AUC is stage 1's.</p>",
        html_table(m["summary"], summary_cols, ("setup", "kind", "cell")),
        "<h2>Spearman per held-out chromosome</h2>",
        *[_img(plots.per_chrom_figure(m["per_chrom"], c), f"per chromosome {c}") for c in rec.cells],
        "<h2>Threshold curve and mask rules</h2>",
        _img(plots.threshold_figure(m["threshold_curve"], ch), "threshold curve"),
        html_table(m["mask_rules"], ["rule", "best_threshold", "spearman"], ("rule",)),
        *_stack_choice(m.get("stack_choice")),
        "<h2>Reference-informed prediction</h2>",
        _references_section(m.get("references")),
        "<h2>Track QC of the training cells</h2>",
        _qc_section(qc),
        "<h2>Uncertainty: calibrated P(expressed) and 90 % percentile intervals</h2>",
        _uncertainty_section(m.get("uncertainty")),
        "<h2>Within-cell vs cross-cell transfer</h2>",
        _img(
            plots.bars_figure(
                [r["kind"] for r in m["transfer"]],
                [r["spearman_masked"] for r in m["transfer"]],
                "mean masked Spearman by kind of setup",
                [r["kind"] for r in m["transfer"]],
            ),
            "transfer",
        ),
        "<h2>SHAP summaries</h2>",
        _shap_section(store, model),
        "<h2>Selected features</h2>",
        html_table(
            rec.selection[:40],
            ["feature", "mean_abs_shap", "stability", "rank_mean", "rank_stability", "fate"],
            ("feature", "fate"),
        ),
        "<h2>Ablations</h2>",
        _ablation_section(latest_ablation(store)),
        "<h2>Lineage</h2>",
        html_table(lineage, ["cell", "input_digest", "genes", "tracks"], ("cell", "input_digest")),
        "<h2>Where the training time went</h2>",
        html_table(
            [{"step": k.replace("_", " "), "seconds": round(float(v), 2)} for k, v in rec.timings.items()],
            ["step", "seconds"],
            ("step",),
        ),
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
        f"<title>epigex {html.escape(rec.id)}</title><style>{CSS}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>"
    )
