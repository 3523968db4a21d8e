"""The bigWig reader: agrees with pyBigWig on real files written by other tools, refuses bad files clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from epigex.ingest.bigwig import BigWigReader
from epigex.store.errors import FileTypeError, InputError
from tests.conftest import write_bigwig

REAL_BIGWIGS = [
    "bioframe_times100.bw",
    "megadepth_mixed_names.bw",
    "pyBigWig_test_ensembl_names.bw",
    "rtracklayer_negative_values.bw",
    "rtracklayer_variableStep.bw",
]


@pytest.mark.parametrize("name", REAL_BIGWIGS)
def test_decode_matches_pybigwig_on_real_files(realfiles: Path, name: str) -> None:
    path = realfiles / name
    ref = pyBigWig.open(str(path))
    with BigWigReader(path) as r:
        assert {c: s for c, (_i, s) in r.chroms.items()} == ref.chroms()
        for chrom in r.chroms:
            iv = r.intervals(chrom)
            want = np.array(ref.intervals(chrom) or [], dtype=np.float64).reshape(-1, 3)
            np.testing.assert_array_equal(iv.starts, want[:, 0])
            np.testing.assert_array_equal(iv.ends, want[:, 1])
            np.testing.assert_allclose(iv.values, want[:, 2], rtol=1e-7)


def test_bigbed_is_refused_as_signal(realfiles: Path) -> None:
    with pytest.raises(FileTypeError, match="bigBed"):
        BigWigReader(realfiles / "pyBigWig_test.bigBed")


def test_hand_made_file_round_trips(tmp_path: Path) -> None:
    path = write_bigwig(
        tmp_path / "a.bw",
        [("chr1", 10_000), ("chr2", 5_000)],
        [("chr1", 10, 20, 1.5), ("chr1", 30, 35, -2.0), ("chr2", 0, 5000, 0.25)],
    )
    with BigWigReader(path) as r:
        iv = r.intervals("chr1")
        assert iv.starts.tolist() == [10, 30]
        assert iv.ends.tolist() == [20, 35]
        assert iv.values.tolist() == [1.5, -2.0]
        assert len(r.intervals("chr2")) == 1


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.bw"
    p.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        BigWigReader(p)


def test_text_file_is_not_a_bigwig(tmp_path: Path) -> None:
    p = tmp_path / "peaks.bw"
    p.write_text("chr1\t1\t2\n")
    with pytest.raises(FileTypeError, match="not a bigWig"):
        BigWigReader(p)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
def test_truncated_file_is_refused(tmp_path: Path, keep: float) -> None:
    entries = [("chr1", i * 10, i * 10 + 5, float(i % 7)) for i in range(5000)]
    full = write_bigwig(tmp_path / "full.bw", [("chr1", 100_000)], entries)
    data = full.read_bytes()
    cut = tmp_path / "cut.bw"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InputError, match="truncated or corrupt"):
        with BigWigReader(cut) as r:
            r.intervals("chr1")


def test_an_overlap_with_a_nan_interval_is_refused_wherever_the_chunks_are_cut() -> None:
    from epigex.ingest.bigwig import RawChunk, _in_order

    def chunk(s: int, e: int, v: float) -> RawChunk:
        return RawChunk(np.array([s], np.uint32), np.array([e], np.uint32), np.array([v], np.float32))

    with pytest.raises(InputError, match="overlapping"):
        _in_order([chunk(0, 10, float("nan")), chunk(5, 15, 1.0)], "t.bw", "chr1", 100, 1)
    kept = _in_order([chunk(0, 10, float("nan")), chunk(10, 15, 1.0)], "t.bw", "chr1", 100, 1)
    assert [(int(c.starts[0]), int(c.ends[0])) for c in kept] == [(10, 15)]
    assert kept[0].nan_bases == 10
