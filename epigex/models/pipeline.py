"""Training from the store: load the labelled cells, train the ensemble, register it."""

from __future__ import annotations

from typing import Any

from epigex.models.dataset import load_training_cell, shared_feature_set
from epigex.models.params import get_profile
from epigex.models.persist import save_model
from epigex.models.training import ProgressFn, TrainedModel, train_ensemble
from epigex.store.catalog import Store
from epigex.store.cells import feature_names, labelled_cells
from epigex.store.errors import InputError
from epigex.store.registry import ModelRecord
from epigex.store.tracksets import cell_track_keys, describe, usable_features


def train_from_store(
    store: Store,
    cells: list[str] | None = None,
    profile: str = "full",
    *,
    seed: int = 0,
    threads: int = 2,
    features: list[str] | None = None,
    register: bool = True,
    activate: bool = True,
    progress: ProgressFn | None = None,
    dask: Any = None,
    job_id: str | None = None,
    tracks: list[str] | None = None,
) -> tuple[TrainedModel, ModelRecord | None]:
    """Train on ``cells`` (default: every labelled cell) and, if ``register``, save it as the newest model.

    ``tracks`` (``assay:kind`` names) restricts the model to the features those tracks give, for cell lines that
    bring only some of the assays: the default cells are then the labelled ones that have every one of them.

    ``dask`` (a scheduler address or a ``distributed.Client``) runs the validation units as Dask tasks and the
    final pooled boosters with ``lightgbm.dask`` (see :mod:`models.distributed`).
    """
    # long by design: argument checks, loading and the run, a few lines each
    prof = get_profile(profile)
    if tracks is not None and not cells:
        cells = [c for c in labelled_cells(store) if set(tracks) <= set(cell_track_keys(store, c))]
        if not cells:
            have = sorted({t for c in labelled_cells(store) for t in cell_track_keys(store, c)})
            missing = sorted(set(tracks) - set(have))
            raise InputError(
                f"no labelled cell line in the store at {store.home} has every track of {describe(tracks)}"
                + (f"; none has {', '.join(missing)}" if missing else "")
            )
    cells = cells or labelled_cells(store)
    if not cells:
        raise InputError(
            f"the store at {store.home} has no labelled cell line to train on; ingest a dataset with _y.tsv files "
            "first (or set EPIGEX_HOME to the store that has one)"
        )
    if len(set(cells)) != len(cells):
        raise InputError(f"cell lines listed twice: {cells}")
    fs = shared_feature_set(store, cells)
    names = feature_names(store, fs) if tracks is None else usable_features(store, fs, tracks)
    if not [n for n in names if not n.startswith("gene_")]:
        raise InputError(f"the tracks {describe(tracks)} give no features to train on")
    data = [load_training_cell(store, c, fs, names) for c in cells]
    client: Any = None
    own = False
    if dask is not None:
        from epigex.models.distributed import connect, dask_pooled, dask_units

        own = isinstance(dask, str)
        client = connect(dask) if own else dask
    try:
        trained = train_ensemble(
            data,
            names,
            fs,
            prof,
            seed=seed,
            threads=threads,
            features=features,
            progress=progress,
            unit_runner=dask_units(client) if client is not None else None,
            pooled_fitter=dask_pooled(client, store, fs) if client is not None else None,
        )
    finally:
        if own and client is not None:
            client.close()
    trained.tracks = sorted(tracks) if tracks is not None else None
    record = save_model(store, trained, activate=activate, job_id=job_id) if register else None
    return trained, record
