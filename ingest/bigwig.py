"""A vectorised bigWig reader: every interval of a chromosome as NumPy arrays, in one decode.

It follows the UCSC bbi format (Kent et al. 2010): a 64-byte header, a B+ tree of chromosomes, an R-tree of data
blocks, and zlib-compressed blocks of bedGraph (type 1), variableStep (type 2) or fixedStep (type 3) items. Only
the full-resolution data are read (never the zoom levels), so every value is exact. Malformed files raise
:class:`store.errors.FileTypeError` or :class:`store.errors.InputError` that name the file and the fault.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from store.errors import FileTypeError, InputError

BIGWIG_MAGIC = 0x888FFC26
BIGBED_MAGIC = 0x8789F2EB
CHROM_TREE_MAGIC = 0x78CA8C91
RTREE_MAGIC = 0x2468ACE0
_HEADER = 64

_BEDGRAPH = np.dtype([("start", "u4"), ("end", "u4"), ("value", "f4")])
_VARSTEP = np.dtype([("start", "u4"), ("value", "f4")])


@dataclass(frozen=True)
class Intervals:
    """Intervals of one chromosome: sorted, non-overlapping, 0-based half-open."""

    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.starts.size)


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
    except UnicodeDecodeError:
        return "unknown"
    return "text"


class BigWigReader:
    """Read a bigWig file's chromosomes and full-resolution intervals.

    Parameters
    ----------
    path
        The bigWig file. It is validated on open: magic number, version, header offsets within the file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self._fh: BinaryIO = open(self.path, "rb")
        try:
            self._size = os.fstat(self._fh.fileno()).st_size
            self._read_header()
            self.chroms = self._read_chrom_tree()
            self._blocks = self._read_index()
        except BaseException:
            self._fh.close()
            raise

    def __enter__(self) -> BigWigReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._fh.close()

    def _fail(self, what: str) -> InputError:
        return InputError(f"{self.path}: {what}; the file is truncated or corrupt — re-download or re-export it")

    def _read_at(self, offset: int, n: int) -> bytes:
        if offset < 0 or offset + n > self._size:
            raise self._fail(f"needs bytes {offset}..{offset + n} but the file has {self._size}")
        self._fh.seek(offset)
        data = self._fh.read(n)
        if len(data) != n:
            raise self._fail(f"short read at byte {offset}")
        return data

    def _read_header(self) -> None:
        head = self._fh.read(_HEADER)
        kind = sniff_kind(head)
        if kind == "empty":
            raise InputError(f"{self.path}: the file is empty (0 bytes); expected a bigWig signal track")
        if kind == "bigbed":
            raise FileTypeError(
                f"{self.path}: this is a bigBed (peaks), not a bigWig signal track; give the bigWig of this assay"
            )
        if kind != "bigwig":
            raise FileTypeError(
                f"{self.path}: not a bigWig file (found {kind} content, no bigWig magic number); "
                "give a bigWig (.bw/.bigwig) signal track"
            )
        if len(head) < _HEADER:
            raise self._fail(f"header is {len(head)} bytes, expected {_HEADER}")
        magic = struct.unpack("<I", head[:4])[0]
        self._e: Literal["<", ">"] = "<" if magic == BIGWIG_MAGIC else ">"
        (
            _,
            self.version,
            self.zoom_levels,
            self._chrom_tree,
            self._data_offset,
            self._index_offset,
            _field_count,
            _defined,
            _autosql,
            _summary,
            self._uncompress_buf,
            _ext,
        ) = struct.unpack(self._e + "IHHQQQHHQQIQ", head)
        for name, off in (
            ("chromosome tree", self._chrom_tree),
            ("data", self._data_offset),
            ("index", self._index_offset),
        ):
            if not 0 < off < self._size:
                raise self._fail(f"{name} offset {off} lies outside the file ({self._size} bytes)")

    def _read_chrom_tree(self) -> dict[str, tuple[int, int]]:
        e = self._e
        head = self._read_at(self._chrom_tree, 32)
        magic, _block, key_size, val_size, item_count = struct.unpack(e + "IIIIQ", head[:24])
        if magic != CHROM_TREE_MAGIC or val_size != 8:
            raise self._fail("bad chromosome tree")
        chroms: dict[str, tuple[int, int]] = {}
        stack = [self._chrom_tree + 32]
        while stack:
            off = stack.pop()
            is_leaf, _r, count = struct.unpack(e + "BBH", self._read_at(off, 4))
            item = key_size + 8
            body = self._read_at(off + 4, count * item)
            for i in range(count):
                key = body[i * item : i * item + key_size].rstrip(b"\x00").decode("utf-8", "replace")
                if is_leaf:
                    chrom_id, chrom_size = struct.unpack_from(e + "II", body, i * item + key_size)
                    chroms[key] = (chrom_id, chrom_size)
                else:
                    (child,) = struct.unpack_from(e + "Q", body, i * item + key_size)
                    stack.append(child)
        if len(chroms) != item_count:
            raise self._fail(f"chromosome tree lists {len(chroms)} of {item_count} chromosomes")
        return chroms

    def _read_index(self) -> npt.NDArray[np.int64]:
        """Return the leaf blocks of the R-tree as rows ``(chrom_id, offset, size)``, sorted by offset."""
        e = self._e
        head = self._read_at(self._index_offset, 48)
        magic = struct.unpack(e + "I", head[:4])[0]
        if magic != RTREE_MAGIC:
            raise self._fail("bad data index (R-tree magic number)")
        leaf_dt = np.dtype(
            [
                ("sc", e + "u4"),
                ("sb", e + "u4"),
                ("ec", e + "u4"),
                ("eb", e + "u4"),
                ("off", e + "u8"),
                ("size", e + "u8"),
            ]
        )
        node_dt = np.dtype([("sc", e + "u4"), ("sb", e + "u4"), ("ec", e + "u4"), ("eb", e + "u4"), ("off", e + "u8")])
        leaves: list[npt.NDArray[np.int64]] = []
        stack = [self._index_offset + 48]
        while stack:
            off = stack.pop()
            is_leaf, _r, count = struct.unpack(e + "BBH", self._read_at(off, 4))
            if is_leaf:
                items = np.frombuffer(self._read_at(off + 4, count * 32), dtype=leaf_dt)
                leaves.append(np.stack([items["sc"], items["off"], items["size"]], axis=1).astype(np.int64))
            else:
                items = np.frombuffer(self._read_at(off + 4, count * 24), dtype=node_dt)
                stack.extend(int(x) for x in items["off"])
        blocks = np.concatenate(leaves) if leaves else np.zeros((0, 3), dtype=np.int64)
        if blocks.size and int((blocks[:, 1] + blocks[:, 2]).max()) > self._size:
            raise self._fail("a data block lies beyond the end of the file")
        return blocks[np.argsort(blocks[:, 1], kind="stable")]

    def intervals(self, chrom: str) -> Intervals:
        """Decode every interval of ``chrom`` (a name as spelled in the file); empty when it has none."""
        if chrom not in self.chroms:
            raise KeyError(chrom)
        chrom_id = self.chroms[chrom][0]
        blocks = self._blocks[self._blocks[:, 0] == chrom_id]
        empty = Intervals(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
        if blocks.shape[0] == 0:
            return empty
        lo = int(blocks[0, 1])
        hi = int((blocks[:, 1] + blocks[:, 2]).max())
        raw = self._read_at(lo, hi - lo)
        starts: list[npt.NDArray[np.int64]] = []
        ends: list[npt.NDArray[np.int64]] = []
        values: list[npt.NDArray[np.float64]] = []
        bedgraph: list[bytes] = []
        e = self._e
        for _cid, off, size in blocks.tolist():
            chunk = raw[off - lo : off - lo + size]
            if self._uncompress_buf:
                try:
                    chunk = zlib.decompress(chunk)
                except zlib.error as err:
                    raise self._fail(f"data block at byte {off} does not decompress ({err})") from None
            if len(chunk) < 24:
                raise self._fail(f"data block at byte {off} is shorter than its header")
            b_chrom, b_start, _b_end, step, span, kind, _r, count = struct.unpack_from(e + "IIIIIBBH", chunk)
            if b_chrom != chrom_id:
                raise self._fail(f"data block at byte {off} belongs to another chromosome")
            body = chunk[24:]
            width = {1: 12, 2: 8, 3: 4}.get(kind)
            if width is None:
                raise self._fail(f"data block at byte {off} has unknown item type {kind}")
            if len(body) < width * count:
                raise self._fail(f"data block at byte {off} holds fewer items than it declares")
            body = body[: width * count]
            if kind == 1 and e == "<":
                bedgraph.append(body)
                continue
            if kind == 1:
                items = np.frombuffer(body, dtype=_BEDGRAPH.newbyteorder(">"))
                s, t, v = items["start"].astype(np.int64), items["end"].astype(np.int64), items["value"]
            elif kind == 2:
                items = np.frombuffer(body, dtype=_VARSTEP.newbyteorder(e))
                s = items["start"].astype(np.int64)
                t, v = s + span, items["value"]
            else:
                v = np.frombuffer(body, dtype=np.dtype("f4").newbyteorder(e))
                s = b_start + step * np.arange(count, dtype=np.int64)
                t = s + span
            starts.append(s)
            ends.append(t)
            values.append(v.astype(np.float64))
        if bedgraph:
            items = np.frombuffer(b"".join(bedgraph), dtype=_BEDGRAPH)
            starts.append(items["start"].astype(np.int64))
            ends.append(items["end"].astype(np.int64))
            values.append(items["value"].astype(np.float64))
        s_all = np.concatenate(starts)
        e_all = np.concatenate(ends)
        v_all = np.concatenate(values)
        return _sorted_checked(s_all, e_all, v_all, self.path, chrom)


def _sorted_checked(
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    path: str,
    chrom: str,
) -> Intervals:
    """Sort intervals by start, drop empty and non-finite ones, refuse overlaps."""
    if starts.size > 1 and bool(np.any(starts[1:] < starts[:-1])):
        order = np.argsort(starts, kind="stable")
        starts, ends, values = starts[order], ends[order], values[order]
    keep = (ends > starts) & np.isfinite(values)
    if not bool(keep.all()):
        starts, ends, values = starts[keep], ends[keep], values[keep]
    if starts.size > 1 and bool(np.any(starts[1:] < ends[:-1])):
        i = int(np.argmax(starts[1:] < ends[:-1]))
        raise InputError(
            f"{path}: overlapping intervals on {chrom} at {int(starts[i])}-{int(ends[i])} and "
            f"{int(starts[i + 1])}-{int(ends[i + 1])}; a bigWig must not overlap itself"
        )
    return Intervals(starts, ends, values)
