"""A vectorised bigWig reader: every interval of a chromosome as NumPy arrays, in one decode.

It follows the UCSC bbi format (Kent et al. 2010): a 64-byte header, a B+ tree of chromosomes, an R-tree of data
blocks, and zlib-compressed blocks of bedGraph (type 1), variableStep (type 2) or fixedStep (type 3) items. Only
the full-resolution data are read (never the zoom levels), so every value is exact.

The reader is total: for any bytes it returns intervals that are sorted, disjoint, within their chromosome and
non-empty (``start < end``), or raises :class:`store.errors.InputError` / :class:`store.errors.FileTypeError`
naming the file (and the byte offset or the chromosome and position), within the time and memory of its
:class:`ingest.limits.ReadLimits`. The structure is checked in :mod:`ingest.bbi`; here each block is inflated
with a cap at the header's ``uncompressBufSize`` and must decode to exactly its header plus ``count`` items.

Values: a NaN value is *no data* — its bases are dropped here, so no statistic (window or genome-wide) ever
counts them, exactly like bases the file does not cover; ``±inf`` is refused (no assay measures an infinite
signal; it is a corrupt or mis-exported file). A header with no data (index offset 0, as writers leave when
nothing was added) is an empty track: every chromosome reads as having no intervals.
"""

from __future__ import annotations

import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from epigex.ingest.bbi import BbiFile, Chrom, read_chrom_tree, read_header, read_index
from epigex.ingest.bbi import sniff_kind as sniff_kind
from epigex.ingest.limits import BYTES_PER_INTERVAL, CHUNK_WORKING_BYTES, DEFAULT_LIMITS, ReadLimits, too_big
from epigex.ingest.signal_chunks import CHUNK_RECORDS
from epigex.store.errors import InputError
from epigex.store.types import F64, I64, Mask

SECTION_HEADER = 24
MAX_ITEMS = 0xFFFF
ITEM_WIDTH = {1: 12, 2: 8, 3: 4}
# The largest block a section can decode to: its header plus 65,535 bedGraph items.
MAX_SECTION_BYTES = SECTION_HEADER + MAX_ITEMS * ITEM_WIDTH[1]
# Read a chromosome's blocks in one call unless the span between them is mostly other data.
_SPAN_SLACK = 1 << 20

# Blocks inflate on this many threads (zlib lets go of the GIL), a batch of blocks at a time.
INFLATE_THREADS = max(1, min(2, os.cpu_count() or 1))
INFLATE_BATCH = 512

_BEDGRAPH = np.dtype([("start", "u4"), ("end", "u4"), ("value", "f4")])
_VARSTEP = np.dtype([("start", "u4"), ("value", "f4")])


_Items = tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]


@dataclass(frozen=True)
class Intervals:
    """Intervals of one chromosome: sorted, non-overlapping, 0-based half-open, finite values."""

    starts: I64
    ends: I64
    values: F64
    nan_bases: int = 0

    def __len__(self) -> int:
        return int(self.starts.size)


def _empty() -> Intervals:
    return Intervals(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))


class BigWigReader:
    """Read a bigWig file's chromosomes and full-resolution intervals.

    Parameters
    ----------
    path
        The bigWig file. Its header, chromosome tree and data index are validated on open.
    limits
        The read's memory and time budget; its clock starts on open (see :attr:`clock`).
    """

    def __init__(self, path: str | os.PathLike[str], limits: ReadLimits = DEFAULT_LIMITS) -> None:
        self.path = str(path)
        self.limits = limits
        self.clock = limits.clock(self.path)
        try:
            self._fh: BinaryIO = open(self.path, "rb")
        except OSError as err:
            raise InputError(f"{self.path}: cannot be read ({err.strerror or err})") from None
        try:
            self._f = BbiFile(self.path, self._fh, os.fstat(self._fh.fileno()).st_size)
            self._h = read_header(self._f)
            self.version = self._h.version
            self.zoom_levels = self._h.zoom_levels
            self._chroms = read_chrom_tree(self._f, self._h)
            self.chroms: dict[str, tuple[int, int]] = {n: (c.id, c.size) for n, c in self._chroms.items()}
            self._blocks = read_index(self._f, self._h, len(self._chroms))
        except OSError as err:
            self._fh.close()
            raise InputError(f"{self.path}: cannot be read ({err.strerror or err})") from None
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

    @property
    def n_blocks(self) -> int:
        """How many full-resolution data blocks the index lists."""
        return int(self._blocks.shape[0])

    def stored(self, chrom: str) -> tuple[int, int]:
        """How many data blocks ``chrom`` (as spelled in the file) has, and their compressed bytes: no decoding."""
        ids = self._blocks[:, 0]
        lo_i, hi_i = (
            np.searchsorted(ids, self._chroms[chrom].id, "left"),
            np.searchsorted(ids, self._chroms[chrom].id, "right"),
        )
        return int(hi_i - lo_i), int(self._blocks[lo_i:hi_i, 2].sum())

    def intervals(self, chrom: str) -> Intervals:
        """Decode every interval of ``chrom`` (a name as spelled in the file); empty when it has none."""
        parts = self.chunks(chrom)
        if not parts:
            return _empty()
        return Intervals(
            np.concatenate([c.starts for c in parts]).astype(np.int64),
            np.concatenate([c.ends for c in parts]).astype(np.int64),
            np.concatenate([c.values for c in parts]).astype(np.float64),
            sum(c.nan_bases for c in parts),
        )

    def chunks(self, chrom: str, records: int | None = None) -> list[RawChunk]:
        """Every interval of ``chrom`` as compact chunks of about ``records`` intervals (default
        :data:`ingest.signal_chunks.CHUNK_RECORDS`), in genomic order.

        Each chunk is checked as it is decoded, and its coordinates and values kept at the file's own widths
        (12 bytes an interval); a file whose blocks are not in genomic order is sorted whole (at more memory).
        """
        info = self._chroms[chrom]
        ids = self._blocks[:, 0]
        lo_i, hi_i = np.searchsorted(ids, info.id, "left"), np.searchsorted(ids, info.id, "right")
        blocks = self._blocks[lo_i:hi_i]
        if blocks.shape[0] == 0:
            return []
        try:
            return self._decode(chrom, info, blocks, records or CHUNK_RECORDS)
        except OSError as err:
            raise InputError(f"{self.path}: cannot be read ({err.strerror or err})") from None

    def _chunks(self, blocks: I64) -> list[bytes | memoryview]:
        """The raw bytes of each block: one read of their span when it is compact, else a read per block."""
        lo = int(blocks[0, 1])
        hi = int((blocks[:, 1] + blocks[:, 2]).max())
        if hi - lo <= 2 * int(blocks[:, 2].sum()) + _SPAN_SLACK:
            raw = memoryview(self._f.read_at(lo, hi - lo, "data blocks"))
            return [raw[off - lo : off - lo + size] for off, size in blocks[:, 1:].tolist()]
        return [self._f.read_at(off, size, "a data block") for off, size in blocks[:, 1:].tolist()]

    def _inflate(self, chunk: bytes | memoryview, off: int) -> bytes | memoryview:
        """A block's decoded bytes, inflated with a cap at the header's ``uncompressBufSize``."""
        cap = self._h.uncompress_buf
        if not cap:
            return chunk
        limit = min(cap, MAX_SECTION_BYTES)
        d = zlib.decompressobj()
        try:
            out = d.decompress(chunk, limit + 1)
        except zlib.error as err:
            raise self._f.fail(f"data block at byte {off:,} does not decompress ({err})") from None
        if len(out) > limit:
            raise self._f.fail(
                f"data block at byte {off:,} inflates beyond the header's uncompressBufSize ({cap:,} bytes)"
            )
        if not d.eof:
            raise self._f.fail(f"data block at byte {off:,} is a truncated zlib stream")
        return out

    def _block(self, data: bytes | memoryview, off: int, info: Chrom) -> tuple[int, int, int, int, int, int]:
        """Check a decoded block's header against its index entry and size: ``(start, step, span, kind, count,
        width)``."""
        if len(data) < SECTION_HEADER:
            raise self._f.fail(f"data block at byte {off:,} is shorter than its header")
        b_chrom, b_start, _b_end, step, span, kind, _r, count = struct.unpack_from(self._h.endian + "IIIIIBBH", data)
        if b_chrom != info.id:
            raise self._f.fail(
                f"data block at byte {off:,} says chromosome id {b_chrom}, its index entry says {info.id}"
            )
        width = ITEM_WIDTH.get(kind)
        if width is None:
            raise self._f.fail(f"data block at byte {off:,} has unknown item type {kind}")
        if len(data) != SECTION_HEADER + width * count:
            raise self._f.fail(
                f"data block at byte {off:,} decodes to {len(data):,} bytes, but its header and {count:,} "
                f"items need {SECTION_HEADER + width * count:,}"
            )
        return b_start, step, span, kind, count, width

    def _items(self, body: bytes | memoryview, b_start: int, step: int, span: int, kind: int) -> _Items:
        """One block's items as ``(starts, ends, values)`` (coordinates as int64: a span may pass 2^32)."""
        e = self._h.endian
        if kind == 1:
            items = np.frombuffer(body, dtype=_BEDGRAPH.newbyteorder(e))
            return items["start"].astype(np.int64), items["end"].astype(np.int64), items["value"].astype(np.float32)
        if kind == 2:
            items = np.frombuffer(body, dtype=_VARSTEP.newbyteorder(e))
            s = items["start"].astype(np.int64)
            return s, s + span, items["value"].astype(np.float32)
        v = np.frombuffer(body, dtype=np.dtype("f4").newbyteorder(e)).astype(np.float32)
        s = b_start + step * np.arange(v.size, dtype=np.int64)
        return s, s + span, v

    def _inflate_many(
        self, pool: ThreadPoolExecutor, chunks: list[bytes | memoryview], offs: list[int]
    ) -> list[bytes | memoryview]:
        """Inflate blocks on the pool's threads (zlib lets go of the GIL), in order."""
        if len(chunks) < 2 * INFLATE_THREADS:
            return [self._inflate(c, o) for c, o in zip(chunks, offs, strict=True)]
        cut = -(-len(chunks) // INFLATE_THREADS)
        parts = [(chunks[i : i + cut], offs[i : i + cut]) for i in range(0, len(chunks), cut)]
        done = pool.map(lambda p: [self._inflate(c, o) for c, o in zip(p[0], p[1], strict=True)], parts)
        return [d for part in done for d in part]

    def _decode(self, chrom: str, info: Chrom, blocks: I64, records: int) -> list[RawChunk]:
        max_items = self.limits.max_intervals()
        n_items = 0
        parts: list[RawChunk] = []
        pending: list[_Items] = []
        bedgraph: list[bytes | memoryview] = []  # little-endian bedGraph bodies: joined and read in one go
        held = 0

        def flush() -> None:
            nonlocal held
            if bedgraph:
                items = np.frombuffer(b"".join(bedgraph), dtype=_BEDGRAPH)
                pending.append((items["start"], items["end"], items["value"]))
                bedgraph.clear()
            if pending:
                parts.append(
                    _checked_chunk(
                        np.concatenate([p[0] for p in pending]),
                        np.concatenate([p[1] for p in pending]),
                        np.concatenate([p[2] for p in pending]),
                        self.path,
                        chrom,
                        info.size,
                    )
                )
                pending.clear()
            held = 0

        offs = blocks[:, 1].tolist()
        raw = self._chunks(blocks)
        with ThreadPoolExecutor(INFLATE_THREADS) as pool:
            for b0 in range(0, len(raw), INFLATE_BATCH):
                batch = self._inflate_many(pool, raw[b0 : b0 + INFLATE_BATCH], offs[b0 : b0 + INFLATE_BATCH])
                for off, data in zip(offs[b0 : b0 + INFLATE_BATCH], batch, strict=True):
                    b_start, step, span, kind, count, _width = self._block(data, off, info)
                    n_items += count
                    if n_items > max_items:
                        raise too_big(
                            self.path,
                            f"chromosome {chrom}",
                            n_items * BYTES_PER_INTERVAL + CHUNK_WORKING_BYTES,
                            self.limits,
                        )
                    body = data[SECTION_HEADER:]
                    if kind == 1 and self._h.endian == "<":
                        bedgraph.append(body)
                    else:
                        pending.append(self._items(body, b_start, step, span, kind))
                    held += count
                    if held >= records:
                        flush()
                self.clock.check()
        flush()
        return _in_order(parts, self.path, chrom, info.size, records)


@dataclass(frozen=True)
class RawChunk:
    """Consecutive intervals of one chromosome at the file's widths: sorted, disjoint, non-empty, finite."""

    starts: npt.NDArray[np.uint32]
    ends: npt.NDArray[np.uint32]
    values: npt.NDArray[np.float32]
    nan_bases: int = 0

    def __len__(self) -> int:
        return int(self.starts.size)


def _checked_chunk(
    starts: npt.NDArray[Any], ends: npt.NDArray[Any], values: npt.NDArray[Any], path: str, chrom: str, size: int
) -> RawChunk:
    """Checked intervals (see :func:`_check`) at the file's widths: the coordinates are within the chromosome, so
    below 2^32, and the values were float32 in the file (lossless). NaN values are kept until the chunks are known
    to be in order (:func:`_in_order`), so an overlap involving one is refused wherever the chunks are cut."""
    s, e, v = _check(starts, ends, values, path, chrom, size)
    return RawChunk(
        np.ascontiguousarray(s, dtype=np.uint32),
        np.ascontiguousarray(e, dtype=np.uint32),
        np.ascontiguousarray(v, dtype=np.float32),
    )


def _without_nan(c: RawChunk) -> RawChunk:
    """The chunk without its NaN (no data) intervals, their bases counted."""
    nan = np.isnan(c.values)
    if not bool(nan.any()):
        return c
    keep = ~nan
    bases = int((c.ends[nan] - c.starts[nan]).sum())  # ends > starts: no wrap
    return RawChunk(c.starts[keep], c.ends[keep], c.values[keep], c.nan_bases + bases)


def _in_order(parts: list[RawChunk], path: str, chrom: str, size: int, records: int) -> list[RawChunk]:
    """The chunks as they are when each starts at or after the previous one's end; else all of them sorted and
    checked as one, and cut again. Then NaN intervals are dropped; their bases are counted on the first chunk."""
    full = [p for p in parts if len(p)]
    if not all(int(b.starts[0]) >= int(a.ends[-1]) for a, b in pairwise(full)):
        whole = _checked_chunk(
            np.concatenate([p.starts for p in full]),
            np.concatenate([p.ends for p in full]),
            np.concatenate([p.values for p in full]),
            path,
            chrom,
            size,
        )
        full = [
            RawChunk(whole.starts[i : i + records], whole.ends[i : i + records], whole.values[i : i + records])
            for i in range(0, len(whole), records)
        ]
    cleaned = [_without_nan(p) for p in full]
    nan = sum(p.nan_bases for p in cleaned)
    kept = [p for p in cleaned if len(p)]
    if not kept:
        empty = np.zeros(0, np.uint32)
        return [RawChunk(empty, empty, np.zeros(0, np.float32), nan)] if nan else []
    first = kept[0]
    return [RawChunk(first.starts, first.ends, first.values, nan), *kept[1:]]


def _check(
    starts: npt.NDArray[Any],
    ends: npt.NDArray[Any],
    values: npt.NDArray[Any],
    path: str,
    chrom: str,
    size: int,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    """Sort intervals by start; refuse empty, out-of-chromosome, infinite and overlapping ones (NaN ones included).

    Any integer and float widths: the comparisons never subtract, so unsigned coordinates cannot wrap.
    """

    def refuse(mask: Mask, what: str) -> InputError:
        i = int(np.argmax(mask))
        return InputError(f"{path}: interval {chrom}:{int(starts[i])}-{int(ends[i])} {what}")

    if starts.size > 1 and bool(np.any(starts[1:] < starts[:-1])):
        order = np.argsort(starts, kind="stable")
        starts, ends, values = starts[order], ends[order], values[order]
    bad = ends <= starts
    if bool(bad.any()):
        raise refuse(bad, "is empty or reversed (start ≥ end); the file is corrupt")
    bad = ends > size
    if bool(bad.any()):
        raise refuse(bad, f"runs past the end of {chrom} ({size:,} bp as the file declares it); the file is corrupt")
    bad = np.isinf(values)
    if bool(bad.any()):
        raise refuse(bad, "has an infinite value; re-export the track with finite values")
    if starts.size > 1 and bool(np.any(starts[1:] < ends[:-1])):
        i = int(np.argmax(starts[1:] < ends[:-1]))
        raise InputError(
            f"{path}: overlapping intervals on {chrom} at {int(starts[i])}-{int(ends[i])} and "
            f"{int(starts[i + 1])}-{int(ends[i + 1])}; a bigWig must not overlap itself"
        )
    return starts, ends, values
