"""Training profiles and the LightGBM parameters of each stage, deterministic by construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from epigex.store.errors import InputError

Stage = Literal["classifier", "regressor"]
STAGES: tuple[Stage, ...] = ("classifier", "regressor")


Validation = Literal["split", "loco"]


@dataclass(frozen=True, kw_only=True)
class Profile:
    """How much validation a training does and how its boosters grow (built by keyword only).

    ``validation="split"`` (the ``quick`` profile) trains one booster per setup and stage on the course's train
    split and stops early on its val split; ``"loco"`` (``full``) runs leave-one-chromosome-out over train + val:
    each held-out chromosome is predicted by a booster trained on the other chromosomes but an inner group, on
    which it stops early; each stacked setup is then refit on every training chromosome at the folds' median
    round count.
    """

    name: str
    validation: Validation
    learning_rate: float
    max_rounds: int
    early_stopping: int
    num_leaves: int
    max_depth: int
    min_data_in_leaf: int
    feature_fraction: float
    bagging_fraction: float
    lambda_l2: float
    max_bin: int
    select_top: int  # features kept per ranking (mean |SHAP|, stability) before the union
    inner_groups: int  # chromosome groups of the inner fold (full profile)

    @property
    def on_val_split(self) -> bool:
        """Whether validation uses the course's val split (else leave-one-chromosome-out over train + val)."""
        return self.validation == "split"

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain JSON-able values."""
        return asdict(self)


BOOSTER_THREADS = 1

PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        validation="split",
        learning_rate=0.08,
        max_rounds=600,
        early_stopping=40,
        num_leaves=15,
        max_depth=5,
        min_data_in_leaf=40,
        feature_fraction=0.5,
        bagging_fraction=0.8,
        lambda_l2=1.0,
        max_bin=63,
        select_top=50,
        inner_groups=4,
    ),
    "full": Profile(
        name="full",
        validation="loco",
        learning_rate=0.08,  # 0.05 and patience 60 until 2026-12: 2.8x the time, the same X3 Spearman (BENCHMARKS)
        max_rounds=1500,
        early_stopping=30,
        num_leaves=15,
        max_depth=5,
        min_data_in_leaf=40,
        feature_fraction=0.5,
        bagging_fraction=0.8,
        lambda_l2=1.0,
        max_bin=63,
        select_top=60,
        inner_groups=4,
    ),
}


def get_profile(name: str) -> Profile:
    """The named profile, or a clear error listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise InputError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}") from None


def lgb_params(stage: Stage, profile: Profile, seed: int) -> dict[str, Any]:
    """LightGBM parameters of one stage: deterministic, column-wise histograms, one thread.

    One thread per booster: a training runs its fits side by side instead (:mod:`models.parallel`), so the same
    inputs give the same model bytes whatever ``EPIGEX_THREADS`` is.
    """
    return {
        "objective": "binary" if stage == "classifier" else "regression",
        "metric": "binary_logloss" if stage == "classifier" else "l2",
        "learning_rate": profile.learning_rate,
        "num_leaves": profile.num_leaves,
        "max_depth": profile.max_depth,
        "min_data_in_leaf": profile.min_data_in_leaf,
        "feature_fraction": profile.feature_fraction,
        "bagging_fraction": profile.bagging_fraction,
        "bagging_freq": 1,
        "lambda_l2": profile.lambda_l2,
        "max_bin": profile.max_bin,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": BOOSTER_THREADS,
        "seed": seed,
        "verbosity": -1,
    }
