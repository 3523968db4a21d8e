"""The peak reader picks each column's meaning from the detected format, and survives odd and hostile text."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import pytest

from epigex.ingest.bed import read_peaks
from epigex.ingest.limits import ReadLimits
from epigex.store.errors import FileTypeError, InputError, ResourceLimitError


def write(tmp_path: Path, content: str | bytes, name: str = "p.bed") -> Path:
    p = tmp_path / name
    p.write_bytes(content.encode() if isinstance(content, str) else content)
    return p


NARROW = "chr1\t100\t200\tpk1\t0\t.\t5.5\t3.1\t2.2\t50\nchr2\t300\t400\tpk2\t0\t.\t7.0\t-1\t-1\t50\n"


def test_narrowpeak_columns(tmp_path: Path) -> None:
    p = read_peaks(write(tmp_path, NARROW))
    assert p.format == "narrowPeak"
    assert p.signal.tolist() == [5.5, 7.0]
    assert p.qvalue[0] == 2.2
    assert np.isnan(p.qvalue[1])


def test_bed9_item_rgb_is_not_a_qvalue(tmp_path: Path) -> None:
    text = "chr1\t100\t200\tx\t0\t+\t100\t200\t255,0,0\nchr1\t300\t400\ty\t0\t-\t300\t400\t0,0,255\n"
    p = read_peaks(write(tmp_path, text))
    assert p.format == "bed9"
    assert np.isnan(p.signal).all()
    assert np.isnan(p.qvalue).all()
    assert p.start.tolist() == [100, 300]


def test_bed9_with_single_number_rgb(tmp_path: Path) -> None:
    p = read_peaks(write(tmp_path, "chr1\t100\t200\tx\t0\t+\t120\t180\t0\n"))
    assert p.format == "bed9"


def test_broadpeak_signal_and_qvalue(tmp_path: Path) -> None:
    text = "chr1\t100\t200\tb1\t0\t.\t4.25\t6.5\t1.5\nchr1\t500\t900\tb2\t0\t.\t2.0\t-1\t-1\n"
    p = read_peaks(write(tmp_path, text))
    assert p.format == "broadPeak"
    assert p.signal.tolist() == [4.25, 2.0]
    assert p.qvalue[0] == 1.5
    assert np.isnan(p.qvalue[1])


def test_broadpeak_by_extension_even_when_it_looks_like_bed9(tmp_path: Path) -> None:
    p = read_peaks(write(tmp_path, "chr1\t100\t200\tb\t0\t.\t150\t160\t3\n", "x.broadPeak"))
    assert p.format == "broadPeak"
    assert p.signal.tolist() == [150.0]
    assert p.qvalue.tolist() == [3.0]


def test_bed12_blocks_are_ignored_and_carry_no_signal(tmp_path: Path) -> None:
    text = "chr1\t100\t500\tg\t0\t+\t120\t480\t0\t2\t50,60,\t0,340,\n"
    p = read_peaks(write(tmp_path, text))
    assert p.format == "bed12"
    assert (p.start.tolist(), p.end.tolist()) == ([100], [500])
    assert np.isnan(p.signal).all()
    assert np.isnan(p.qvalue).all()


def test_gappedpeak_takes_the_last_three_columns(tmp_path: Path) -> None:
    text = "chr1\t100\t500\tg\t0\t.\t100\t500\t0\t2\t50,60\t0,340\t8.5\t4.0\t3.25\n"
    p = read_peaks(write(tmp_path, text))
    assert p.format == "gappedPeak"
    assert p.signal.tolist() == [8.5]
    assert p.qvalue.tolist() == [3.25]


def test_empty_fields_are_kept(tmp_path: Path) -> None:
    """An empty name must not shift signalValue onto pValue."""
    text = "chr1\t100\t200\t\t0\t.\t5.5\t9.9\t2.2\t50\n"
    p = read_peaks(write(tmp_path, text))
    assert p.format == "narrowPeak"
    assert p.signal.tolist() == [5.5]
    assert p.qvalue.tolist() == [2.2]


def test_space_separated_file_without_tabs(tmp_path: Path) -> None:
    p = read_peaks(write(tmp_path, "chr1  100 200\nchr2 5    9\n"))
    assert p.start.tolist() == [100, 5]
    assert p.chrom.tolist() == ["chr1", "chr2"]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_line_endings(tmp_path: Path, eol: str) -> None:
    lines = [f"chr1\t{i * 100}\t{i * 100 + 50}" for i in range(20)]
    p = read_peaks(write(tmp_path, eol.join(lines) + eol))
    assert len(p) == 20
    bad = lines.copy()
    bad[6] = "chr1\tsix\t700"
    with pytest.raises(InputError, match=r"line 7: start 'six'"):
        read_peaks(write(tmp_path, eol.join(bad) + eol, "bad.bed"))


def test_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    p = read_peaks(write(tmp_path, b"\xef\xbb\xbf" + NARROW.encode()))
    assert p.chrom[0] == "chr1"


def test_empty_chromosome_is_named_on_its_own_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"line 1: the chromosome name \(column 1\) is empty"):
        read_peaks(write(tmp_path, "\t100\t200\nchr1\t1\t2\n"))


def test_track_line_and_a_chromosome_named_track(tmp_path: Path) -> None:
    p = read_peaks(write(tmp_path, "track name=x\nbrowser position chr1\ntrackX\t1\t2\n"), check_build=False)
    assert p.chrom.tolist() == ["trackX"]


def test_infinite_signal_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"line 1: signalValue 'inf' is not a number"):
        read_peaks(write(tmp_path, "chr1\t1\t2\tx\t0\t.\tinf\t1\t1\t0\n"))


def test_nan_signal_is_missing(tmp_path: Path) -> None:
    p = read_peaks(write(tmp_path, "chr1\t1\t2\tx\t0\t.\tnan\t1\t1\t0\n"))
    assert np.isnan(p.signal).all()


def test_multi_member_gzip(tmp_path: Path) -> None:
    data = gzip.compress(b"chr1\t1\t2\n") + gzip.compress(b"chr1\t5\t9\n") + b"\x00" * 28
    p = read_peaks(write(tmp_path, data, "p.bed.gz"))
    assert p.start.tolist() == [1, 5]


def test_gzip_bomb_is_refused_early(tmp_path: Path) -> None:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    line = b"chr1\t1\t2\n" * 100_000
    data = b"".join(c.compress(line) for _ in range(200)) + c.flush()  # 180 MB of text in ~0.2 MB
    with pytest.raises(ResourceLimitError, match="zip bomb"):
        read_peaks(write(tmp_path, data, "bomb.bed.gz"), limits=ReadLimits(max_inflate_ratio=20))


def test_truncated_gzip_member(tmp_path: Path) -> None:
    data = gzip.compress(b"chr1\t1\t2\n" * 1000)
    with pytest.raises(InputError, match="gzip data is truncated or corrupt"):
        read_peaks(write(tmp_path, data[: len(data) - 10], "cut.bed.gz"))


def test_more_peaks_than_the_budget_holds_are_refused(tmp_path: Path) -> None:
    p = write(tmp_path, "chr1\t1\t2\n" * 200_000)  # 1 MiB holds 6,553 peaks
    with pytest.raises(ResourceLimitError, match="more than 6,553 peaks"):
        read_peaks(p, limits=ReadLimits(max_memory_mb=1))


def test_binary_is_named_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(FileTypeError, match=r"line 2: not UTF-8 text"):
        read_peaks(write(tmp_path, b"chr1\t1\t2\nchr1\t\xff\xfe\t3\n"))


def test_directory_is_a_project_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        read_peaks(tmp_path)


def test_control_characters_in_a_chromosome_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"line 2: chromosome name '\\x00' holds control characters"):
        read_peaks(write(tmp_path, "chr1\t1\t2\n\x00\t3\t4\n"))
