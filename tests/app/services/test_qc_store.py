"""QC verdicts are kept when a cell is ingested or a model trained: a read looks them up."""

from __future__ import annotations

from pathlib import Path

from epigex.app.services.ahead import predict_ahead
from epigex.app.services.qc import cell_qc
from epigex.store.catalog import Store
from epigex.store.cells import cells_overview
from epigex.store.registry import active_model_id
from epigex.store.verdicts import find_verdict, save_verdict, verdict_inputs


def test_verdicts_are_kept_ahead_and_looked_up(trained_copy: Path) -> None:
    store = Store(trained_copy)
    mid = active_model_id(store)
    assert mid is not None
    assert store.query("SELECT count(*) FROM qc_verdicts")[0][0] == 0
    assert sorted(predict_ahead(store)) == ["X1", "X2", "X3"]
    assert store.query("SELECT count(*) FROM qc_verdicts")[0][0] == 3
    inputs = verdict_inputs(cells_overview(store), "X3")
    kept = find_verdict(store, "X3", mid, inputs)
    assert kept is not None
    assert cell_qc(store, "X3") == kept  # the read is a lookup of what was kept
    # a kept verdict is what a read returns (proof that it is read, not recomputed)
    save_verdict(store, "X3", mid, inputs, {**kept, "verdict": "warn"})
    assert cell_qc(store, "X3")["verdict"] == "warn"


def test_a_verdict_of_other_inputs_is_not_returned(trained_copy: Path) -> None:
    store = Store(trained_copy)
    mid = active_model_id(store)
    assert mid is not None
    fresh = cell_qc(store, "X3", keep=False)
    assert store.query("SELECT count(*) FROM qc_verdicts")[0][0] == 0  # keep=False writes nothing
    save_verdict(store, "X3", mid, "stale-inputs", {**fresh, "verdict": "fail"})
    assert cell_qc(store, "X3")["verdict"] == fresh["verdict"]  # computed again, and now kept
    overview = cells_overview(store)
    assert find_verdict(store, "X3", mid, verdict_inputs(overview, "X3")) == fresh
    assert verdict_inputs(overview, "X3") != verdict_inputs(overview, "X1")


def test_without_labelled_cells_nothing_is_compared(demo_dir: Path, tmp_path: Path) -> None:
    from epigex.ingest.pipeline import ingest_dataset

    store = Store(tmp_path / "home")
    ingest_dataset(store, demo_dir, ["X3"])
    qc = cell_qc(store, "X3")
    assert qc["references"] == []
    assert qc["drift"] is None
    assert "not checked" in qc["note"]
    assert len(qc["tracks"]) == 14
    assert all(t["reasons"] == ["not compared"] for t in qc["tracks"])
