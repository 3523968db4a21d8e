"""Training the stacked two-stage ensemble: selection, validation (quick or LOCO), the mask sweep, final boosters.

No store I/O: cells come in as :class:`~models.dataset.CellData`, a :class:`TrainedModel` goes out.

Setups: each labelled cell alone (``within:<cell>``) and, with two or more cells, all pooled (``pooled``); the
stack averages them. A within-cell booster that predicts another cell's held-out genes is that pair's cross-cell
setup (``cross:<a>-><b>``): transfer is measured from the same boosters, at no extra training cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import permutations
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from models.boosters import contributions, fit_booster, predict_stage, rounds_of
from models.dataset import CellData
from models.folds import OuterFold, in_chroms, outer_folds
from models.params import STAGES, Profile, Stage, lgb_params
from models.selection import Selection, mean_abs_shap, select_features
from models.stacking import MaskRule, sweep
from models.targets import expressed_target, rank_target
from models.validation import validation_tables

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
ProgressFn = Callable[[str, float], None]
MAX_DIRECTIONS = 12
SELECTION_SAMPLE = 20_000


@dataclass(frozen=True)
class Setup:
    """A training setup: a name and the cells whose genes it trains on."""

    name: str
    cells: tuple[str, ...]


def plan_setups(cells: list[str]) -> list[Setup]:
    """The stacked setups: every cell alone, plus all pooled when there are two or more."""
    out = [Setup(f"within:{c}", (c,)) for c in cells]
    if len(cells) > 1:
        out.append(Setup("pooled", tuple(cells)))
    return out


def selection_directions(cells: list[str], rng: np.random.Generator) -> list[tuple[str, str]]:
    """Ordered (train, explain) cell pairs; a seeded sample when there are many; (a, a) for one cell."""
    if len(cells) == 1:
        return [(cells[0], cells[0])]
    pairs = list(permutations(cells, 2))
    if len(pairs) > MAX_DIRECTIONS:
        idx = np.sort(rng.choice(len(pairs), MAX_DIRECTIONS, replace=False))
        pairs = [pairs[i] for i in idx]
    return pairs


@dataclass
class TrainedModel:
    """Everything a training produced that the registry keeps."""

    profile: Profile
    seed: int
    threads: int
    feature_set: str
    features: list[str]
    selection: list[dict[str, Any]]
    cells: list[str]
    setups: list[str]
    boosters: dict[str, dict[Stage, lgb.Booster]]
    rule: MaskRule
    threshold: float
    metrics: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    n_boosters: int = 0

    def params(self, stage: Stage) -> dict[str, Any]:
        """The LightGBM parameters of a stage."""
        return lgb_params(stage, self.profile, self.seed, self.threads)


@dataclass
class _Targets:
    rank: F64
    expressed: npt.NDArray[np.int8]

    def of(self, stage: Stage) -> npt.NDArray[Any]:
        return self.expressed if stage == "classifier" else self.rank


class _Trainer:
    """Holds the cells, targets and counters of one training run."""

    def __init__(self, cells: list[CellData], profile: Profile, seed: int, threads: int, progress: ProgressFn | None):
        self.cells = {c.name: c for c in cells}
        self.profile = profile
        self.seed = seed
        self.threads = threads
        self.progress = progress
        self.targets = {}
        for c in cells:
            assert c.gex is not None
            self.targets[c.name] = _Targets(rank_target(c.gex), expressed_target(c.gex))
        self.n_boosters = 0
        self.planned = 1
        self.cols: npt.NDArray[np.int64] | None = None
        self.names: list[str] = []
        self.final: dict[tuple[str, Stage], lgb.Booster] = {}

    def tick(self, label: str) -> None:
        self.n_boosters += 1
        if self.progress:
            self.progress(label, min(1.0, self.n_boosters / self.planned))

    def X(self, cell: str, rows: Mask) -> F32:
        x = self.cells[cell].X[rows]
        return x if self.cols is None else np.ascontiguousarray(x[:, self.cols])

    def stack_rows(self, setup: Setup, rows: dict[str, Mask], stage: Stage) -> tuple[F32, npt.NDArray[Any]]:
        xs = [self.X(c, rows[c]) for c in setup.cells]
        ys = [self.targets[c].of(stage)[rows[c]] for c in setup.cells]
        return np.concatenate(xs), np.concatenate(ys)

    def fit(
        self, setup: Setup, stage: Stage, train: dict[str, Mask], stop: dict[str, Mask] | None, rounds: int | None
    ) -> lgb.Booster:
        params = lgb_params(stage, self.profile, self.seed, self.threads)
        X, y = self.stack_rows(setup, train, stage)
        valid = self.stack_rows(setup, stop, stage) if stop is not None else None
        b = fit_booster(
            X,
            y,
            params,
            self.names,
            valid=valid,
            rounds=rounds if rounds is not None else self.profile.max_rounds,
            early_stopping=self.profile.early_stopping,
        )
        self.tick(f"{setup.name} {stage}")
        return b


def _masks(cells: dict[str, CellData], fn: Callable[[CellData], Mask]) -> dict[str, Mask]:
    return {name: fn(c) for name, c in cells.items()}


def _select(tr: _Trainer, names: list[str], rng: np.random.Generator) -> Selection:
    """SHAP importances per direction and stage on the val split, then :func:`select_features`."""
    cells = list(tr.cells)
    directions = selection_directions(cells, rng)
    sources = sorted({a for a, _ in directions}, key=cells.index)
    boosters: dict[tuple[str, Stage], lgb.Booster] = {}
    for a in sources:
        setup = Setup(f"within:{a}", (a,))
        train = {a: tr.cells[a].split == "train"}
        stop = {a: tr.cells[a].split == "val"}
        for stage in STAGES:
            boosters[(a, stage)] = tr.fit(setup, stage, train, stop, None)
    importances: dict[str, dict[str, F64]] = {}
    for a, b in directions:
        rows = tr.cells[b].split == "val"
        importances[f"{a}->{b}"] = {
            stage: mean_abs_shap(contributions(boosters[(a, stage)], tr.X(b, rows))) for stage in STAGES
        }
    pooled = np.concatenate([c.X for c in tr.cells.values()])
    if pooled.shape[0] > SELECTION_SAMPLE:
        pooled = pooled[np.sort(rng.choice(pooled.shape[0], SELECTION_SAMPLE, replace=False))]
    return select_features(names, importances, pooled, tr.profile.select_top)


def _validate(
    tr: _Trainer, setups: list[Setup]
) -> tuple[dict[tuple[str, str], tuple[F64, F64]], dict[str, Mask], dict[tuple[str, Stage], list[int]]]:
    """Out-of-fold P(expressed) and rank of every setup on every cell, and the rounds each fold kept."""
    quick = tr.profile.name == "quick"
    evaluated = _masks(tr.cells, (lambda c: c.split == "val") if quick else (lambda c: np.ones(c.genes.size, bool)))
    oof = {
        (s.name, c): (np.full(cd.genes.size, np.nan), np.full(cd.genes.size, np.nan))
        for s in setups
        for c, cd in tr.cells.items()
    }
    rounds: dict[tuple[str, Stage], list[int]] = {(s.name, st): [] for s in setups for st in STAGES}
    folds: list[OuterFold | None] = [None]
    if not quick:
        all_chroms = np.concatenate([c.chrom for c in tr.cells.values()])
        folds = list(outer_folds(all_chroms, tr.profile.inner_groups))
    for fold in folds:
        if fold is None:
            test = _masks(tr.cells, lambda c: c.split == "val")
            train = _masks(tr.cells, lambda c: c.split == "train")
            stop: dict[str, Mask] | None = test
        else:
            test = {n: c.chrom == fold.held_out for n, c in tr.cells.items()}
            inner_val = {n: in_chroms(c.chrom, fold.inner_val) for n, c in tr.cells.items()}
            train = {c: ~test[c] & ~inner_val[c] for c in tr.cells}
            stop = inner_val
        for s in setups:
            for stage in STAGES:
                b = tr.fit(s, stage, train, stop, None)
                if fold is not None:  # refit on every chromosome but the held-out one, at the inner round count
                    n = rounds_of(b)
                    b = tr.fit(s, stage, {c: ~test[c] for c in tr.cells}, None, n)
                rounds[(s.name, stage)].append(rounds_of(b))
                for c in tr.cells:
                    rows = test[c]
                    if rows.any():
                        oof[(s.name, c)][0 if stage == "classifier" else 1][rows] = predict_stage(
                            b, stage, tr.X(c, rows)
                        )
                if fold is None:
                    tr.final[(s.name, stage)] = b
    return oof, evaluated, rounds


def train_ensemble(
    cells: list[CellData],
    names: list[str],
    feature_set: str,
    profile: Profile,
    *,
    seed: int = 0,
    threads: int = 2,
    features: list[str] | None = None,
    progress: ProgressFn | None = None,
) -> TrainedModel:
    """Select features (unless ``features`` is given), validate, sweep the mask, and fit the final boosters."""
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    rng = np.random.default_rng(seed)
    tr = _Trainer(cells, profile, seed, threads, progress)
    cell_names = [c.name for c in cells]
    setups = plan_setups(cell_names)
    n_dir_sources = len({a for a, _ in selection_directions(cell_names, np.random.default_rng(seed))})
    n_folds = 1 if profile.name == "quick" else len(np.unique(np.concatenate([c.chrom for c in cells])))
    per_fold = 1 if profile.name == "quick" else 2
    tr.planned = (0 if features else 2 * n_dir_sources) + len(setups) * 2 * (n_folds * per_fold + (n_folds > 1))

    tr.names = names
    if features is None:
        t0 = time.perf_counter()
        selection = _select(tr, names, rng)
        features = selection.selected
        scores: list[dict[str, Any]] = list(selection.scores)
        timings["selection"] = time.perf_counter() - t0
    else:
        unknown = [f for f in features if f not in names]
        if unknown:
            raise KeyError(f"features not in the feature set: {unknown[:3]}")
        scores = [{"feature": f, "fate": "given"} for f in features]
    index = {n: i for i, n in enumerate(names)}
    tr.cols = np.array([index[f] for f in features], dtype=np.int64)
    tr.names = list(features)

    t0 = time.perf_counter()
    oof, evaluated, rounds = _validate(tr, setups)
    timings["validation"] = time.perf_counter() - t0

    stacked = [s.name for s in setups]
    per_cell = []
    for c, cd in tr.cells.items():
        rows = evaluated[c]
        P = np.column_stack([oof[(s, c)][0][rows] for s in stacked])
        R = np.column_stack([oof[(s, c)][1][rows] for s in stacked])
        assert cd.gex is not None
        per_cell.append((P, R, cd.gex[rows]))
    chosen = sweep(per_cell)

    t0 = time.perf_counter()
    final: dict[str, dict[Stage, lgb.Booster]] = {s.name: {} for s in setups}
    if profile.name == "quick":
        for s in setups:
            for stage in STAGES:
                final[s.name][stage] = tr.final[(s.name, stage)]
    else:
        everything = _masks(tr.cells, lambda c: np.ones(c.genes.size, bool))
        for s in setups:
            for stage in STAGES:
                n = int(np.median(rounds[(s.name, stage)]))
                final[s.name][stage] = tr.fit(s, stage, everything, None, n)
    timings["final_fit"] = time.perf_counter() - t0

    metrics = validation_tables(tr.cells, oof, evaluated, stacked, chosen)
    metrics["rounds"] = {f"{s}/{st}": v for (s, st), v in rounds.items()}
    timings["total"] = time.perf_counter() - t_start
    return TrainedModel(
        profile=profile,
        seed=seed,
        threads=threads,
        feature_set=feature_set,
        features=list(features),
        selection=scores,
        cells=cell_names,
        setups=stacked,
        boosters=final,
        rule=chosen.rule,
        threshold=chosen.threshold,
        metrics=metrics,
        timings={k: round(v, 2) for k, v in timings.items()},
        n_boosters=tr.n_boosters,
    )
