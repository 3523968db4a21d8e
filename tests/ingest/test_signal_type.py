"""Signal types: fold change, −log10 p-value and read counts told apart on hand-made values, and QC's verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from epigex.ingest.featureset import default_feature_set
from epigex.ingest.genes import read_info
from epigex.ingest.qc import signal_kind
from epigex.ingest.signal_type import SAMPLE_MAX, SignalShape, classify, shape_of
from epigex.ingest.tracks import bigwig_features
from epigex.store.genome import HG38_SIZES
from tests.conftest import write_bigwig, write_info

RNG = np.random.default_rng(3)
N = 5_000
LENGTHS = RNG.integers(10, 200, N).astype(np.float64)


def kind(values: np.ndarray, lengths: np.ndarray = LENGTHS) -> str:
    return classify(shape_of(lengths, values))


def test_fold_change_pvalue_counts_and_other() -> None:
    assert kind(np.round(RNG.uniform(0.6, 1.4, N), 5)) == "fold_change"
    pval = np.where(RNG.random(N) < 0.6, 0.0, np.round(RNG.exponential(8.0, N), 5))
    assert kind(pval) == "pvalue"
    scale = 0.0371  # one read per million of a 27 M-read library
    assert kind(RNG.integers(1, 40, N) * scale) == "counts"
    assert kind(RNG.integers(0, 40, N).astype(np.float64)) == "counts"  # raw counts, zeros included
    assert kind(RNG.gamma(2.0, 3.0, N)) == "other"  # continuous, no zeros, far from 1
    assert classify(SignalShape()) == "none"


def test_five_decimals_are_not_counts() -> None:
    """MACS2 prints five decimals: every value is a multiple of 1e-5, but there are too many distinct values."""
    values = np.round(RNG.uniform(0.00001, 3.0, N), 5)
    values[0] = 0.00001
    assert kind(values) != "counts"


def test_a_tiny_value_does_not_make_everything_a_whole_multiple() -> None:
    levels = RNG.uniform(0.5, 2.0, 800).astype(np.float32)
    values = levels[RNG.integers(0, 800, N)].astype(np.float64)
    values[0] = 1e-6
    assert kind(values) == "fold_change"


def test_shapes_add_up_and_the_sample_stays_bounded() -> None:
    parts = [shape_of(LENGTHS, RNG.uniform(0.6, 1.4, N)) for _ in range(40)]
    total = sum(parts, SignalShape())
    assert total.covered == 40 * LENGTHS.sum()
    assert sum(s.size for s in total.sample) <= SAMPLE_MAX
    assert classify(total) == "fold_change"


def test_a_bigwig_of_scaled_counts_is_recorded_as_counts(tmp_path: Path) -> None:
    starts = np.arange(0, 300_000, 100)
    values = RNG.integers(1, 30, starts.size) * 0.0425
    path = write_bigwig(
        tmp_path / "rpm.bw",
        [("chr1", HG38_SIZES["chr1"])],
        [("chr1", int(s), int(s) + 100, float(v)) for s, v in zip(starts, values, strict=True)],
    )
    genes = read_info(write_info(tmp_path / "g_test_info.tsv", [("G", "chr1", 1000, 5000, 1000, 1050, "+")]))
    qc = bigwig_features(path, "DNase", genes, default_feature_set()).qc
    assert qc["signal_type"] == "counts"
    assert qc["signal_shape"]["zero_fraction"] == 0.0


def test_qc_warns_on_another_kind_than_the_references() -> None:
    refs = {"X1": "fold_change", "X2": "fold_change"}
    verdict, reason = signal_kind("pvalue", refs, "H3K27ac")
    assert verdict == "warn"
    assert reason is not None
    assert "p-value" in reason
    assert "fold change over control" in reason
    assert "X1, X2" in reason
    assert signal_kind("fold_change", refs, "H3K27ac") == ("pass", None)
    # unrecognised kinds are never compared
    assert signal_kind("other", refs, "H3K27ac") == ("pass", None)
    assert signal_kind("pvalue", {"X1": "other", "X2": None}, "H3K27ac") == ("pass", None)
    # the references' most common kind stands for them
    assert signal_kind("counts", {"A": "counts", "B": "pvalue", "C": "pvalue"}, "DNase")[0] == "warn"
