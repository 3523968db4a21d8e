"""What kind of signal a bigWig holds — fold change, −log10 p-value or read counts — from its values. Pure computation.

ENCODE publishes several signal bigWigs per experiment, and they are not on one scale: MACS2's *fold change over
control* sits near 1 through the background; its *signal p-value* (−log10 p) is exactly 0 there and climbs to the
hundreds in peaks; *read-depth normalised signal* (DNase) and other coverage tracks (RPM, CPM, raw counts) are whole
read counts times one scale factor, so every value is a multiple of the smallest. A model trained on one kind and
fed another reads confidently wrong features, so each track's kind is recorded at ingest and QC compares it with
the reference cells' for the same assay.

The evidence is gathered a chunk at a time (:class:`SignalShape` adds up) and judged once (:func:`classify`):

- ``counts``: at least 95 % of a sample of the positive values are whole multiples of the smallest positive value,
  with few distinct values (at most 5 % of the sample) — a count scaled by one factor;
- ``pvalue``: at least 30 % of the covered bases are exactly 0 and the largest value is at least 5;
- ``fold_change``: at least 40 % of the covered bases lie between 0.5 and 2;
- ``other``: none of these (a simulated track, a log-transformed or z-scored one); ``none``: no covered base.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from epigex.store.types import F64

SignalType = Literal["fold_change", "pvalue", "counts", "other", "none"]
SAMPLE_PER_CHUNK = 2048
SAMPLE_MAX = 65_536
COUNTS_WHOLE, COUNTS_DISTINCT = 0.95, 0.05
COUNTS_MAX_RATIO = 1e5
PVALUE_ZEROS, PVALUE_MAX = 0.30, 5.0
FOLD_NEAR_ONE = 0.40
# How each kind is named to a user, with the ENCODE output type that gives it.
DESCRIBED: dict[str, str] = {
    "fold_change": "fold change over control",
    "pvalue": "−log10 p-value (ENCODE 'signal p-value')",
    "counts": "read counts or read-depth normalised coverage (RPM/CPM)",
    "other": "of no recognised kind",
    "none": "empty",
}


@dataclass(frozen=True)
class SignalShape:
    """What :func:`classify` reads: covered, zero and near-1 bases, the largest and smallest positive value, and
    an evenly spaced sample of the values."""

    covered: float = 0.0
    zeros: float = 0.0
    near_one: float = 0.0
    max_value: float = float("-inf")
    min_positive: float = float("inf")
    sample: tuple[F64, ...] = field(default=())

    def __add__(self, other: SignalShape) -> SignalShape:
        held = sum(s.size for s in self.sample)
        extra: list[F64] = []
        for s in other.sample:  # the sample stops growing at SAMPLE_MAX values
            held += s.size
            if held > SAMPLE_MAX:
                break
            extra.append(s)
        return SignalShape(
            self.covered + other.covered,
            self.zeros + other.zeros,
            self.near_one + other.near_one,
            max(self.max_value, other.max_value),
            min(self.min_positive, other.min_positive),
            self.sample + tuple(extra),
        )


def shape_of(lengths: F64, values: F64) -> SignalShape:
    """The evidence of one chunk of intervals (``lengths`` in bases, ``values`` as in the file)."""
    if values.size == 0:
        return SignalShape()
    positive = values[values > 0]
    step = max(1, values.size // SAMPLE_PER_CHUNK)
    return SignalShape(
        float(lengths.sum()),
        float(lengths[values == 0].sum()),
        float(lengths[(values >= 0.5) & (values <= 2.0)].sum()),
        float(values.max()),
        float(positive.min()) if positive.size else float("inf"),
        (np.asarray(values[::step], dtype=np.float64),),
    )


def is_counts(shape: SignalShape) -> bool:
    """Whether the sampled positive values are whole multiples of the smallest positive value, with few distinct."""
    if not shape.sample or not np.isfinite(shape.min_positive):
        return False
    values = np.concatenate(shape.sample)
    positive = values[values > 0]
    if positive.size < 100:
        return False
    ratio = positive / shape.min_positive
    if float(ratio.max()) > COUNTS_MAX_RATIO:  # no scaled count spans that much; the test below would lose its teeth
        return False
    # float32 values carry ~7 digits: a whole multiple may be off by a few parts in 10^7 of itself
    whole = np.abs(ratio - np.rint(ratio)) <= 1e-4 + 1e-6 * ratio
    distinct = np.unique(positive).size
    return bool(whole.mean() >= COUNTS_WHOLE and distinct <= COUNTS_DISTINCT * positive.size)


def classify(shape: SignalShape) -> SignalType:
    """The kind of signal ``shape`` describes (see the module's notes for the rules)."""
    if shape.covered <= 0:
        return "none"
    if is_counts(shape):
        return "counts"
    if shape.zeros / shape.covered >= PVALUE_ZEROS and shape.max_value >= PVALUE_MAX:
        return "pvalue"
    if shape.near_one / shape.covered >= FOLD_NEAR_ONE:
        return "fold_change"
    return "other"


def shape_summary(shape: SignalShape) -> dict[str, float | None]:
    """The numbers behind a verdict, for the track's QC record."""
    cov = shape.covered or 1.0
    return {
        "zero_fraction": round(shape.zeros / cov, 4),
        "near_one_fraction": round(shape.near_one / cov, 4),
        "max_value": shape.max_value if np.isfinite(shape.max_value) else None,
        "min_positive": shape.min_positive if np.isfinite(shape.min_positive) else None,
    }
