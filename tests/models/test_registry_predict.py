"""Registry round trip, cached predictions, explanations, the submission ZIP and clear errors, on the demo store."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from epigex.models.dataset import load_cell
from epigex.models.explain import explain_gene
from epigex.models.persist import load_model, save_model
from epigex.models.pipeline import train_from_store
from epigex.models.predict import ensure_predictions, predict_matrix, predict_with, read_predictions
from epigex.models.stacking import Combiner, expressed_mask
from epigex.models.submission import submission_csv, submission_zip, zip_name
from epigex.store.catalog import Store
from epigex.store.errors import ConflictError, EpigexError, InputError, NotFoundError
from epigex.store.registry import activate_model, active_model_id, get_model, list_models

SAMPLE = Path(__file__).resolve().parents[2] / "epigex" / "demo" / "data" / "ml4g" / "sample_gex_predicted.csv"
PROMOTER = [f"{a}_bw_prom1k_mean" for a in ("DNase", "H3K4me3", "H3K27ac", "H3K36me3")]


def test_registry_round_trip_predicts_identically(trained_copy: Path) -> None:
    store = Store(trained_copy)
    first = active_model_id(store)
    trained, record = train_from_store(store, None, "quick", features=PROMOTER, threads=2)
    assert record is not None
    assert active_model_id(store) == record.id != first
    loaded = load_model(store)
    assert loaded.record.features == PROMOTER
    assert loaded.record.cells == ["X1", "X2"]
    assert set(loaded.record.lineage["X1"]["tracks"]) >= {"DNase/bigwig", "H3K9me3/bed"}
    X = np.random.default_rng(0).normal(size=(300, len(PROMOTER))).astype(np.float32)
    a = predict_with(trained.boosters, trained.rule, trained.threshold, X, combiner=trained.combiner)
    b = predict_matrix(loaded, X)
    np.testing.assert_array_equal(a.gex_predicted, b.gex_predicted)
    np.testing.assert_array_equal(a.contrib["regressor"], b.contrib["regressor"])
    assert Combiner.from_dict(loaded.record.params.get("stack")) == trained.combiner
    assert next(m.id for m in list_models(store)) == record.id
    assert first is not None
    activate_model(store, first)
    assert get_model(store).id == first
    # A combiner other than the recipe's travels with the model and changes what it predicts.
    soft = Combiner("soft", (0.7, 0.2, 0.1), (0.2, 0.2, 0.6))
    rec2 = save_model(store, replace(trained, combiner=soft), activate=False)
    assert rec2.params["stack"] == soft.to_dict()
    c = predict_matrix(load_model(store, rec2.id), X)
    np.testing.assert_array_equal(
        c.gex_predicted, predict_with(trained.boosters, trained.rule, trained.threshold, X, combiner=soft).gex_predicted
    )
    assert not np.array_equal(c.gex_predicted, a.gex_predicted)
    # a second save of the same training is a new model with the same content digest
    again = save_model(store, trained, activate=False)
    assert again.content_digest == record.content_digest
    assert active_model_id(store) == first


def test_predictions_are_computed_once_and_consistent(trained_copy: Path) -> None:
    store = Store(trained_copy)
    model = load_model(store)
    where = ensure_predictions(store, "X3", model)
    assert ensure_predictions(store, "X3", model) == where  # served from the store the second time
    pred = read_predictions(store, where)
    genes = pl.read_csv(SAMPLE)["gene_name"]
    assert pred.filter(pl.col("split") == "test")["gene_name"].to_list() == genes.to_list()
    p, r, g = (pred[c].to_numpy() for c in ("p_expressed", "rank_predicted", "gex_predicted"))
    assert ((r >= 0) & (r <= 1)).all()
    assert ((p >= 0) & (p <= 1)).all()
    lo, hi = pred["pct_lo"].to_numpy(), pred["pct_hi"].to_numpy()
    assert ((lo >= 0) & (lo <= hi) & (hi <= 1)).all()
    if model.record.mask_rule == "mean":  # the mask is on the stack's raw probability; p_expressed is calibrated
        mask = expressed_mask(pred["p_expressed_raw"].to_numpy(), "mean", model.record.threshold)
        np.testing.assert_allclose(g, np.where(mask, r, 0.0))
    assert ((g == 0) | np.isclose(g, r)).all()


def test_contributions_add_up_to_the_prediction(trained_copy: Path) -> None:
    store = Store(trained_copy)
    model = load_model(store)
    where = ensure_predictions(store, "X3", model)  # no reference measured X3's genes: the stack predicts them
    pred = read_predictions(store, where)
    data = load_cell(store, "X3", model.record.feature_set, model.record.features)
    rows = np.sort(np.random.default_rng(0).choice(data.genes.size, 400, replace=False))
    rows = np.union1d(rows, np.flatnonzero(data.genes == "CAPN9"))
    batch = predict_matrix(model, data.X[rows]).contrib
    raw = batch["regressor"].sum(axis=1)  # features + base value = the stack's raw rank
    inside = (raw > 0.01) & (raw < 0.99)
    assert inside.sum() > 150
    np.testing.assert_allclose(raw[inside], pred["rank_predicted"].to_numpy()[rows][inside], atol=2e-3)
    ex = explain_gene(store, where, "CAPN9", model, top=5)
    reg = ex["stages"]["regressor"]["contributions"]
    assert len(reg) == 5
    assert [abs(c["shap"]) for c in reg] == sorted((abs(c["shap"]) for c in reg), reverse=True)
    assert set(ex["stages"]) == {"classifier", "regressor"}
    # one gene explained alone gives the numbers of the same gene explained in a batch
    j = int(np.flatnonzero(data.genes[rows] == "CAPN9")[0])
    for c in reg:
        k = model.record.features.index(c["feature"])
        assert c["shap"] == batch["regressor"][j, k]
    assert ex["stages"]["regressor"]["base_value"] == batch["regressor"][j, -1]
    with pytest.raises(NotFoundError, match="NOT_A_GENE"):
        explain_gene(store, where, "NOT_A_GENE", model)


def test_submission_matches_the_course_format(trained_copy: Path) -> None:
    store = Store(trained_copy)
    pred = read_predictions(store, ensure_predictions(store, "X3"))
    data = submission_zip(pred)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["gex_predicted.csv"]
        text = zf.read("gex_predicted.csv").decode()
    sample = SAMPLE.read_text().splitlines()
    lines = text.splitlines()
    assert lines[0] == sample[0] == ",gene_name,gex_predicted"
    assert len(lines) == len(sample) == 1985
    ours = pl.read_csv(io.StringIO(text))
    theirs = pl.read_csv(SAMPLE)
    assert ours.columns == theirs.columns
    assert ours[""].to_list() == list(range(1984))
    assert ours["gene_name"].to_list() == theirs["gene_name"].to_list()
    assert np.isfinite(ours["gex_predicted"].to_numpy()).all()
    assert data == submission_zip(pred)  # byte-identical: deterministic archive
    assert zip_name("Doe_Jane") == zip_name("Doe_Jane_Project1.zip") == "Doe_Jane_Project1.zip"
    with pytest.raises(InputError, match="Last_First"):
        zip_name("../etc/passwd")


@pytest.mark.parametrize(
    ("given", "wanted"),
    [
        ("Müller_Jürgen", "Müller_Jürgen_Project1.zip"),
        ("Müller_Jürgen_Project1.zip", "Müller_Jürgen_Project1.zip"),
        ("O'Neil_Anne-Marie", "O'Neil_Anne-Marie_Project1.zip"),
        ("Ødegård_Åse_Project1", "Ødegård_Åse_Project1.zip"),
    ],
)
def test_submission_names_of_any_alphabet(given: str, wanted: str) -> None:
    assert zip_name(given) == wanted


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("Smith_John.zip", "Last_First_Project1.zip"),
        ("Smith_John_Project2.zip", "Last_First_Project1.zip"),
        ("Smith", "Last_First"),
        ("Smith_John_Paul", "Last_First"),
        ("Smith_J0hn", "Last_First"),
        ("_Smith_John", "Last_First"),
        ("-Smith_John", "Last_First"),
        ("Smith John", "Last_First"),
        ("", "Last_First"),
    ],
)
def test_submission_names_refused(given: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        zip_name(given)


def test_clear_errors(trained_copy: Path, store_copy: Path) -> None:
    store = Store(trained_copy)
    with pytest.raises(NotFoundError, match="unknown cell line 'NOPE'"):
        ensure_predictions(store, "NOPE")
    with pytest.raises(InputError, match="'X3' has no labels"):
        train_from_store(store, ["X3"], "quick")
    with pytest.raises(InputError, match="unknown profile"):
        train_from_store(store, None, "slow")
    with pytest.raises(NotFoundError, match="unknown model 'm-404'"):
        load_model(store, "m-404")
    x1 = read_predictions(store, ensure_predictions(store, "X1"))
    with pytest.raises(ConflictError, match="no test info file"):
        submission_csv(x1)
    with pytest.raises(ConflictError, match="no model yet"):
        load_model(Store(store_copy))
    art = next((store.home / "models").rglob("*.txt"))
    art.write_text(art.read_text().replace("tree", "tree ", 1))
    with pytest.raises(EpigexError, match="does not match its recorded sha256"):
        load_model(store)


def test_the_test_cell_labels_are_never_in_the_store(trained_store: Path) -> None:
    store = Store(trained_store)
    assert store.query("SELECT count(*) FROM labels WHERE cell_line = 'X3'") == [(0,)]
    assert get_model(store).cells == ["X1", "X2"]


def test_the_course_split_is_predicted_by_the_stack_alone(trained_copy: Path) -> None:
    # no labelled cell measured X3's genes (the course hides chr1): the reference model changes nothing there
    store = Store(trained_copy)
    model = load_model(store)
    assert model.references() is not None
    pred = read_predictions(store, ensure_predictions(store, "X3", model))
    data = load_cell(store, "X3", model.record.feature_set, model.record.features)
    stack = predict_matrix(model, data.X, explain=False)
    np.testing.assert_array_equal(pred["gex_predicted"].to_numpy(), stack.gex_predicted)
    np.testing.assert_array_equal(pred["rank_predicted"].to_numpy(), stack.rank_predicted)
    np.testing.assert_array_equal(pred["p_expressed_raw"].to_numpy(), stack.p_expressed)
    assert set(pred["references"].to_list()) == {""}
    # a labelled cell is informed by the other one, never by itself
    x1 = read_predictions(store, ensure_predictions(store, "X1", model))
    assert set(x1["references"].to_list()) == {"X2"}
