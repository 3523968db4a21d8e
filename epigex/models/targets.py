"""Training targets of the two stages: the normalised expression rank and whether a gene is expressed."""

from __future__ import annotations

import numpy as np

from epigex.models.metrics import average_ranks
from epigex.store.types import F64, I8


def rank_target(gex: F64) -> F64:
    """``rankdata(gex, "average") / n``: ties share their mean rank, values in ``(0, 1]``."""
    gex = np.asarray(gex, dtype=np.float64)
    if gex.size == 0:
        return np.empty(0)
    return average_ranks(gex) / gex.size


def expressed_target(gex: F64) -> I8:
    """1 where ``gex > 0``, else 0."""
    return (np.asarray(gex) > 0).astype(np.int8)
