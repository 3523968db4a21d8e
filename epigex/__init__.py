"""epigex: predict CAGE expression of a cell line from its epigenome — a feature store plus model service.

As a library (see :mod:`epigex.api`)::

    import epigex

    store = epigex.open_store("epigex-demo/store")
    epigex.predict("X3", store=store)          # a polars DataFrame

The package holds the project's layers as sub-packages: ``epigex.store`` (catalog and files), ``epigex.ingest``
(tracks → features), ``epigex.models`` (the ensemble), ``epigex.app`` (CLI, HTTP service, service layer) and
``epigex.demo``. The API functions are imported on first use, so ``import epigex.store`` stays light.

LightGBM's OpenMP threads spin while they wait for work by default; beside other busy processes the spinning
threads take the CPU the working ones need (a quick training went from 14 s to 126 s beside two busy processes on
two cores). Passive waiting is set here, before anything of epigex can load an OpenMP runtime; a value the user
set is kept.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if TYPE_CHECKING:
    from epigex.api import (
        explain,
        ingest,
        list_models,
        open_store,
        predict,
        qc,
        reference_validation,
        train,
        validation,
    )

__all__ = [
    "explain",
    "ingest",
    "list_models",
    "open_store",
    "predict",
    "qc",
    "reference_validation",
    "train",
    "validation",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from epigex import api

        return getattr(api, name)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("epigex")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'epigex' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__, "__version__"])
