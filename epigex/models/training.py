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

from epigex.models.binned import BinnedRows
from epigex.models.boosters import contributions, predict_stage, rounds_of, train_booster
from epigex.models.dataset import CellData
from epigex.models.folds import OuterFold, in_chroms, outer_folds
from epigex.models.parallel import run_concurrently
from epigex.models.params import STAGES, Profile, Stage, lgb_params
from epigex.models.reference_fit import CELL_GROUPS, CHROM_GROUPS, LabelledCell, ReferenceFit, fit_reference_model
from epigex.models.references import N_TOP, ReferenceModel
from epigex.models.selection import Selection, mean_abs_shap, select_features
from epigex.models.stacking import RECIPE, Choice, Combiner, MaskRule, SweepResult, choose, stack
from epigex.models.targets import expressed_target, rank_target
from epigex.models.uncertainty import OOFSample, fit_uncertainty
from epigex.models.validation import validation_tables
from epigex.store.types import F32, F64, I8, I64, Mask, ProgressFn

MAX_DIRECTIONS = 12
MAX_WITHIN_SETUPS = 8  # within-cell setups stacked beside the pooled one (a seeded sample beyond this)
SELECTION_SAMPLE = 20_000


@dataclass(frozen=True)
class Setup:
    """A training setup: a name and the cells whose genes it trains on."""

    name: str
    cells: tuple[str, ...]


def plan_setups(cells: list[str], max_within: int = MAX_WITHIN_SETUPS, seed: int = 0) -> list[Setup]:
    """The stacked setups: each cell alone (a seeded sample of ``max_within`` when there are more), plus all
    pooled when there are two or more.

    With hundreds of labelled cells one within-cell setup per cell would multiply the boosters (and each
    validation task's inputs) by the number of cells; the pooled setup sees every cell, the sample keeps the
    stack's diversity at a bounded cost.
    """
    chosen = cells
    if len(cells) > max_within:
        idx = np.sort(np.random.default_rng(seed).choice(len(cells), max_within, replace=False))
        chosen = [cells[i] for i in idx]
    out = [Setup(f"within:{c}", (c,)) for c in chosen]
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


Fit = tuple[Setup, Stage, dict[str, Mask], dict[str, Mask] | None, int | None]  # setup, stage, train, stop, rounds


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
    tracks: list[str] | None = None  # the track set it was restricted to (None: every track of its cells)
    combiner: Combiner = RECIPE  # setup weights and stage combination chosen on out-of-fold predictions
    references: ReferenceModel | None = None  # how the labelled cells' measured expression informs a prediction


@dataclass
class _Targets:
    rank: F64
    expressed: I8

    def of(self, stage: Stage) -> npt.NDArray[Any]:
        return self.expressed if stage == "classifier" else self.rank


class TrainingRun:
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
        self.done = 0
        self.planned = 1
        self.cols: I64 | None = None
        self.names: list[str] = []
        self.final: dict[tuple[str, Stage], lgb.Booster] = {}
        self.binned: dict[tuple[str, ...], BinnedRows] = {}  # each setup's cells binned once, on ``cols``

    def tick(self, label: str, booster: bool = True) -> None:
        """One planned fit done (``booster``: one of the ensemble's; the reference model's fits are not counted)."""
        self.done += 1
        self.n_boosters += booster
        if self.progress:
            self.progress(label, min(1.0, self.done / self.planned))

    def X(self, cell: str, rows: Mask) -> F32:
        x = self.cells[cell].X[rows]
        return x if self.cols is None else np.ascontiguousarray(x[:, self.cols])

    def fit(
        self, setup: Setup, stage: Stage, train: dict[str, Mask], stop: dict[str, Mask] | None, rounds: int | None
    ) -> lgb.Booster:
        params = lgb_params(stage, self.profile, self.seed)
        binned = self.binned[setup.cells]
        y = {c: self.targets[c].of(stage) for c in setup.cells}
        return train_booster(
            params,
            binned.rows(train, y),
            None if stop is None else binned.rows(stop, y),
            rounds=rounds if rounds is not None else self.profile.max_rounds,
            early_stopping=self.profile.early_stopping,
        )

    def bin_setups(self, setups: list[tuple[str, ...]], X: dict[str, F32] | None = None) -> None:
        """Bin the rows of each distinct cell group not binned yet (on the current columns), ``threads`` at once.

        ``X``: the cells' matrices on the current columns when the caller holds them already (else made here).
        """
        todo = list(dict.fromkeys(c for c in setups if c not in self.binned))
        if X is None:
            X = {c: self.X(c, np.ones(d.genes.size, bool)) for c, d in self.cells.items() if any(c in t for t in todo)}
        params = lgb_params(STAGES[0], self.profile, self.seed)

        def task(cells: tuple[str, ...]) -> Callable[[], BinnedRows]:
            return lambda: BinnedRows.build(X, cells, params, self.names)

        for cells, b in zip(todo, run_concurrently([task(t) for t in todo], self.threads), strict=True):
            self.binned[cells] = b

    def narrow(self, cols: I64, names: list[str]) -> None:
        """Train on these columns (and names) of the cells' matrices from now on; earlier bins are dropped."""
        self.cols = cols
        self.names = names
        self.binned = {}

    def fit_all(self, fits: list[Fit]) -> list[lgb.Booster]:
        """:meth:`fit` each ``(setup, stage, train, stop, rounds)``, ``threads`` at a time; boosters in order."""
        self.bin_setups([f[0].cells for f in fits])

        def task(job: Fit) -> Callable[[], lgb.Booster]:
            return lambda: self.fit(*job)

        return run_concurrently(
            [task(f) for f in fits], self.threads, lambda i: self.tick(f"{fits[i][0].name} {fits[i][1]}")
        )


def _masks(cells: dict[str, CellData], fn: Callable[[CellData], Mask]) -> dict[str, Mask]:
    return {name: fn(c) for name, c in cells.items()}


def _select(tr: TrainingRun, names: list[str], rng: np.random.Generator) -> Selection:
    """SHAP importances per direction and stage on the val split, then :func:`select_features`."""
    cells = list(tr.cells)
    directions = selection_directions(cells, rng)
    sources = sorted({a for a, _ in directions}, key=cells.index)
    keys = [(a, stage) for a in sources for stage in STAGES]
    fitted = tr.fit_all(
        [
            (
                Setup(f"within:{a}", (a,)),
                stage,
                {a: tr.cells[a].split == "train"},
                {a: tr.cells[a].split == "val"},
                None,
            )
            for a, stage in keys
        ]
    )
    boosters: dict[tuple[str, Stage], lgb.Booster] = dict(zip(keys, fitted, strict=True))
    pairs = [(a, b, stage) for a, b in directions for stage in STAGES]

    def shap(a: str, b: str, stage: Stage) -> Callable[[], F64]:
        return lambda: mean_abs_shap(contributions(boosters[(a, stage)], tr.X(b, tr.cells[b].split == "val")))

    importances: dict[str, dict[str, F64]] = {f"{a}->{b}": {} for a, b in directions}
    for (a, b, stage), imp in zip(pairs, run_concurrently([shap(*p) for p in pairs], tr.threads), strict=True):
        importances[f"{a}->{b}"][stage] = imp
    pooled = np.concatenate([c.X for c in tr.cells.values()])
    if pooled.shape[0] > SELECTION_SAMPLE:
        pooled = pooled[np.sort(rng.choice(pooled.shape[0], SELECTION_SAMPLE, replace=False))]
    return select_features(names, importances, pooled, tr.profile.select_top)


@dataclass
class Unit:
    """One (fold, setup, stage) of validation: which rows train, which stop early and which are predicted."""

    setup: str
    stage: Stage
    cells: tuple[str, ...]
    train: dict[str, Mask]
    stop: dict[str, Mask]
    test: dict[str, Mask]
    keep_booster: bool


def run_unit(
    unit: Unit,
    X: dict[str, F32],
    y: dict[str, npt.NDArray[Any]],
    params: dict[str, Any],
    names: list[str],
    max_rounds: int,
    early_stopping: int,
    X_test: dict[str, F32] | None = None,
    binned: BinnedRows | None = None,
) -> tuple[int, dict[str, F64], str | None, int]:
    """Fit one unit's booster(s); return the rounds kept, predictions per cell, the model text, boosters fitted.

    A plain function of arrays, so it runs the same in this process or as a Dask task on a worker. ``X`` and
    ``y`` need only the unit's own cells; ``X_test`` (the rows to predict, per cell) replaces ``X[c][test]`` so
    that a task is not sent every cell's whole matrix. ``binned`` is the unit's cells already binned (binned
    here from ``X`` when not given: the same bins either way).
    """
    if binned is None:
        binned = BinnedRows.build(X, unit.cells, params, names)
    b = train_booster(
        params, binned.rows(unit.train, y), binned.rows(unit.stop, y), rounds=max_rounds, early_stopping=early_stopping
    )
    fitted = 1
    if X_test is not None:
        preds = {c: predict_stage(b, unit.stage, x) for c, x in X_test.items()}
    else:
        preds = {c: predict_stage(b, unit.stage, X[c][m]) for c, m in unit.test.items() if m.any()}
    return rounds_of(b), preds, (b.model_to_string() if unit.keep_booster else None), fitted


UnitRunner = Callable[[list[Unit], "TrainingRun"], list[tuple[int, dict[str, F64], str | None, int]]]
PooledFitter = Callable[[Stage, dict[str, Mask], int, "TrainingRun"], lgb.Booster]


def local_units(units: list[Unit], tr: TrainingRun) -> list[tuple[int, dict[str, F64], str | None, int]]:
    """Run validation units in this process, ``threads`` at a time (:mod:`models.parallel`)."""
    X = {c: tr.X(c, np.ones(cd.genes.size, bool)) for c, cd in tr.cells.items()}
    tr.bin_setups([u.cells for u in units], X)

    def task(u: Unit) -> Callable[[], tuple[int, dict[str, F64], str | None, int]]:
        y = {c: tr.targets[c].of(u.stage) for c in tr.cells}
        params = lgb_params(u.stage, tr.profile, tr.seed)
        binned = tr.binned[u.cells]
        return lambda: run_unit(
            u, X, y, params, tr.names, tr.profile.max_rounds, tr.profile.early_stopping, binned=binned
        )

    def done(i: int) -> None:
        tr.tick(f"{units[i].setup} {units[i].stage}")

    return run_concurrently([task(u) for u in units], tr.threads, done)


def validation_units(cells: dict[str, CellData], setups: list[Setup], profile: Profile) -> list[Unit]:
    """Every validation unit, fold by fold (setups × stages within a fold): the val split for ``quick``, one
    held-out chromosome per fold for ``full`` (trained on the other chromosomes but its inner group, on which it
    stops early, and predicting the held-out one)."""
    quick = profile.on_val_split
    folds: list[OuterFold | None] = [None]
    if not quick:
        folds = list(outer_folds(np.concatenate([c.chrom for c in cells.values()]), profile.inner_groups))
    units: list[Unit] = []
    for fold in folds:
        if fold is None:
            test = _masks(cells, lambda c: c.split == "val")
            train = _masks(cells, lambda c: c.split == "train")
            stop = test
        else:
            test = {n: c.chrom == fold.held_out for n, c in cells.items()}
            inner_val = {n: in_chroms(c.chrom, fold.inner_val) for n, c in cells.items()}
            train = {c: ~test[c] & ~inner_val[c] for c in cells}
            stop = inner_val
        for s in setups:
            for stage in STAGES:
                units.append(Unit(s.name, stage, s.cells, train, stop, test, keep_booster=quick))
    return units


def _validate(
    tr: TrainingRun, setups: list[Setup], unit_runner: UnitRunner = local_units
) -> tuple[dict[tuple[str, str], tuple[F64, F64]], dict[str, Mask], dict[tuple[str, Stage], list[int]]]:
    """Out-of-fold P(expressed) and rank of every setup on every cell, and the rounds each fold kept."""
    quick = tr.profile.on_val_split
    evaluated = _masks(tr.cells, (lambda c: c.split == "val") if quick else (lambda c: np.ones(c.genes.size, bool)))
    oof = {
        (s.name, c): (np.full(cd.genes.size, np.nan), np.full(cd.genes.size, np.nan))
        for s in setups
        for c, cd in tr.cells.items()
    }
    rounds: dict[tuple[str, Stage], list[int]] = {(s.name, st): [] for s in setups for st in STAGES}
    units = validation_units(tr.cells, setups, tr.profile)
    for u, (n, preds, text, _) in zip(units, unit_runner(units, tr), strict=True):
        rounds[(u.setup, u.stage)].append(n)
        for c, p in preds.items():
            oof[(u.setup, c)][0 if u.stage == "classifier" else 1][u.test[c]] = p
        if text is not None:
            tr.final[(u.setup, u.stage)] = lgb.Booster(model_str=text)
    return oof, evaluated, rounds


def oof_samples(
    tr: TrainingRun,
    setups: list[Setup],
    oof: dict[tuple[str, str], tuple[F64, F64]],
    evaluated: dict[str, Mask],
    chosen: SweepResult,
    combiner: Combiner = RECIPE,
) -> list[OOFSample]:
    """Each cell's out-of-fold predictions: the stack's on its held-out genes, and each setup's that never saw it."""
    out = []
    stacked = [s.name for s in setups]
    for c, cd in tr.cells.items():
        rows = evaluated[c]
        assert cd.gex is not None
        P = np.column_stack([oof[(s, c)][0][rows] for s in stacked])
        R = np.column_stack([oof[(s, c)][1][rows] for s in stacked])
        st = stack(P, R, chosen.rule, chosen.threshold, combiner)
        ok = np.isfinite(st.p_expressed) & np.isfinite(st.gex_predicted)
        out.append(
            OOFSample(c, "in-cell", st.p_expressed[ok], st.gex_predicted[ok], cd.gex[rows][ok], cd.chrom[rows][ok])
        )
        for s in setups:
            if c in s.cells:
                continue
            p, r = oof[(s.name, c)][0][rows], oof[(s.name, c)][1][rows]
            one = stack(p[:, None], r[:, None], chosen.rule, chosen.threshold, Combiner(combiner.combine))
            ok = np.isfinite(one.p_expressed) & np.isfinite(one.gex_predicted)
            out.append(
                OOFSample(
                    c, "cross-cell", one.p_expressed[ok], one.gex_predicted[ok], cd.gex[rows][ok], cd.chrom[rows][ok]
                )
            )
    return out


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
    unit_runner: UnitRunner | None = None,
    pooled_fitter: PooledFitter | None = None,
) -> TrainedModel:
    """Select features (unless ``features`` is given), validate, sweep the mask, and fit the final boosters.

    ``unit_runner`` runs the validation units (default: here, one by one; :mod:`models.distributed` runs them as
    Dask tasks); ``pooled_fitter`` fits the final pooled boosters (default: here; or with ``lightgbm.dask``).
    """
    # long by design: the training in sequence (selection, validation, stack, final fits, references), a call each
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    rng = np.random.default_rng(seed)
    tr = TrainingRun(cells, profile, seed, threads, progress)
    cell_names = [c.name for c in cells]
    setups = plan_setups(cell_names, seed=seed)
    n_dir_sources = len({a for a, _ in selection_directions(cell_names, np.random.default_rng(seed))})
    n_folds = 1 if profile.on_val_split else len(np.unique(np.concatenate([c.chrom for c in cells])))
    ref_fits = 2 * CHROM_GROUPS * min(CELL_GROUPS, len(cells)) if len(cells) > 1 else 0  # reference validation
    tr.planned = (0 if features else 2 * n_dir_sources) + len(setups) * 2 * (n_folds + (n_folds > 1)) + ref_fits

    t0 = time.perf_counter()
    features, scores = _features(tr, names, features, rng)
    timings["selection"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    oof, evaluated, rounds = _validate(tr, setups, unit_runner or local_units)
    timings["validation"] = time.perf_counter() - t0

    stacked = [s.name for s in setups]
    choice = _choose_stack(tr, oof, evaluated, stacked)
    chosen = choice.sweep

    t0 = time.perf_counter()
    final = _final_boosters(tr, setups, rounds, pooled_fitter)
    tr.binned = {}  # the last fits are done: the binned copies go before the reference model's own
    timings["final_fit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    refs = _fit_references(tr, final, chosen, scores)
    timings["references"] = time.perf_counter() - t0

    metrics = validation_tables(tr.cells, oof, evaluated, stacked, chosen, choice.combiner)
    metrics["references"] = refs.metrics
    metrics["stack_choice"] = {
        "chosen": choice.combiner.describe(),
        "candidates": choice.candidates,
        "recipe": {"rule": choice.recipe.rule, "threshold": choice.recipe.threshold},
    }
    metrics["rounds"] = {f"{s}/{st}": v for (s, st), v in rounds.items()}
    t0 = time.perf_counter()
    unc, evidence = fit_uncertainty(oof_samples(tr, setups, oof, evaluated, chosen, choice.combiner))
    metrics["uncertainty"] = {"model": unc.to_dict(), **evidence}
    timings["uncertainty"] = time.perf_counter() - t0
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
        combiner=choice.combiner,
        references=refs.model,
    )


def _features(
    tr: TrainingRun, names: list[str], features: list[str] | None, rng: np.random.Generator
) -> tuple[list[str], list[dict[str, Any]]]:
    """The features to train on (selected by cross-cell SHAP, or given) with every candidate's scores; the run's
    matrices are narrowed to them."""
    tr.names = names
    if features is None:
        selection = _select(tr, names, rng)
        features, scores = selection.selected, list(selection.scores)
    else:
        unknown = [f for f in features if f not in names]
        if unknown:
            raise KeyError(f"features not in the feature set: {unknown[:3]}")
        scores = [{"feature": f, "fate": "given"} for f in features]
    index = {n: i for i, n in enumerate(names)}
    tr.narrow(np.array([index[f] for f in features], dtype=np.int64), list(features))
    return list(features), scores


def _choose_stack(
    tr: TrainingRun, oof: dict[tuple[str, str], tuple[F64, F64]], evaluated: dict[str, Mask], stacked: list[str]
) -> Choice:
    """How the setups combine (mask rule, threshold, weights), chosen on the out-of-fold predictions."""
    per_cell = []
    for c, cd in tr.cells.items():
        rows = evaluated[c]
        P = np.column_stack([oof[(s, c)][0][rows] for s in stacked])
        R = np.column_stack([oof[(s, c)][1][rows] for s in stacked])
        assert cd.gex is not None
        per_cell.append((P, R, cd.gex[rows]))
    return choose(
        per_cell,
        [tr.targets[c].rank[evaluated[c]] for c in tr.cells],
        [tr.targets[c].expressed[evaluated[c]].astype(np.float64) for c in tr.cells],
    )


def _final_boosters(
    tr: TrainingRun,
    setups: list[Setup],
    rounds: dict[tuple[str, Stage], list[int]],
    pooled_fitter: PooledFitter | None,
) -> dict[str, dict[Stage, lgb.Booster]]:
    """The stacked boosters: the quick profile's early-stopped ones, or every setup refit at its median round count
    (the pooled one on Dask when ``pooled_fitter`` is given)."""
    final: dict[str, dict[Stage, lgb.Booster]] = {s.name: {} for s in setups}
    quick = tr.profile.on_val_split
    rows_final = _masks(tr.cells, (lambda c: c.split == "train") if quick else (lambda c: np.ones(c.genes.size, bool)))
    refits: list[Fit] = []
    for s in setups:
        for stage in STAGES:
            n = int(np.median(rounds[(s.name, stage)]))
            if s.name == "pooled" and pooled_fitter is not None:
                final[s.name][stage] = pooled_fitter(stage, rows_final, n, tr)
                tr.tick(f"{s.name} {stage} (distributed)")
            elif quick:
                final[s.name][stage] = tr.final[(s.name, stage)]
            else:
                refits.append((s, stage, rows_final, None, n))
    for (s, stage, *_), b in zip(refits, tr.fit_all(refits), strict=True):
        final[s.name][stage] = b
    return final


def _fit_references(
    tr: TrainingRun, final: dict[str, dict[Stage, lgb.Booster]], chosen: SweepResult, scores: list[dict[str, Any]]
) -> ReferenceFit:
    """The reference model, on the labelled cells with the final within-cell boosters as their cross predictors."""
    importance = {r["feature"]: float(r.get("mean_abs_shap") or 0.0) for r in scores}
    order = sorted(range(len(tr.names)), key=lambda j: (-importance.get(tr.names[j], 0.0), j))[:N_TOP]
    cells = [
        LabelledCell(c, cd.genes, cd.chrom, tr.X(c, np.ones(cd.genes.size, bool)), cd.gex)  # type: ignore[arg-type]
        for c, cd in tr.cells.items()
    ]
    within = {s: b for s, b in final.items() if s.startswith("within:")}
    return fit_reference_model(
        cells,
        within,
        chosen.rule,
        chosen.threshold,
        [tr.names[j] for j in order],
        order,
        seed=tr.seed,
        threads=tr.threads,
        tick=lambda: tr.tick("reference model", booster=False),
    )
