"""The structure of a bigWig file (UCSC bbi, Kent et al. 2010): header, chromosome B+ tree and R-tree index.

Every offset and size is checked as a Python integer against the file's size before a byte is read, every tree
walk keeps a set of visited nodes and a byte budget (a valid tree's nodes are disjoint, so together they fit in
the file), and every count is held against what the file could hold. Any fault raises
:class:`store.errors.InputError` naming the file and the byte offset; nothing else leaves this module.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from epigex.store.errors import FileTypeError, InputError
from epigex.store.types import I64

BIGWIG_MAGIC = 0x888FFC26
BIGBED_MAGIC = 0x8789F2EB
CHROM_TREE_MAGIC = 0x78CA8C91
RTREE_MAGIC = 0x2468ACE0
HEADER_BYTES = 64
CHROM_TREE_HEADER = 32
RTREE_HEADER = 48
NODE_HEADER = 4
RTREE_LEAF_ITEM = 32
RTREE_NODE_ITEM = 24
# A chromosome name longer than this is not a name (UCSC allows 255 characters).
MAX_KEY_SIZE = 1024

Endian = Literal["<", ">"]


def sniff_kind(head: bytes) -> str:
    """Name what the first bytes of a file look like: bigwig, bigbed, gzip, text, empty or unknown."""
    if not head:
        return "empty"
    if len(head) >= 4:
        for order in ("<", ">"):
            (magic,) = struct.unpack(order + "I", head[:4])
            if magic == BIGWIG_MAGIC:
                return "bigwig"
            if magic == BIGBED_MAGIC:
                return "bigbed"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 3:  # a multi-byte character cut by the sniff window is still text
            return "unknown"
    return "text"


@dataclass(frozen=True)
class Header:
    """The fields of the 64-byte bbi header that the reader uses."""

    endian: Endian
    version: int
    zoom_levels: int
    chrom_tree: int
    data_offset: int
    index_offset: int
    uncompress_buf: int


@dataclass(frozen=True)
class Chrom:
    """One chromosome of the file: its id in the data blocks and its declared length."""

    id: int
    size: int


class BbiFile:
    """Bounds-checked reads of one open file, with errors that name it."""

    def __init__(self, path: str, fh: BinaryIO, size: int) -> None:
        self.path = path
        self.fh = fh
        self.size = size

    def fail(self, what: str) -> InputError:
        """The error for a structural fault."""
        return InputError(f"{self.path}: {what}; the file is truncated or corrupt — re-download or re-export it")

    def read_at(self, offset: int, n: int, what: str) -> bytes:
        """``n`` bytes at ``offset``, or an error naming ``what`` lies outside the file."""
        if offset < 0 or n < 0 or offset + n > self.size:
            raise self.fail(f"{what} needs bytes {offset:,}..{offset + n:,} but the file has {self.size:,}")
        self.fh.seek(offset)
        data = self.fh.read(n)
        if len(data) != n:
            raise self.fail(f"short read of {what} at byte {offset:,}")
        return data


def read_header(f: BbiFile) -> Header:
    """Check the magic number and the header's offsets; a bigBed, text or gzip file is named as such."""
    f.fh.seek(0)
    head = f.fh.read(HEADER_BYTES)
    kind = sniff_kind(head[:8])
    if kind == "empty":
        raise InputError(f"{f.path}: the file is empty (0 bytes); expected a bigWig signal track")
    if kind == "bigbed":
        raise FileTypeError(
            f"{f.path}: this is a bigBed (peaks), not a bigWig signal track; give the bigWig of this assay"
        )
    if kind != "bigwig":
        raise FileTypeError(
            f"{f.path}: not a bigWig file (found {kind} content, no bigWig magic number); "
            "give a bigWig (.bw/.bigwig) signal track"
        )
    if len(head) < HEADER_BYTES:
        raise f.fail(f"header is {len(head)} bytes, expected {HEADER_BYTES}")
    e: Endian = "<" if struct.unpack("<I", head[:4])[0] == BIGWIG_MAGIC else ">"
    fields = struct.unpack(e + "IHHQQQHHQQIQ", head)
    _, version, zooms, chrom_tree, data_offset, index_offset = fields[:6]
    uncompress_buf = fields[10]
    if not HEADER_BYTES <= chrom_tree < f.size:
        raise f.fail(f"chromosome tree offset {chrom_tree:,} lies outside the file ({f.size:,} bytes)")
    if not HEADER_BYTES <= data_offset <= f.size:
        raise f.fail(f"data offset {data_offset:,} lies outside the file ({f.size:,} bytes)")
    # An index offset of 0 is what writers leave when no data was added: an empty track, not a corrupt one.
    if index_offset != 0 and not HEADER_BYTES <= index_offset < f.size:
        raise f.fail(f"index offset {index_offset:,} lies outside the file ({f.size:,} bytes)")
    return Header(e, version, zooms, chrom_tree, data_offset, index_offset, uncompress_buf)


def read_chrom_tree(f: BbiFile, h: Header) -> dict[str, Chrom]:
    """Every chromosome of the B+ tree: names valid UTF-8 and unique, ids unique and below the count."""
    # long by design: the B+ tree walk and its totality checks in one place
    e = h.endian
    head = f.read_at(h.chrom_tree, CHROM_TREE_HEADER, "the chromosome tree header")
    magic, block_size, key_size, val_size, item_count = struct.unpack(e + "IIIIQ", head[:24])
    if magic != CHROM_TREE_MAGIC or val_size != 8:
        raise f.fail(f"bad chromosome tree at byte {h.chrom_tree:,} (magic number or value size)")
    if not 0 < key_size <= MAX_KEY_SIZE:
        raise f.fail(f"chromosome tree key size {key_size:,} is not a name length (1..{MAX_KEY_SIZE})")
    item = key_size + 8
    if item_count > f.size // item:
        raise f.fail(f"chromosome tree claims {item_count:,} chromosomes, more than the file could hold")
    names: list[str] = []
    ids: list[int] = []
    sizes: list[int] = []
    visited: set[int] = set()
    budget = f.size  # a valid tree's nodes are disjoint: together they fit in the file
    stack = [h.chrom_tree + CHROM_TREE_HEADER]
    while stack:
        off = stack.pop()
        if off in visited:
            raise f.fail(f"chromosome tree node at byte {off:,} is reached twice (a cycle or a shared child)")
        visited.add(off)
        is_leaf, _r, count = struct.unpack(e + "BBH", f.read_at(off, NODE_HEADER, "a chromosome tree node"))
        if count == 0 or (block_size and count > block_size) or is_leaf > 1:
            raise f.fail(f"chromosome tree node at byte {off:,} is malformed ({count} items, leaf flag {is_leaf})")
        budget -= NODE_HEADER + count * item
        if budget < 0:
            raise f.fail("chromosome tree nodes overlap (together they are larger than the file)")
        body = f.read_at(off + NODE_HEADER, count * item, "a chromosome tree node")
        for i in range(count):
            key = body[i * item : i * item + key_size].rstrip(b"\x00")
            if is_leaf:
                chrom_id, chrom_size = struct.unpack_from(e + "II", body, i * item + key_size)
                try:
                    name = key.decode("utf-8")
                except UnicodeDecodeError:
                    raise f.fail(f"chromosome name {key!r} at byte {off:,} is not valid UTF-8") from None
                if not name or "\x00" in name or not name.isprintable():
                    raise f.fail(f"chromosome name {key!r} at byte {off:,} is empty or holds control characters")
                names.append(name)
                ids.append(chrom_id)
                sizes.append(chrom_size)
                if len(names) > item_count:
                    raise f.fail(f"chromosome tree holds more than the {item_count:,} chromosomes it declares")
            else:
                (child,) = struct.unpack_from(e + "Q", body, i * item + key_size)
                stack.append(child)
    if len(names) != item_count:
        raise f.fail(f"chromosome tree lists {len(names):,} of the {item_count:,} chromosomes it declares")
    chroms: dict[str, Chrom] = {}
    owner: dict[int, str] = {}
    for name, cid, size in zip(names, ids, sizes, strict=True):
        if name in chroms:
            raise f.fail(f"chromosome {name!r} is listed twice in the chromosome tree")
        if cid >= item_count or cid in owner:
            other = f" (the id of {owner[cid]!r} too)" if cid in owner else f" (not below the count {item_count})"
            raise f.fail(f"chromosome {name!r} has id {cid}{other}; every chromosome needs its own id")
        chroms[name] = Chrom(cid, size)
        owner[cid] = name
    return chroms


def read_index(f: BbiFile, h: Header, n_chroms: int) -> I64:
    """The R-tree's data blocks as rows ``(chrom_id, offset, size)``, sorted by chromosome id then offset.

    The leaves must hold exactly the item count of the index header, every block a known chromosome, and the
    blocks lie disjoint inside the file (two index entries for one block would decode its data twice).
    """
    # long by design: the R-tree walk and its totality checks in one place
    if h.index_offset == 0:
        return np.zeros((0, 3), dtype=np.int64)
    e = h.endian
    head = f.read_at(h.index_offset, RTREE_HEADER, "the data index header")
    magic, _block_size, item_count = struct.unpack(e + "IIQ", head[:16])
    if magic != RTREE_MAGIC:
        raise f.fail(f"bad data index at byte {h.index_offset:,} (R-tree magic number)")
    if item_count > f.size // RTREE_LEAF_ITEM:
        raise f.fail(f"data index claims {item_count:,} blocks, more than the file could hold")
    leaf_dt = np.dtype(
        [("sc", e + "u4"), ("sb", e + "u4"), ("ec", e + "u4"), ("eb", e + "u4"), ("off", e + "u8"), ("size", e + "u8")]
    )
    node_dt = np.dtype([("sc", e + "u4"), ("sb", e + "u4"), ("ec", e + "u4"), ("eb", e + "u4"), ("off", e + "u8")])
    leaves: list[npt.NDArray[np.void]] = []
    n_leaf_items = 0
    visited: set[int] = set()
    budget = f.size
    stack = [h.index_offset + RTREE_HEADER]
    while stack:
        off = stack.pop()
        if off in visited:
            raise f.fail(f"data index node at byte {off:,} is reached twice (a cycle or a shared child)")
        visited.add(off)
        is_leaf, _r, count = struct.unpack(e + "BBH", f.read_at(off, NODE_HEADER, "a data index node"))
        if is_leaf > 1:
            raise f.fail(f"data index node at byte {off:,} has leaf flag {is_leaf}")
        width = RTREE_LEAF_ITEM if is_leaf else RTREE_NODE_ITEM
        budget -= NODE_HEADER + count * width
        if budget < 0:
            raise f.fail("data index nodes overlap (together they are larger than the file)")
        body = f.read_at(off + NODE_HEADER, count * width, "a data index node")
        if is_leaf:
            n_leaf_items += count
            if n_leaf_items > item_count:
                raise f.fail(f"data index holds more than the {item_count:,} blocks it declares")
            leaves.append(np.frombuffer(body, dtype=leaf_dt))
        else:
            stack.extend(int(x) for x in np.frombuffer(body, dtype=node_dt)["off"][::-1])
    if n_leaf_items != item_count:
        raise f.fail(f"data index lists {n_leaf_items:,} of the {item_count:,} blocks it declares")
    if not leaves:
        return np.zeros((0, 3), dtype=np.int64)
    items = np.concatenate(leaves)
    # Python-integer-safe bounds: every offset and size fits the file, so their sums cannot overflow int64.
    off_u, size_u = items["off"].astype(np.uint64), items["size"].astype(np.uint64)
    fsize = np.uint64(f.size)
    bad = (off_u < np.uint64(HEADER_BYTES)) | (off_u >= fsize) | (size_u == 0) | (size_u > fsize - off_u)
    if bool(bad.any()):
        i = int(np.argmax(bad))
        raise f.fail(f"data block at byte {int(off_u[i]):,} ({int(size_u[i]):,} bytes) lies outside the file")
    chrom = items["sc"].astype(np.int64)
    if bool((chrom >= n_chroms).any()) or bool((items["ec"] != items["sc"]).any()):
        i = int(np.argmax((chrom >= n_chroms) | (items["ec"] != items["sc"])))
        raise f.fail(
            f"data block at byte {int(off_u[i]):,} belongs to chromosome id {int(chrom[i])}, which the chromosome "
            f"tree does not list (it has {n_chroms})"
        )
    blocks = np.stack([chrom, off_u.astype(np.int64), size_u.astype(np.int64)], axis=1)
    by_offset = blocks[np.argsort(blocks[:, 1], kind="stable")]
    overlap = by_offset[1:, 1] < by_offset[:-1, 1] + by_offset[:-1, 2]
    if bool(overlap.any()):
        i = int(np.argmax(overlap))
        raise f.fail(
            f"data blocks at bytes {int(by_offset[i, 1]):,} and {int(by_offset[i + 1, 1]):,} overlap "
            "(two index entries for the same data)"
        )
    return blocks[np.lexsort((blocks[:, 1], blocks[:, 0]))]
