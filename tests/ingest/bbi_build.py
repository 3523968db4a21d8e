"""A minimal bigWig writer for tests: full control over every field, and the byte offsets of each structure.

It writes the layout the UCSC tools write — header, chromosome B+ tree, data count and blocks, R-tree index —
with both trees either one level (a root leaf) or two (a root node with one child), so that tests can point a
child at itself, set an offset to an extreme value or swap in a zlib bomb, and know where each field lies.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

BIGWIG_MAGIC = 0x888FFC26
CHROM_TREE_MAGIC = 0x78CA8C91
RTREE_MAGIC = 0x2468ACE0


@dataclass
class Section:
    """One data block: a bedGraph (1), variableStep (2) or fixedStep (3) section of one chromosome."""

    chrom_id: int
    kind: int
    items: Sequence[tuple[float, ...]]  # bedGraph (s, e, v); variableStep (s, v); fixedStep (v,)
    start: int = 0
    step: int = 0
    span: int = 1
    count: int | None = None  # the declared item count (default: len(items))
    raw: bytes | None = None  # the block's stored bytes, verbatim (overrides everything above)


@dataclass
class Built:
    """A written file and where its structures lie."""

    data: bytes
    offsets: dict[str, int] = field(default_factory=dict)
    blocks: list[tuple[int, int]] = field(default_factory=list)  # (offset, size) of each data block


def section_bounds(sec: Section) -> tuple[int, int]:
    """The first and last base a section covers (its R-tree bounds)."""
    if not sec.items:
        return 0, 0
    if sec.kind == 1:
        return int(sec.items[0][0]), int(sec.items[-1][1])
    if sec.kind == 2:
        return int(sec.items[0][0]), int(sec.items[-1][0]) + sec.span
    return sec.start, sec.start + sec.step * (len(sec.items) - 1) + sec.span


def encode_section(sec: Section, e: str = "<") -> bytes:
    """A data block's uncompressed bytes."""
    count = len(sec.items) if sec.count is None else sec.count
    if sec.kind == 1:
        body = b"".join(struct.pack(e + "IIf", int(s), int(t), v) for s, t, v in sec.items)
    elif sec.kind == 2:
        body = b"".join(struct.pack(e + "If", int(s), v) for s, v in sec.items)
    else:
        body = b"".join(struct.pack(e + "f", v[0]) for v in sec.items)
    lo, hi = section_bounds(sec)
    head = struct.pack(e + "IIIIIBBH", sec.chrom_id, lo, hi, sec.step, sec.span, sec.kind, 0, count)
    return head + body


def build_bigwig(
    chroms: Sequence[tuple[str | bytes, int]],
    sections: Sequence[Section],
    *,
    endian: str = "<",
    compress: bool = True,
    uncompress_buf: int | None = None,
    chrom_ids: Sequence[int] | None = None,
    two_level: bool = False,
    key_size: int | None = None,
    rtree_count: int | None = None,
) -> Built:
    """Write a bigWig (no zoom levels) and return its bytes with the offsets of its parts.

    ``offsets`` has ``chrom_tree``, ``chrom_root`` (the root node), ``chrom_child_ptr`` (two-level: the byte of
    the root's child offset), ``data``, ``index``, ``rtree_root``, ``rtree_child_ptr`` (two-level) and
    ``rtree_leaf`` (the leaf node).
    """
    e = endian
    names = [c if isinstance(c, bytes) else c.encode() for c, _ in chroms]
    ks = key_size or max([len(n) for n in names] + [1])
    ids = list(chrom_ids) if chrom_ids is not None else list(range(len(chroms)))
    out = bytearray(64)
    offsets: dict[str, int] = {}
    # chromosome B+ tree
    offsets["chrom_tree"] = len(out)
    out += struct.pack(e + "IIIIQQ", CHROM_TREE_MAGIC, max(1, len(chroms)), ks, 8, len(chroms), 0)
    leaf = struct.pack(e + "BBH", 1, 0, len(chroms)) + b"".join(
        n.ljust(ks, b"\x00")[:ks] + struct.pack(e + "II", i, size)
        for n, i, (_, size) in zip(names, ids, chroms, strict=True)
    )
    offsets["chrom_root"] = len(out)
    if two_level:
        root_len = 4 + ks + 8
        child = len(out) + root_len
        offsets["chrom_child_ptr"] = len(out) + 4 + ks
        out += struct.pack(e + "BBH", 0, 0, 1) + names[0].ljust(ks, b"\x00")[:ks] + struct.pack(e + "Q", child)
    out += leaf
    # data
    offsets["data"] = len(out)
    out += struct.pack(e + "Q", len(sections))
    stored: list[tuple[int, int, Section]] = []
    max_raw = 0
    for sec in sections:
        raw = encode_section(sec, e)
        max_raw = max(max_raw, len(raw))
        blob = sec.raw if sec.raw is not None else (zlib.compress(raw) if compress else raw)
        stored.append((len(out), len(blob), sec))
        out += blob
    # R-tree index
    offsets["index"] = len(out)
    n = len(stored)
    bounds = [(sec.chrom_id, *section_bounds(sec)) for _, _, sec in stored]
    first = min(bounds) if bounds else (0, 0, 0)
    last = max(((c, hi) for c, _, hi in bounds), default=(0, 0))
    out += struct.pack(
        e + "IIQIIIIQII",
        RTREE_MAGIC,
        256,
        n if rtree_count is None else rtree_count,
        first[0],
        first[1],
        last[0],
        last[1],
        offsets["index"],
        1,
        0,
    )
    offsets["rtree_root"] = len(out)
    if two_level:
        child = len(out) + 4 + 24
        offsets["rtree_child_ptr"] = len(out) + 4 + 16
        out += struct.pack(e + "BBH", 0, 0, 1) + struct.pack(e + "IIIIQ", first[0], first[1], last[0], last[1], child)
    offsets["rtree_leaf"] = len(out)
    out += struct.pack(e + "BBH", 1, 0, n)
    for (off, size, _sec), (c, lo, hi) in zip(stored, bounds, strict=True):
        out += struct.pack(e + "IIIIQQ", c, lo, c, hi, off, size)
    buf = (max_raw if compress else 0) if uncompress_buf is None else uncompress_buf
    header = struct.pack(
        e + "IHHQQQHHQQIQ",
        BIGWIG_MAGIC,
        4,
        0,
        offsets["chrom_tree"],
        offsets["data"],
        offsets["index"],
        0,
        0,
        0,
        0,
        buf,
        0,
    )
    out[:64] = header
    return Built(bytes(out), offsets, [(off, size) for off, size, _ in stored])


def patch(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    """``data`` with ``struct.pack(fmt, *values)`` written at ``offset``."""
    b = bytearray(data)
    packed = struct.pack(fmt, *values)
    b[offset : offset + len(packed)] = packed
    return bytes(b)
