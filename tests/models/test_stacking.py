"""Mask arithmetic, stacking and the threshold / rule sweep."""

from __future__ import annotations

import numpy as np
import pytest

from epigex.models.stacking import expressed_mask, stack, sweep


def test_mask_rules_by_hand() -> None:
    p = np.array([[0.3, 0.5], [0.45, 0.45], [0.9, 0.1], [0.2, 0.3]])
    assert expressed_mask(p, "mean", 0.4).tolist() == [True, True, True, False]
    assert expressed_mask(p, "union", 0.4).tolist() == [True, True, True, False]
    assert expressed_mask(p, "intersection", 0.4).tolist() == [False, True, False, False]
    assert expressed_mask(p, "union", 0.95).tolist() == [False] * 4
    with pytest.raises(ValueError, match="unknown mask rule"):
        expressed_mask(p, "median", 0.4)  # type: ignore[arg-type]


def test_stack_is_mean_rank_times_mask() -> None:
    p = np.array([[0.8, 0.6], [0.1, 0.3]])
    r = np.array([[0.9, 0.7], [0.4, 0.2]])
    st = stack(p, r, "mean", 0.4)
    np.testing.assert_allclose(st.rank_predicted, [0.8, 0.3])
    np.testing.assert_allclose(st.p_expressed, [0.7, 0.2])
    np.testing.assert_allclose(st.gex_predicted, [0.8, 0.0])
    one = stack(np.array([0.5, 0.39]), np.array([0.6, 0.7]))  # one setup, default rule and threshold 0.40
    np.testing.assert_allclose(one.gex_predicted, [0.6, 0.0])


def test_sweep_finds_the_informative_threshold(rng: np.random.Generator) -> None:
    n = 2000
    gex = np.where(rng.random(n) < 0.5, 0.0, rng.lognormal(size=n))
    on = gex > 0
    # the classifier is right: P is 0.7 for expressed genes, 0.2 otherwise; the rank is noisy
    p = np.where(on, 0.7, 0.2)[:, None] + rng.normal(0, 0.02, (n, 2))
    r = (np.argsort(np.argsort(gex + rng.normal(0, 2, n))) / n)[:, None] + np.zeros((n, 2))
    res = sweep([(p, r, gex)])
    assert 0.25 <= res.threshold <= 0.65
    assert res.spearman > res.unmasked + 0.05
    assert len(res.curve) == 3 * 19


def test_sweep_prefers_the_default_on_ties() -> None:
    gex = np.array([0.0, 0.0, 1.0, 2.0, 3.0])
    p = np.array([[0.01], [0.02], [0.98], [0.99], [0.97]])  # every threshold in 0.05..0.95 separates equally
    r = np.array([[0.1], [0.2], [0.5], [0.7], [0.9]])
    res = sweep([(p, r, gex)])
    assert (res.rule, res.threshold) == ("mean", 0.4)


def test_combiner_weights_and_soft_combination_by_hand() -> None:
    from epigex.models.stacking import Combiner

    p = np.array([[0.9, 0.1], [0.2, 0.2]])
    r = np.array([[0.8, 0.4], [0.6, 0.2]])
    w = Combiner("mask", (3.0, 1.0), (1.0, 1.0))
    st = stack(p, r, "mean", 0.4, w)
    np.testing.assert_allclose(st.rank_predicted, [0.7, 0.5])  # (3 × 0.8 + 0.4) / 4, (3 × 0.6 + 0.2) / 4
    np.testing.assert_allclose(st.gex_predicted, [0.7, 0.0])  # mean P 0.5 ≥ 0.4; 0.2 < 0.4
    soft = stack(p, r, "mean", 0.4, Combiner("soft"))
    np.testing.assert_allclose(soft.gex_predicted, [0.5 * 0.6, 0.2 * 0.4])


def test_combiner_round_trip_and_models_without_one_use_the_recipe() -> None:
    from epigex.models.stacking import RECIPE, Combiner

    c = Combiner("soft", (0.25, 0.75), None)
    assert Combiner.from_dict(c.to_dict()) == c
    assert Combiner.from_dict(None) is RECIPE
    with pytest.raises(ValueError, match="unknown stage combination"):
        Combiner.from_dict({"combine": "median"})


def _cells(rng: np.random.Generator, noise_setup: bool) -> tuple[list, list, list]:  # type: ignore[type-arg]
    from epigex.models.targets import expressed_target, rank_target

    per_cell, ranks, expressed = [], [], []
    for _ in range(2):
        n = 3000
        gex = np.where(rng.random(n) < 0.4, 0.0, rng.lognormal(0, 1, n))
        t = rank_target(gex)
        good_r = t + rng.normal(0, 0.1, n)
        good_p = np.clip((gex > 0) * 0.8 + rng.normal(0.1, 0.1, n), 0, 1)
        other_r = rng.random(n) if noise_setup else t + rng.normal(0, 0.1, n)
        other_p = rng.random(n) if noise_setup else np.clip((gex > 0) * 0.8 + rng.normal(0.1, 0.1, n), 0, 1)
        per_cell.append((np.column_stack([good_p, other_p]), np.column_stack([good_r, other_r]), gex))
        ranks.append(t)
        expressed.append(expressed_target(gex).astype(float))
    return per_cell, ranks, expressed


def test_choose_learns_to_ignore_a_setup_of_noise() -> None:
    from epigex.models.stacking import choose

    per_cell, ranks, expressed = _cells(np.random.default_rng(0), noise_setup=True)
    c = choose(per_cell, ranks, expressed)
    assert c.combiner.weights is not None
    assert c.combiner.weights[0] > 0.9  # the noise setup gets (almost) no weight
    recipe = next(x["spearman"] for x in c.candidates if str(x["candidate"]).startswith("recipe"))
    assert c.sweep.spearman > float(recipe) + 0.05


def test_choose_keeps_the_recipe_when_nothing_beats_it() -> None:
    from epigex.models.stacking import RECIPE, choose

    per_cell, ranks, expressed = _cells(np.random.default_rng(1), noise_setup=False)
    c = choose(per_cell, ranks, expressed)
    best_other = max(float(x["spearman"]) for x in c.candidates if not str(x["candidate"]).startswith("recipe"))
    recipe = float(c.candidates[0]["spearman"])
    assert (c.combiner == RECIPE) == (best_other <= recipe + 0.0005)
