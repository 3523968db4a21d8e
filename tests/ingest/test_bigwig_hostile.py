"""The bigWig reader on hostile and odd files: the smallest file that shows each class, and what it must do."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import polars as pl
import pyBigWig
import pytest

from epigex.ingest.bigwig import MAX_SECTION_BYTES, BigWigReader
from epigex.ingest.featureset import default_feature_set
from epigex.ingest.limits import ReadLimits
from epigex.ingest.tracks import bigwig_features
from epigex.store.errors import InputError, ResourceLimitError
from tests.ingest.bbi_build import Section, build_bigwig, encode_section, patch

CHROMS = [("chr1", 1000), ("chr2", 500)]
SECTIONS = [
    Section(0, 1, [(10, 20, 1.5), (30, 40, 2.0)]),
    Section(0, 2, [(100, 3.0), (200, 4.0)], span=5),
    Section(1, 3, [(1.0,), (2.0,)], start=10, step=10, span=5),
]


def write(tmp_path: Path, data: bytes, name: str = "t.bw") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def read_all(path: Path, limits: ReadLimits | None = None) -> dict[str, list[tuple[int, int, float]]]:
    with BigWigReader(path, limits or ReadLimits()) as r:
        out = {}
        for c in r.chroms:
            iv = r.intervals(c)
            out[c] = list(zip(iv.starts.tolist(), iv.ends.tolist(), iv.values.tolist(), strict=True))
        return out


EXPECTED = {
    "chr1": [(10, 20, 1.5), (30, 40, 2.0), (100, 105, 3.0), (200, 205, 4.0)],
    "chr2": [(10, 15, 1.0), (20, 25, 2.0)],
}


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("two_level", [False, True])
@pytest.mark.parametrize("compress", [False, True])
def test_hand_built_file_reads_exactly(tmp_path: Path, endian: str, two_level: bool, compress: bool) -> None:
    b = build_bigwig(CHROMS, SECTIONS, endian=endian, two_level=two_level, compress=compress)
    assert read_all(write(tmp_path, b.data)) == EXPECTED


@pytest.mark.parametrize("ptr", ["rtree_child_ptr", "chrom_child_ptr"])
def test_tree_node_pointing_at_itself_is_refused(tmp_path: Path, ptr: str) -> None:
    b = build_bigwig(CHROMS, SECTIONS, two_level=True)
    node = b.offsets["rtree_root" if ptr.startswith("rtree") else "chrom_root"]
    p = write(tmp_path, patch(b.data, b.offsets[ptr], "<Q", node))
    with pytest.raises(InputError, match="reached twice"):
        read_all(p)


def test_fan_out_bomb_is_refused_at_once(tmp_path: Path) -> None:
    """A root with 65,535 children all pointing at one leaf."""
    b = build_bigwig(CHROMS, SECTIONS, two_level=True)
    root = b.offsets["rtree_root"]
    size = 4 + 24 * 0xFFFF
    item = struct.pack("<IIIIQ", 0, 0, 1, 0, b.offsets["rtree_leaf"] + size)
    node = struct.pack("<BBH", 0, 0, 0xFFFF) + item * 0xFFFF
    # the new root goes right after the R-tree header; the old root and its leaf move up by its size
    p = write(tmp_path, b.data[:root] + node + b.data[root:])
    with pytest.raises(InputError, match="reached twice"):
        read_all(p)


@pytest.mark.parametrize(("field", "value"), [(16, 2**63 - 1), (16, 2**64 - 1), (24, 2**63 - 5), (24, 2**64 - 1)])
def test_extreme_block_offsets_and_sizes_are_errors(tmp_path: Path, field: int, value: int) -> None:
    b = build_bigwig(CHROMS, SECTIONS)
    leaf_item = b.offsets["rtree_leaf"] + 4
    p = write(tmp_path, patch(b.data, leaf_item + field, "<Q", value))
    with pytest.raises(InputError, match="lies outside the file"):
        read_all(p)


def test_zlib_bomb_is_refused_without_inflating_it(tmp_path: Path) -> None:
    bomb = zlib.compress(b"\x00" * (256 << 20), 9)  # 256 MiB of zeros in ~250 KB
    secs = [Section(0, 1, [(10, 20, 1.0)], raw=bomb), SECTIONS[2]]
    b = build_bigwig(CHROMS, secs, uncompress_buf=1 << 30)
    with pytest.raises(InputError, match="inflates beyond"):
        read_all(write(tmp_path, b.data))


def test_block_inflating_past_its_item_count_is_refused(tmp_path: Path) -> None:
    """A block whose header declares 65,535 items but whose body holds two (and pyBigWig refuses it too)."""
    sec = Section(0, 1, [(10, 20, 1.0), (30, 40, 2.0)], count=0xFFFF)
    b = build_bigwig(CHROMS, [sec], uncompress_buf=MAX_SECTION_BYTES)
    with pytest.raises(InputError, match=r"decodes to 48 bytes, but its header and 65,535 items need"):
        read_all(write(tmp_path, b.data))


def test_block_with_more_bytes_than_its_items_is_refused(tmp_path: Path) -> None:
    raw = encode_section(Section(0, 1, [(10, 20, 1.0)])) + b"\x00" * 12
    b = build_bigwig(CHROMS, [Section(0, 1, [(10, 20, 1.0)], raw=zlib.compress(raw))], uncompress_buf=1024)
    with pytest.raises(InputError, match="decodes to 48 bytes"):
        read_all(write(tmp_path, b.data))


def test_two_chromosomes_sharing_an_id_are_refused(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, SECTIONS, chrom_ids=[0, 0])
    with pytest.raises(InputError, match=r"'chr2' has id 0 \(the id of 'chr1' too\)"):
        read_all(write(tmp_path, b.data))


def test_chromosome_id_beyond_the_count_is_refused(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, SECTIONS, chrom_ids=[0, 7])
    with pytest.raises(InputError, match="not below the count"):
        read_all(write(tmp_path, b.data))


def test_chromosome_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    b = build_bigwig([(b"chr\xff1", 1000), ("chr2", 500)], SECTIONS)
    with pytest.raises(InputError, match="not valid UTF-8"):
        read_all(write(tmp_path, b.data))


def test_block_of_an_unknown_chromosome_is_refused(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, [*SECTIONS, Section(5, 1, [(1, 2, 1.0)])])
    with pytest.raises(InputError, match="chromosome id 5, which the chromosome tree does not list"):
        read_all(write(tmp_path, b.data))


def test_interval_past_the_chromosome_end_is_refused(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, [Section(1, 1, [(490, 510, 1.0)])])
    with pytest.raises(InputError, match=r"chr2:490-510 runs past the end of chr2 \(500 bp"):
        read_all(write(tmp_path, b.data))


@pytest.mark.parametrize("item", [(20, 20, 1.0), (30, 20, 1.0)])
def test_empty_or_reversed_interval_is_refused(tmp_path: Path, item: tuple[int, int, float]) -> None:
    b = build_bigwig(CHROMS, [Section(0, 1, [(1, 5, 1.0), item])])
    with pytest.raises(InputError, match=rf"chr1:{item[0]}-{item[1]} is empty or reversed"):
        read_all(write(tmp_path, b.data))


def test_index_count_must_match_the_leaves(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, SECTIONS, rtree_count=7)
    with pytest.raises(InputError, match="lists 3 of the 7 blocks"):
        read_all(write(tmp_path, b.data))


def test_two_index_entries_for_one_block_are_refused(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, SECTIONS)
    leaf = b.offsets["rtree_leaf"] + 4
    first = b.data[leaf : leaf + 32]
    p = write(tmp_path, patch(b.data, leaf + 32, "32s", first))
    with pytest.raises(InputError, match="overlap"):
        read_all(p)


def test_nan_is_no_data_and_inf_is_refused(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, [Section(0, 1, [(10, 20, 1.0), (20, 30, float("nan")), (30, 35, 2.0)])])
    with BigWigReader(write(tmp_path, b.data)) as r:
        iv = r.intervals("chr1")
        assert iv.starts.tolist() == [10, 30]
        assert iv.nan_bases == 10
    b = build_bigwig(CHROMS, [Section(0, 1, [(10, 20, 1.0), (20, 30, float("-inf"))])])
    with pytest.raises(InputError, match=r"chr1:20-30 has an infinite value"):
        read_all(write(tmp_path, b.data, "inf.bw"))


def test_header_only_file_is_an_empty_track(tmp_path: Path) -> None:
    """pyBigWig writes index offset 0 when no entry is added: an empty track, with a QC that says so."""
    p = tmp_path / "empty.bw"
    bw = pyBigWig.open(str(p), "w")
    bw.addHeader([("chr1", 248_956_422), ("chr2", 242_193_529)], maxZooms=0)
    bw.close()
    assert read_all(p) == {"chr1": [], "chr2": []}
    genes = pl.DataFrame(
        {
            "gene_name": ["A"],
            "chrom": ["chr1"],
            "gene_start": [1000],
            "gene_end": [5000],
            "tss_start": [1000],
            "tss_end": [1001],
            "strand": ["+"],
        }
    )
    res = bigwig_features(p, "DNase", genes, default_feature_set())
    assert res.qc["no_signal"] is True
    assert res.qc["n_bases"] == 0
    assert all(np.isnan(v).all() or (v == 0).all() for v in res.columns.values())


def test_memory_ceiling_refuses_a_chromosome_too_large(tmp_path: Path) -> None:
    items = [(i * 10, i * 10 + 5, 1.0) for i in range(20_000)]
    b = build_bigwig([("chr1", 1_000_000)], [Section(0, 1, items[i : i + 1000]) for i in range(0, 20_000, 1000)])
    p = write(tmp_path, b.data)
    assert len(read_all(p)["chr1"]) == 20_000
    with pytest.raises(ResourceLimitError, match=r"chromosome chr1 would need about .* MiB .* ceiling of 1 MiB"):
        read_all(p, ReadLimits(max_memory_mb=1))


def test_time_budget_refuses_a_slow_read(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, SECTIONS)
    with pytest.raises(ResourceLimitError, match="time budget of 0 s"):
        read_all(write(tmp_path, b.data), ReadLimits(max_seconds=0.0))


def test_unreadable_path_is_a_project_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        BigWigReader(tmp_path)  # a directory
