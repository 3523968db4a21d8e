"""Rich tables for CLI output."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.table import Table

from ingest.featureset import ASSAYS
from ingest.pipeline import IngestOutcome


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
