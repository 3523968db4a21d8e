"""The bbi structure readers on their own: exact header, chromosome and index values, and each structural fault."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from epigex.ingest.bbi import (
    BbiFile,
    Chrom,
    Endian,
    Header,
    read_chrom_tree,
    read_header,
    read_index,
    sniff_kind,
)
from epigex.store.errors import FileTypeError, InputError
from tests.ingest.bbi_build import Built, Section, build_bigwig, patch

CHROMS = [("chr1", 1000), ("chr2", 500)]
# Data written chr2 first, then two chr1 blocks: the index must come back sorted by chromosome id, then offset.
SECTIONS = [
    Section(1, 3, [(1.0,), (2.0,)], start=10, step=10, span=5),
    Section(0, 1, [(10, 20, 1.5), (30, 40, 2.0)]),
    Section(0, 2, [(100, 3.0), (200, 4.0)], span=5),
]


@contextmanager
def bbi(tmp_path: Path, data: bytes) -> Iterator[BbiFile]:
    p = tmp_path / "t.bw"
    p.write_bytes(data)
    with open(p, "rb") as fh:
        yield BbiFile(str(p), fh, len(data))


def everything(tmp_path: Path, data: bytes) -> tuple[Header, dict[str, Chrom], np.ndarray]:
    with bbi(tmp_path, data) as f:
        h = read_header(f)
        chroms = read_chrom_tree(f, h)
        return h, chroms, read_index(f, h, len(chroms))


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"", "empty"),
        (struct.pack("<I", 0x888FFC26) + b"\0" * 4, "bigwig"),
        (struct.pack(">I", 0x888FFC26) + b"\0" * 4, "bigwig"),
        (struct.pack("<I", 0x8789F2EB) + b"\0" * 4, "bigbed"),
        (struct.pack(">I", 0x8789F2EB), "bigbed"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip"),
        (b"\x1f\x8b", "gzip"),
        (b"chr1\t10\t", "text"),
        (b"ab", "text"),
        (b"chr1 \xe2\x82", "text"),  # a euro sign cut by the sniff window is still text
        (b"\x00\x01\x02\x03\xff\xfe\xfd\xfc", "unknown"),
    ],
)
def test_sniff_kind(head: bytes, kind: str) -> None:
    assert sniff_kind(head) == kind


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("two_level", [False, True])
def test_header_chromosomes_and_index_exactly(tmp_path: Path, endian: Endian, two_level: bool) -> None:
    b = build_bigwig(CHROMS, SECTIONS, endian=endian, two_level=two_level)
    h, chroms, index = everything(tmp_path, b.data)
    # encode_section: a 24-byte section header plus 12 (bedGraph), 8 (variableStep) or 4 (fixedStep) per item.
    assert h == Header(endian, 4, 0, 64, b.offsets["data"], b.offsets["index"], 24 + 2 * 12)
    assert chroms == {"chr1": Chrom(0, 1000), "chr2": Chrom(1, 500)}
    (o2, s2), (o1a, s1a), (o1b, s1b) = b.blocks
    assert o2 < o1a < o1b
    assert index.dtype == np.int64
    assert index.tolist() == [[0, o1a, s1a], [0, o1b, s1b], [1, o2, s2]]


def test_chromosome_ids_need_not_follow_the_tree_order(tmp_path: Path) -> None:
    b = build_bigwig([("chrA", 10), ("chrB", 20), ("chrC", 30)], [], chrom_ids=[2, 0, 1])
    _, chroms, index = everything(tmp_path, b.data)
    assert chroms == {"chrA": Chrom(2, 10), "chrB": Chrom(0, 20), "chrC": Chrom(1, 30)}
    assert index.shape == (0, 3)


def test_index_offset_zero_is_an_empty_track(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, SECTIONS)
    data = patch(b.data, 24, "<Q", 0)
    h, chroms, index = everything(tmp_path, data)
    assert h.index_offset == 0
    assert len(chroms) == 2
    assert index.shape == (0, 3)


def test_read_at_checks_bounds_before_reading(tmp_path: Path) -> None:
    with bbi(tmp_path, bytes(range(100))) as f:
        assert f.read_at(96, 4, "tail") == bytes([96, 97, 98, 99])
        with pytest.raises(InputError, match=r"t\.bw: tail needs bytes 97\.\.101 but the file has 100"):
            f.read_at(97, 4, "tail")
        with pytest.raises(InputError, match="head needs bytes -1"):
            f.read_at(-1, 2, "head")


def test_file_shorter_than_it_claims_is_a_short_read(tmp_path: Path) -> None:
    p = tmp_path / "t.bw"
    p.write_bytes(b"0123456789")
    with open(p, "rb") as fh:
        f = BbiFile(str(p), fh, 20)  # told 20 bytes, holds 10
        with pytest.raises(InputError, match="short read of block at byte 8"):
            f.read_at(8, 4, "block")


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", InputError, "the file is empty"),
        (struct.pack("<I", 0x8789F2EB) + b"\0" * 60, FileTypeError, "this is a bigBed"),
        (b"chr1\t0\t10\t1.0\n", FileTypeError, "found text content"),
        (b"\x1f\x8b\x08\x00" + b"\0" * 20, FileTypeError, "found gzip content"),
        (struct.pack("<I", 0x888FFC26) + b"\0" * 20, InputError, "header is 24 bytes, expected 64"),
    ],
)
def test_what_is_not_a_bigwig_header(tmp_path: Path, data: bytes, error: type[Exception], message: str) -> None:
    with bbi(tmp_path, data) as f, pytest.raises(error, match=message):
        read_header(f)


@pytest.mark.parametrize(
    ("at", "what"),
    [(8, "chromosome tree offset"), (16, "data offset"), (24, "index offset")],
)
def test_header_offsets_outside_the_file(tmp_path: Path, at: int, what: str) -> None:
    b = build_bigwig(CHROMS, SECTIONS)
    data = patch(b.data, at, "<Q", len(b.data) + 1)
    with bbi(tmp_path, data) as f, pytest.raises(InputError, match=f"{what} {len(b.data) + 1:,} lies outside"):
        read_header(f)


def test_data_offset_may_be_the_file_end_but_the_tree_may_not(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, SECTIONS)
    with bbi(tmp_path, patch(b.data, 16, "<Q", len(b.data))) as f:
        assert read_header(f).data_offset == len(b.data)
    with bbi(tmp_path, patch(b.data, 8, "<Q", len(b.data))) as f, pytest.raises(InputError):
        read_header(f)


def chrom_fault(tmp_path: Path, b: Built, message: str) -> None:
    with bbi(tmp_path, b.data) as f:
        h = read_header(f)
        with pytest.raises(InputError, match=message):
            read_chrom_tree(f, h)


def test_chromosome_tree_faults(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, SECTIONS)
    ct, root = b.offsets["chrom_tree"], b.offsets["chrom_root"]
    cases = [
        (patch(b.data, ct, "<I", 0x12345678), f"bad chromosome tree at byte {ct}"),
        (patch(b.data, ct + 12, "<I", 4), "bad chromosome tree"),  # value size must be 8
        (patch(b.data, ct + 8, "<I", 0), "key size 0 is not a name length"),
        (patch(b.data, ct + 8, "<I", 1025), "key size 1,025 is not a name length"),
        (patch(b.data, ct + 16, "<Q", 10**9), "claims 1,000,000,000 chromosomes"),
        (patch(b.data, ct + 16, "<Q", 3), "lists 2 of the 3 chromosomes"),
        (patch(b.data, ct + 16, "<Q", 1), "holds more than the 1 chromosomes"),
        (patch(b.data, root + 2, "<H", 0), f"node at byte {root} is malformed \\(0 items"),
        (patch(b.data, root, "<B", 2), "leaf flag 2"),
        (patch(b.data, ct + 4, "<I", 1), "malformed \\(2 items"),  # more items than the block size allows
    ]
    for data, message in cases:
        chrom_fault(tmp_path, Built(data, b.offsets), message)


@pytest.mark.parametrize(
    ("chroms", "ids", "message"),
    [
        ([("chr1", 10), ("chr1", 20)], None, "'chr1' is listed twice"),
        ([("chr1", 10), ("chr2", 20)], [1, 1], "'chr2' has id 1 \\(the id of 'chr1' too\\)"),
        ([("chr1", 10), ("chr2", 20)], [0, 2], "'chr2' has id 2 \\(not below the count 2\\)"),
        ([(b"chr\x01", 10)], None, "empty or holds control characters"),
        ([(b"\xff\xfe", 10)], None, "is not valid UTF-8"),
    ],
)
def test_chromosome_name_and_id_faults(
    tmp_path: Path, chroms: list[tuple[str | bytes, int]], ids: list[int] | None, message: str
) -> None:
    chrom_fault(tmp_path, build_bigwig(chroms, [], chrom_ids=ids), message)


def index_fault(tmp_path: Path, data: bytes, message: str, n_chroms: int = 2) -> None:
    with bbi(tmp_path, data) as f:
        h = read_header(f)
        with pytest.raises(InputError, match=message):
            read_index(f, h, n_chroms)


def test_index_faults(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, SECTIONS)
    ix, leaf = b.offsets["index"], b.offsets["rtree_leaf"]
    first_item = leaf + 4
    index_fault(tmp_path, patch(b.data, ix, "<I", 0), f"bad data index at byte {ix:,}")
    index_fault(tmp_path, patch(b.data, ix + 8, "<Q", 10**12), "claims 1,000,000,000,000 blocks")
    index_fault(tmp_path, patch(b.data, ix + 8, "<Q", 4), "lists 3 of the 4 blocks")
    index_fault(tmp_path, patch(b.data, ix + 8, "<Q", 2), "holds more than the 2 blocks")
    index_fault(tmp_path, patch(b.data, leaf, "<B", 3), f"node at byte {leaf:,} has leaf flag 3")
    # an item whose end chromosome differs from its start chromosome, or one beyond the tree's count
    index_fault(tmp_path, patch(b.data, first_item + 8, "<I", 0), "belongs to chromosome id 1")
    index_fault(tmp_path, b.data, "belongs to chromosome id 1, which the chromosome tree does not list", n_chroms=1)
    # block offset inside the header, and a size running past the end of the file
    index_fault(tmp_path, patch(b.data, first_item + 16, "<Q", 10), "data block at byte 10 ")
    off, _ = b.blocks[0]
    index_fault(tmp_path, patch(b.data, first_item + 24, "<Q", len(b.data) - off + 1), f"block at byte {off:,}")


def test_two_level_index_cycle_is_refused(tmp_path: Path) -> None:
    b = build_bigwig(CHROMS, SECTIONS, two_level=True)
    root = b.offsets["rtree_root"]
    index_fault(tmp_path, patch(b.data, b.offsets["rtree_child_ptr"], "<Q", root), f"at byte {root:,} is reached twice")
