"""The peak reader on real files from other tools and on malformed input."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from epigex.ingest.bed import read_peaks
from epigex.store.errors import FileTypeError, InputError


def test_narrowpeak_with_bed_extension_and_missing_pvalue(realfiles: Path) -> None:
    p = read_peaks(realfiles / "bioframe_narrowPeak.bed")
    assert len(p) == 30
    assert p.n_columns == 10
    assert p.start[0] == 48309541
    assert p.signal[0] == pytest.approx(5.04924)
    assert p.qvalue[0] == pytest.approx(0.00438)


def test_gzip_and_scientific_notation(realfiles: Path) -> None:
    p = read_peaks(realfiles / "rtracklayer_demo.narrowPeak.gz")
    assert len(p) == 6
    assert p.qvalue[0] == pytest.approx(3.311255e-82)


def test_track_and_browser_lines_are_skipped_and_minus_one_is_missing(realfiles: Path) -> None:
    p = read_peaks(realfiles / "pybedtools_track_browser_lines.narrowPeak")
    assert len(p) == 3
    assert np.isnan(p.qvalue).all()
    assert p.signal.tolist() == [182.0, 91.0, 182.0]


def test_bed3_has_missing_signal(realfiles: Path) -> None:
    p = read_peaks(realfiles / "megadepth_mixed_names.bed")
    assert p.n_columns == 3
    assert np.isnan(p.signal).all()


def test_peaks_beyond_hg38_are_refused_naming_the_line(realfiles: Path) -> None:
    with pytest.raises(InputError, match=r"pyranges_chipseq.bed, line \d+: peak end .* beyond chr"):
        read_peaks(realfiles / "pyranges_chipseq.bed")
    assert len(read_peaks(realfiles / "pyranges_chipseq.bed", check_build=False)) == 10_000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chr1\t10\t20\nchr1\tten\t30\n", r"line 2: start 'ten' is not a whole number"),
        ("chr1\t10\t20\nchr1\t40\t30\n", r"line 2: start 40 > end 30"),
        ("#c\nchr1\t10\t20\tx\t0\t.\t1\t1\t1\t5\nchr1\t10\t20\n", r"line 3: 3 columns where line 2 has 10"),
        ("chr1\t10\n", r"line 1: fewer than 3 columns"),
        ("chr1\t1\t2\tx\t0\t.\tabc\t1\t1\t0\n", r"line 1: signalValue 'abc' is not a number"),
        ("track name=x\n\n", "no peaks"),
    ],
)
def test_malformed_lines_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "bad.bed"
    p.write_text(text)
    with pytest.raises(InputError, match=message):
        read_peaks(p)


def test_corrupt_gzip(tmp_path: Path) -> None:
    p = tmp_path / "x.bed.gz"
    p.write_bytes(gzip.compress(b"chr1\t1\t2\n" * 100)[:20])
    with pytest.raises(InputError, match="gzip data is truncated or corrupt"):
        read_peaks(p)


def test_bigwig_given_as_peaks(realfiles: Path) -> None:
    with pytest.raises(FileTypeError, match="binary bigwig"):
        read_peaks(realfiles / "bioframe_times100.bw")
