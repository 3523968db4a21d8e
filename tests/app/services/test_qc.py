"""Track QC as a service: a bigWig of another signal type than the references' gets its warning on its own row."""

from __future__ import annotations

from epigex.app.services.qc import _signal_kinds
from epigex.store.tracksets import TrackKey


def test_signal_kind_warnings_land_on_the_bigwig_row() -> None:
    signal, peaks = TrackKey("DNase", "bigwig").path, TrackKey("DNase", "bed").path
    rows = [
        {"assay": "DNase", "kind": "bigwig", "verdict": "pass", "reasons": []},
        {"assay": "DNase", "kind": "bed", "verdict": "pass", "reasons": []},
        {"assay": "H3K27ac", "kind": "bigwig", "verdict": "fail", "reasons": ["background only"]},
    ]
    own = {"signal_types": {signal: "pvalue", TrackKey("H3K27ac", "bigwig").path: "pvalue"}}
    refs = {
        "X1": {"signal_types": {signal: "fold_change", peaks: "fold_change"}},
        "X2": {"signal_types": {signal: "fold_change"}},
    }
    _signal_kinds(rows, own, refs)
    assert rows[0]["verdict"] == "warn"
    assert "fold change over control" in rows[0]["reasons"][0]
    assert rows[1] == {"assay": "DNase", "kind": "bed", "verdict": "pass", "reasons": []}
    # no reference knows H3K27ac's kind: nothing is added, and a fail stays a fail
    assert rows[2] == {"assay": "H3K27ac", "kind": "bigwig", "verdict": "fail", "reasons": ["background only"]}
