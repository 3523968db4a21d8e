"""The trainer on small synthetic cells built in code: leakage, determinism, setups, selection."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import epigex.models.training as training
from epigex.models.binned import BinnedRows
from epigex.models.dataset import CellData
from epigex.models.params import get_profile
from epigex.models.predict import predict_with
from epigex.models.training import plan_setups, selection_directions, train_ensemble

CHROMS = [f"chr{i}" for i in range(1, 7)]
NAMES = ["chrom_id", "signal", "signal_noisy", "noise"]


def synthetic_cell(name: str, seed: int, n_per_chrom: int = 150) -> CellData:
    """Genes on chr1..chr6 (chr5, chr6 = val); ``signal`` drives expression; ``chrom_id`` = chromosome number."""
    rng = np.random.default_rng(seed)
    n = n_per_chrom * len(CHROMS)
    chrom = np.repeat(np.array(CHROMS), n_per_chrom)
    chrom_id = np.repeat(np.arange(1, 7, dtype=np.float32), n_per_chrom)
    latent = rng.normal(size=n)
    gex = np.where(latent + rng.normal(0, 0.5, n) > 0.2, np.exp(latent), 0.0)
    X = np.column_stack(
        [chrom_id, latent + rng.normal(0, 0.3, n), latent + rng.normal(0, 1.0, n), rng.normal(size=n)]
    ).astype(np.float32)
    split = np.where(np.isin(chrom, ["chr5", "chr6"]), "val", "train")
    return CellData(name, np.array([f"g{i}" for i in range(n)]), chrom, split, X, gex, f"digest-{name}")


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record the chromosomes (column 0) of every booster's training and validation rows; train for real.

    Boosters train on subsets of a setup's binned rows: each binned parent is remembered with its raw column 0,
    and a subset's rows are read through its ``used_indices``.
    """
    calls: list[dict[str, Any]] = []
    parents: dict[int, np.ndarray] = {}
    real_build = BinnedRows.build.__func__  # type: ignore[attr-defined]
    real_train = training.train_booster

    def build(cls: Any, X: Any, cells: Any, params: Any, names: Any) -> BinnedRows:
        b = real_build(cls, X, cells, params, names)
        parents[id(b.dataset)] = np.concatenate([X[c][:, names.index("chrom_id")] for c in cells])
        return b

    def chroms(ds: Any) -> set[int]:
        return set(np.unique(parents[id(ds.reference)][np.asarray(ds.used_indices)]).astype(int).tolist())

    def recording(params: Any, train: Any, stop: Any, **kw: Any) -> Any:
        calls.append(
            {
                "train": chroms(train),
                "valid": chroms(stop) if stop is not None else set(),
                "objective": params["objective"],
            }
        )
        return real_train(params, train, stop, **kw)

    monkeypatch.setattr(BinnedRows, "build", classmethod(build))
    monkeypatch.setattr(training, "train_booster", recording)
    return calls


def test_full_profile_never_trains_on_the_held_out_chromosome(spy: list[dict[str, Any]]) -> None:
    cells = [synthetic_cell("A", 1), synthetic_cell("B", 2)]
    m = train_ensemble(cells, NAMES, "fs", get_profile("full"), features=NAMES, threads=1)
    n_setups = len(plan_setups(["A", "B"]))
    per_fold = n_setups * 2  # setups × stages (the booster that stops early on the inner group predicts)
    folds = spy[: per_fold * len(CHROMS)]
    for i, call in enumerate(folds):
        held_out = i // per_fold + 1
        assert held_out not in call["train"], f"call {i}: chromosome {held_out} in training rows"
        assert held_out not in call["valid"], f"call {i}: chromosome {held_out} in early-stopping rows"
        assert not (call["train"] & call["valid"]), "early stopping on rows it trained on"
    finals = spy[per_fold * len(CHROMS) :]
    assert len(finals) == n_setups * 2
    assert all(c["train"] == set(range(1, 7)) for c in finals)
    assert m.n_boosters == len(spy)
    # every gene of every cell got an out-of-fold prediction from every setup
    stack_rows = [r for r in m.metrics["summary"] if r["kind"] == "stack"]
    assert [r["n"] for r in stack_rows] == [900, 900]
    assert {r["chrom"] for r in m.metrics["per_chrom"]} == set(CHROMS)


def test_quick_profile_trains_on_train_and_stops_on_val(spy: list[dict[str, Any]]) -> None:
    cells = [synthetic_cell("A", 1), synthetic_cell("B", 2)]
    train_ensemble(cells, NAMES, "fs", get_profile("quick"), features=NAMES, threads=1)
    assert len(spy) == 3 * 2
    for call in spy:
        assert call["train"] == {1, 2, 3, 4}
        assert call["valid"] == {5, 6}


@pytest.mark.parametrize("threads", [(2, 2), (1, 3)])
def test_training_is_deterministic(threads: tuple[int, int]) -> None:
    # The same model twice, and the same model whatever the thread count (each booster is fitted single-threaded;
    # the threads run fits side by side).
    cells = [synthetic_cell("A", 1), synthetic_cell("B", 2)]
    runs = [train_ensemble(cells, NAMES, "fs", get_profile("quick"), seed=7, threads=t) for t in threads]
    for s in runs[0].setups:
        for stage in ("classifier", "regressor"):
            assert runs[0].boosters[s][stage].model_to_string() == runs[1].boosters[s][stage].model_to_string()
    X = synthetic_cell("C", 3).X
    preds = [predict_with(r.boosters, r.rule, r.threshold, X[:, [NAMES.index(f) for f in r.features]]) for r in runs]
    np.testing.assert_array_equal(preds[0].gex_predicted, preds[1].gex_predicted)
    assert runs[0].features == runs[1].features
    assert runs[0].metrics == runs[1].metrics


def test_selection_keeps_the_signal_and_learns_it() -> None:
    cells = [synthetic_cell("A", 1), synthetic_cell("B", 2)]
    m = train_ensemble(cells, NAMES, "fs", get_profile("quick"), threads=2)
    assert m.features[0] == "signal"
    assert {s["feature"] for s in m.selection} >= {"signal"}
    stack = [r for r in m.metrics["summary"] if r["kind"] == "stack"]
    assert all(r["spearman_masked"] > 0.6 and r["auc"] > 0.8 for r in stack)
    assert m.metrics["chosen"]["rule"] in ("mean", "union", "intersection")


def test_one_labelled_cell_trains_alone() -> None:
    m = train_ensemble([synthetic_cell("A", 1)], NAMES, "fs", get_profile("quick"), threads=2)
    assert m.setups == ["within:A"]
    assert {r["kind"] for r in m.metrics["summary"]} == {"within", "stack"}


def test_directions() -> None:
    rng = np.random.default_rng(0)
    assert selection_directions(["A"], rng) == [("A", "A")]
    assert selection_directions(["A", "B"], rng) == [("A", "B"), ("B", "A")]
    many = selection_directions([f"C{i}" for i in range(8)], rng)
    assert len(many) == training.MAX_DIRECTIONS
    assert len(set(many)) == len(many)
    assert plan_setups(["A", "B", "C"])[-1].cells == ("A", "B", "C")


def test_many_cells_stack_a_bounded_seeded_sample_of_within_cell_setups() -> None:
    cells = [f"C{i}" for i in range(20)]
    setups = plan_setups(cells, max_within=5, seed=3)
    within = [s for s in setups if s.name.startswith("within:")]
    assert len(within) == 5
    assert setups[-1].name == "pooled"
    assert setups[-1].cells == tuple(cells)  # the pooled setup still sees every cell
    assert [s.name for s in plan_setups(cells, max_within=5, seed=3)] == [s.name for s in setups]
    order = [cells.index(s.cells[0]) for s in within]
    assert order == sorted(order)
    assert len(plan_setups(cells[:5], max_within=5)) == 6  # at or below the bound: every cell alone, plus pooled


def test_a_unit_given_only_its_cells_and_the_rows_it_predicts_fits_and_predicts_the_same() -> None:
    from epigex.models.params import lgb_params
    from epigex.models.targets import rank_target

    cells = {c.name: c for c in (synthetic_cell("A", 1), synthetic_cell("B", 2), synthetic_cell("C", 3))}
    test = {n: c.chrom == "chr3" for n, c in cells.items()}
    unit = training.Unit(
        "within:A",
        "regressor",
        ("A",),
        train={n: (c.chrom != "chr3") & (c.chrom != "chr4") for n, c in cells.items()},
        stop={n: c.chrom == "chr4" for n, c in cells.items()},
        test=test,
        keep_booster=True,
    )
    X = {n: c.X for n, c in cells.items()}
    y = {n: rank_target(c.gex) for n, c in cells.items()}  # type: ignore[arg-type]
    params = lgb_params("regressor", get_profile("full"), 0)
    whole = training.run_unit(unit, X, y, params, NAMES, 200, 20)
    slim = training.Unit("within:A", "regressor", ("A",), {"A": unit.train["A"]}, {"A": unit.stop["A"]}, {}, True)
    rows = {n: X[n][m] for n, m in test.items()}
    part = training.run_unit(slim, {"A": X["A"]}, {"A": y["A"]}, params, NAMES, 200, 20, X_test=rows)
    assert whole[0] == part[0]
    assert whole[2] == part[2]  # the same booster, byte for byte
    assert set(part[1]) == {"A", "B", "C"}
    for n in cells:
        np.testing.assert_array_equal(whole[1][n], part[1][n])
