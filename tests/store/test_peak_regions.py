"""Peak lines by region: exact answers on hand-made files, and the same answer as a plain filter for any region."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epigex.store.errors import InputError
from epigex.store.peak_regions import Region, parse_region, peak_table, peaks_in_region, region_lines

TEXT = (
    "track name=peaks\n"
    "# a comment\n"
    "chr1\t100\t200\tp1\t5\t.\t2.0\t3.0\t1.0\t50\n"
    "chr1\t150\t400\tp2\t5\t.\t2.0\t3.0\t1.0\t50\n"
    "chr10\t120\t130\tp3\n"
    "chr1\t400\t400\tpoint\n"
    "chr2\t0\t1000\tp4\n"
)


def test_regions_parse_and_refuse() -> None:
    assert parse_region("chr1:10-20") == Region("chr1", 10, 20)
    assert parse_region("chrUn_KI270302v1:0-5") == Region("chrUn_KI270302v1", 0, 5)
    assert parse_region("chr1:230274693.5-231274693.5") == Region("chr1", 230274693, 231274694)  # as igv asks
    assert parse_region("chr1:20-10") == Region("chr1", 20, 20)  # ends before it starts: empty
    bad_regions = ("chr1", "chr1:-5-10", "chr 1:1-2", "chr1:1-2;drop", "x" * 200 + ":1-2", "chr1:1.-2")
    for bad in (*bad_regions, "chr1:1e5-2"):
        with pytest.raises(InputError, match="region"):
            parse_region(bad)


def test_lines_overlapping_a_region_by_hand(tmp_path: Path) -> None:
    plain = tmp_path / "p.narrowPeak"
    plain.write_text(TEXT)
    packed = tmp_path / "p.narrowPeak.gz"
    packed.write_bytes(gzip.compress(TEXT.encode()))
    for path in (plain, packed):
        # [199, 201) touches p1 (ends at 200) and p2; chr10's 120 is another chromosome
        assert peaks_in_region(path, Region("chr1", 199, 201)) == (
            b"chr1\t100\t200\tp1\t5\t.\t2.0\t3.0\t1.0\t50\nchr1\t150\t400\tp2\t5\t.\t2.0\t3.0\t1.0\t50\n"
        )
        assert peaks_in_region(path, Region("chr1", 200, 300)) == b"chr1\t150\t400\tp2\t5\t.\t2.0\t3.0\t1.0\t50\n"
        assert peaks_in_region(path, Region("chr1", 400, 500)) == b"chr1\t400\t400\tpoint\n"  # a point at 400
        assert peaks_in_region(path, Region("chr1", 0, 100)) == b""  # half open: p1 starts at 100
        assert peaks_in_region(path, Region("chrX", 0, 10**9)) == b""
        assert peaks_in_region(path, Region("chr10", 0, 125)) == b"chr10\t120\t130\tp3\n"


def test_space_separated_files_and_windows_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "spaces.bed"
    path.write_bytes(b"chr1  100 200 a\r\nchr1 300  400 b\r\n")
    assert peaks_in_region(path, Region("chr1", 150, 160)) == b"chr1  100 200 a\n"


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "p.bed"
    path.write_text("chr1\t0\t10\n")
    assert peaks_in_region(path, Region("chr1", 0, 5)) == b"chr1\t0\t10\n"
    path.write_text("chr1\t0\t10\nchr1\t2\t3\n")  # another size: another cache key
    assert peaks_in_region(path, Region("chr1", 0, 5)) == b"chr1\t0\t10\nchr1\t2\t3\n"


intervals = st.lists(
    st.tuples(st.sampled_from(["chr1", "chr2", "chr1_alt"]), st.integers(0, 500), st.integers(0, 60)), max_size=40
)


@settings(max_examples=200, deadline=None)
@given(intervals, st.sampled_from(["chr1", "chr2", "chr3"]), st.integers(0, 560), st.integers(0, 200))
def test_the_same_lines_as_a_plain_filter(rows: list[tuple[str, int, int]], chrom: str, lo: int, span: int) -> None:
    lines = [f"{c}\t{s}\t{s + w}\tf{i}" for i, (c, s, w) in enumerate(rows)]
    region = Region(chrom, lo, lo + span)
    expected = [
        line
        for line, (c, s, w) in zip(lines, rows, strict=True)
        if c == chrom and ((s < region.end and s + w > region.start) or (w == 0 and s == region.start))
    ]
    got = region_lines(peak_table("\n".join(["track x", *lines])), region).to_list()
    assert got == expected


def test_ensembl_names_answer_the_genomes_spelling(tmp_path: Path) -> None:
    """igv asks with the genome's names (chr1, chrM); ingest accepts files that say 1 and MT."""
    path = tmp_path / "ensembl.bed"
    path.write_text("1\t100\t200\ta\nMT\t5\t9\tb\n10\t0\t50\tc\n")
    assert peaks_in_region(path, Region("chr1", 150, 160)) == b"1\t100\t200\ta\n"
    assert peaks_in_region(path, Region("chrM", 0, 10)) == b"MT\t5\t9\tb\n"
    assert peaks_in_region(path, Region("1", 150, 160)) == b"1\t100\t200\ta\n"
    assert peaks_in_region(path, Region("chr10", 0, 10)) == b"10\t0\t50\tc\n"
