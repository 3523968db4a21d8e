"""Reference-informed prediction: features by hand, and no leakage of a target's labels (proven, not hoped)."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epigex.models.metrics import spearman
from epigex.models.params import Stage
from epigex.models.reference_fit import (
    LabelledCell,
    build_views,
    fit_reference_model,
    target_rows,
    targets,
    validate,
)
from epigex.models.references import (
    CellView,
    ReferenceModel,
    agreement_class,
    align,
    blend_predict,
    choose_references,
    reference_features,
)


def _view(name: str, rank: list[float], top: list[float], y: list[float] | None = None) -> CellView:
    arr = np.asarray
    expressed = None if y is None else np.where(np.isnan(arr(y)), np.nan, (arr(y) > 0.5).astype(float))
    return CellView(
        name,
        arr(rank, dtype=float),
        arr([0.1, 0.2, 0.8, 0.9]),
        arr(top, dtype=np.float32)[:, None],
        None if y is None else arr(y, dtype=float),
        expressed,
    )


def test_features_by_hand() -> None:
    t = _view("T", [0.25, 0.5, 0.75, 1.0], [1, 2, 3, 4])
    a = _view("A", [0, 0, 0, 0], [0, 0, 1, 2], [0.2, np.nan, 0.6, 1.0])
    b = _view("B", [0, 0, 0, 0], [1, 1, 1, 1], [0.4, 0.8, np.nan, 0.6])
    f = reference_features(t, [(a, 0.5), (b, 0.5)], ["f"])  # equal similarity: equal weights
    np.testing.assert_allclose(f.column("ref"), [0.3, 0.8, 0.6, 0.8])
    np.testing.assert_allclose(f.column("ref_mean"), [0.3, 0.8, 0.6, 0.8])
    np.testing.assert_allclose(f.column("ref_sd"), [0.1, 0.0, 0.0, 0.2], atol=1e-12)
    np.testing.assert_allclose(f.column("ref_expr"), [0.0, 1.0, 1.0, 1.0])  # 0.2, 0.4 are "silent" here (≤ 0.5)
    np.testing.assert_allclose(f.column("n_refs"), [2, 1, 1, 2])
    np.testing.assert_allclose(f.column("d_f"), [0.5, 1.0, 2.0, 2.5])
    np.testing.assert_allclose(f.column("blend"), [0.25, 0.6875, 0.625, 0.9375])
    assert f.references_of() == ["A,B", "B", "A", "A,B"]
    assert agreement_class(f).tolist() == ["agree", "single", "single", "disagree"]
    # a closer reference weighs more: exp(10 × similarity)
    g = reference_features(t, [(a, 0.6), (b, 0.5)], ["f"])
    w = 1 / (1 + np.exp(-1.0))
    assert g.column("ref")[0] == pytest.approx(w * 0.2 + (1 - w) * 0.4)
    assert g.column("ref_mean")[0] == pytest.approx(0.3)  # the naive baseline stays unweighted


def test_no_reference_means_no_feature_and_the_blend_mask() -> None:
    t = _view("T", [0.25, 0.5, 0.75, 1.0], [1, 2, 3, 4])
    none = reference_features(t, [], ["f"])
    assert not none.has_ref.any()
    assert none.references_of() == ["", "", "", ""]
    a = _view("A", [0, 0, 0, 0], [0, 0, 0, 0], [0.1, 0.2, 0.9, 1.0])
    f = reference_features(t, [(a, 0.5)], ["f"])
    assert f.zero_share == 0.5  # A expresses two of its four genes
    b = blend_predict(f, q_factor=1.0)
    assert b.gex_predicted.tolist() == [0.0, 0.0, 0.75, 1.0]  # the lowest half (A's silent share) is silent
    assert ReferenceModel("blend", ["f"]).predict(f).gex_predicted.tolist() == [0.0, 0.0, 0.75, 1.0]


def test_align_by_gene_name() -> None:
    src = np.array(["b", "a", "c"])
    out = align(src, np.array([[2.0], [1.0], [3.0]]), np.array(["a", "z", "c", "b"]))
    np.testing.assert_array_equal(out[:, 0], [1.0, np.nan, 3.0, 2.0])
    assert np.isnan(align(np.array([], dtype=str), np.array([]), np.array(["a"]))).all()


def test_choose_references_never_the_target_and_the_most_similar_first() -> None:
    rng = np.random.default_rng(0)
    r = rng.random(200)
    t = CellView("T", r, r, np.zeros((200, 1), np.float32))
    close = CellView("C", r, r, t.top, r + rng.normal(0, 0.01, 200), np.ones(200))
    far = CellView("F", r, r, t.top, rng.random(200), np.ones(200))
    self_ = CellView("T", r, r, t.top, r, np.ones(200))
    chosen = choose_references(t, [far, self_, close])
    assert [c.name for c, _ in chosen] == ["C", "F"]
    assert chosen[0][1] > 0.9 > chosen[1][1]


# ------------------------------------------------------------------------ a small synthetic world, built in code


def _world(n_cells: int = 4, n_genes: int = 2400, seed: int = 0) -> tuple[list[LabelledCell], dict[str, dict]]:
    """Cells whose expression shares a gene factor (Spearman about 0.7 between cells), marks that are noisy copies
    of their own expression, six chromosomes; and a within-cell booster pair per cell."""
    rng = np.random.default_rng(seed)
    genes = np.array([f"g{i}" for i in range(n_genes)])
    chrom = np.array([f"chr{1 + i % 6}" for i in range(n_genes)])
    shared = rng.normal(size=n_genes)
    cells, within = [], {}
    for k in range(n_cells):
        z = 0.85 * shared + np.sqrt(1 - 0.85**2) * rng.normal(size=n_genes)
        gex = np.where(z > 0, np.exp(z), 0.0)
        X = np.column_stack([z + rng.normal(0, 0.8, n_genes) for _ in range(3)]).astype(np.float32)
        name = f"C{k}"
        cells.append(LabelledCell(name, genes, chrom, X, gex))
        params = {"verbose": -1, "num_threads": 1, "deterministic": True, "force_col_wise": True, "seed": 0}
        rank = (np.argsort(np.argsort(gex)) + 1) / n_genes
        clf = lgb.train({**params, "objective": "binary"}, lgb.Dataset(X, (gex > 0).astype(float)), 30)
        reg = lgb.train({**params, "objective": "regression"}, lgb.Dataset(X, rank), 30)
        within[f"within:{name}"] = {"classifier": clf, "regressor": reg}
    return cells, within


def _targets(cells: list[LabelledCell], within: dict[str, dict[Stage, lgb.Booster]]) -> list:
    return targets(cells, build_views(cells, within, "mean", 0.4, [0, 1, 2]), seed=0)


def test_a_targets_own_labels_never_enter_its_features() -> None:
    cells, within = _world()
    before = {t.name: target_rows(t, ["a", "b", "c"]) for t in _targets(cells, within)}
    shuffled = [
        LabelledCell(
            c.name, c.genes, c.chrom, c.X, np.random.default_rng(1).permutation(c.gex) if c.name == "C0" else c.gex
        )
        for c in cells
    ]
    after = {t.name: target_rows(t, ["a", "b", "c"]) for t in _targets(shuffled, within)}
    np.testing.assert_array_equal(before["C0"].full.X, after["C0"].full.X)  # C0's labels changed, its features not
    np.testing.assert_array_equal(before["C0"].single.X, after["C0"].single.X)
    assert not np.array_equal(before["C1"].full.X, after["C1"].full.X, equal_nan=True)  # C0 informs C1


def test_with_a_targets_labels_shuffled_its_validation_falls_to_chance() -> None:
    cells, within = _world()
    fit = fit_reference_model(cells, within, "mean", 0.4, ["a", "b", "c"], [0, 1, 2], seed=0, threads=1)
    honest = {c["cell"]: c for c in fit.metrics["cells"]}
    assert all(honest[c][k] > 0.6 for c in honest for k in ("learned", "blend"))
    rng = np.random.default_rng(7)
    shuffled = [
        LabelledCell(c.name, c.genes, c.chrom, c.X, rng.permutation(c.gex) if c.name == "C2" else c.gex) for c in cells
    ]
    fit2 = fit_reference_model(shuffled, within, "mean", 0.4, ["a", "b", "c"], [0, 1, 2], seed=0, threads=1)
    row = next(c for c in fit2.metrics["cells"] if c["cell"] == "C2")
    assert abs(row["learned"]) < 0.06
    assert abs(row["blend"]) < 0.06
    assert abs(row["references alone"]) < 0.06


def test_a_targets_labels_on_a_held_out_chromosome_group_never_reach_its_predictions_there() -> None:
    cells, within = _world()
    ts = _targets(cells, within)
    oof, groups = validate(ts, ["a", "b", "c"], seed=0, threads=1)
    target = cells[1]
    g = groups["chr2"]
    held = np.array([groups[c] == g for c in target.chrom])
    gex = target.gex.copy()
    gex[held] = np.random.default_rng(3).permutation(gex[held])  # the same values, other genes, on that group
    moved = [LabelledCell(c.name, c.genes, c.chrom, c.X, gex if c is target else c.gex) for c in cells]
    oof2, _ = validate(_targets(moved, within), ["a", "b", "c"], seed=0, threads=1)
    for part in ("rank", "p"):
        np.testing.assert_array_equal(getattr(oof, part)["C1"][held], getattr(oof2, part)["C1"][held])
    for q in (0.6, 1.0):
        np.testing.assert_array_equal(oof.blend[("C1", q)][held], oof2.blend[("C1", q)][held])
    assert not np.array_equal(oof.rank["C1"][~held], oof2.rank["C1"][~held])  # elsewhere its labels do count


def test_one_labelled_cell_gets_the_closed_form_blend() -> None:
    cells, within = _world(n_cells=1)
    fit = fit_reference_model(cells, within, "mean", 0.4, ["a", "b", "c"], [0, 1, 2], seed=0, threads=1)
    assert fit.model.mode == "blend"
    assert "one labelled cell" in fit.metrics["why"]


def test_the_learned_model_beats_both_naive_baselines_on_the_synthetic_world() -> None:
    cells, within = _world(n_cells=5)
    fit = fit_reference_model(cells, within, "mean", 0.4, ["a", "b", "c"], [0, 1, 2], seed=0, threads=2)
    rows = fit.metrics["cells"]
    chosen = fit.model.mode
    for r in rows:
        assert r[chosen] > r["references alone"]
        assert r[chosen] > r["marks only"]
    assert np.mean([r[chosen] for r in rows]) > np.mean([r["rank average"] for r in rows])
    assert spearman(np.arange(5.0), np.arange(5.0)) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False) | st.just(float("nan")), min_size=1, max_size=40))
def test_ranks_against_a_basis_of_every_value_are_plain_average_ranks(values: list[float]) -> None:
    from epigex.models.references import rank01

    x = np.array(values)
    np.testing.assert_allclose(rank01(x, np.ones(x.size, bool)), rank01(x), equal_nan=True)
