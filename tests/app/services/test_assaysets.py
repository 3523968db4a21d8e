"""Cell lines with some of the assays: ingested as they are, predicted by a model for exactly their tracks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from epigex.app.services.assaysets import ModelNeeded, model_for_cell, target_tracks
from epigex.app.services.serving import local_reads
from epigex.app.settings import Settings
from epigex.ingest.pipeline import ingest_dataset
from epigex.store.catalog import Store
from epigex.store.errors import InputError
from epigex.store.registry import active_model_id, list_models
from epigex.store.tracksets import cell_track_keys, feature_requirements


def partial_folder(demo_dir: Path, out: Path, cells: dict[str, str], tracks: dict[str, tuple[str, ...]]) -> Path:
    """A course-layout folder: ``cells`` maps a new name to a demo cell; ``tracks`` an assay to its kinds."""
    (out / "CAGE-train").mkdir(parents=True)
    for name, src in cells.items():
        for table in (demo_dir / "CAGE-train").glob(f"{src}_*.tsv"):
            shutil.copy(table, out / "CAGE-train" / table.name.replace(f"{src}_", f"{name}_", 1))
        for assay, kinds in tracks.items():
            for kind in kinds:
                ext = "bw" if kind == "bigwig" else "bed"
                (out / f"{assay}-{kind}").mkdir(exist_ok=True)
                shutil.copy(demo_dir / f"{assay}-{kind}" / f"{src}.{ext}", out / f"{assay}-{kind}" / f"{name}.{ext}")
    return out


def test_a_cell_with_one_assay_gets_a_model_for_it_and_the_next_reuses_it(
    trained_copy: Path, demo_dir: Path, tmp_path: Path
) -> None:
    store = Store(trained_copy)
    active = active_model_id(store)
    folder = partial_folder(demo_dir, tmp_path / "d", {"P1": "X3", "P2": "X3"}, {"DNase": ("bigwig", "bed")})
    outcomes = ingest_dataset(store, folder)
    assert [o.status for o in outcomes] == ["ingested", "ingested"]
    assert len(outcomes[0].qc["missing_tracks"]) == 12
    assert cell_track_keys(store, "P1") == ["DNase:bed", "DNase:bigwig"]
    assert target_tracks(store, "P1") == ["DNase:bed", "DNase:bigwig"]
    assert target_tracks(store, "X1") is None  # every track: the active model
    with pytest.raises(ModelNeeded, match="DNase"):
        model_for_cell(store, "P1")

    settings = Settings(home=trained_copy, threads=2)
    ps = local_reads(store, settings).predictions("P1")
    where, frame = ps, ps.frame
    assert where.model_id != active
    assert active_model_id(store) == active  # not activated
    record = next(m for m in list_models(store) if m.id == where.model_id)
    assert record.tracks == ["DNase:bed", "DNase:bigwig"]
    reqs = feature_requirements(store, record.feature_set)
    assert all(reqs[f] is not None and reqs[f] <= {"DNase:bed", "DNase:bigwig"} for f in record.features)
    assert frame.height == 1984
    assert np.isfinite(frame["gex_predicted"].to_numpy()).all()  # never a silent NaN for a missing assay

    n_models = len(list_models(store))
    where2 = local_reads(store, settings).predictions("P2")
    assert where2.model_id == where.model_id
    assert len(list_models(store)) == n_models


def test_a_cell_whose_assays_no_labelled_cell_has(demo_dir: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    folder = partial_folder(
        demo_dir, tmp_path / "d", {"L1": "X1", "L2": "X2"}, {"DNase": ("bigwig",), "H3K4me3": ("bigwig",)}
    )
    ingest_dataset(store, folder)
    other = partial_folder(demo_dir, tmp_path / "e", {"P9": "X3"}, {"H3K9me3": ("bigwig", "bed")})
    ingest_dataset(store, other)
    with pytest.raises(InputError, match=r"P9.*H3K9me3.*no labelled cell line has these tracks"):
        target_tracks(store, "P9")


def test_require_all_refuses_a_missing_file(demo_dir: Path, tmp_path: Path) -> None:
    folder = partial_folder(demo_dir, tmp_path / "d", {"P1": "X3"}, {"DNase": ("bigwig", "bed"), "H3K4me3": ("bed",)})
    with pytest.raises(InputError, match=r"missing H3K27ac bigWig for P1"):
        ingest_dataset(Store(tmp_path / "home"), folder, require_all=True)
    assert not (tmp_path / "home" / "features").exists() or not any((tmp_path / "home" / "features").iterdir())


@pytest.mark.slow
def test_a_store_with_only_track_set_models_reports_the_newest(
    store_copy: Path, demo_dir: Path, tmp_path: Path
) -> None:
    from epigex.app.services.reports import report
    from epigex.store.errors import ConflictError
    from epigex.store.registry import get_model

    store = Store(store_copy)
    folder = partial_folder(demo_dir, tmp_path / "d", {"P1": "X3"}, {"DNase": ("bigwig", "bed")})
    ingest_dataset(store, folder)
    made = local_reads(store, Settings(home=store_copy, threads=2)).predictions("P1").model_id
    assert active_model_id(store) is None
    with pytest.raises(ConflictError, match=r"no active model .* its 1 model\(s\) were trained for cells with some"):
        get_model(store)
    assert report(store).name == f"{made}.html"  # the newest, not "no model yet"
