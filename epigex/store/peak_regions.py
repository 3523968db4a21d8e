"""The lines of a kept peak file that fall in one genomic region, for a genome browser that asks region by region.

A gene page shows a dozen or more peak tracks; igv.js reads an unindexed BED whole before it draws anything, so a
page would fetch every file entire (tens of MB). Served region by region (igv's ``service`` source), a page moves a
few kB per track. The file was validated when it was ingested; lines that are not features (``track``,
``browser``, ``#`` comments) simply match no region.
"""

from __future__ import annotations

import gzip
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from epigex.store.errors import InputError
from epigex.store.genome import normalize_chrom

# igv.js may ask for fractional bases (``chr1:230274693.5-231274693.5``): the region is widened to whole bases.
REGION = re.compile(r"^([A-Za-z0-9_.\-]{1,128}):([0-9]{1,10}(?:\.[0-9]{1,6})?)-([0-9]{1,10}(?:\.[0-9]{1,6})?)$")
# Never more than this much text comes back for one region (a whole-chromosome window of a dense file).
MAX_REGION_BYTES = 64 * 1024 * 1024
# Parsed files kept for the next region of the same file (a browser pans): at most this much memory.
CACHE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Region:
    """A half-open interval ``[start, end)`` of one chromosome, 0-based."""

    chrom: str
    start: int
    end: int


def parse_region(text: str) -> Region:
    """``chrom:start-end`` (0-based, half open, as igv.js asks; fractions widen to whole bases) as a
    :class:`Region` (empty when it ends before it starts); an input error otherwise."""
    m = REGION.match(text)
    if m is None:
        raise InputError(f"region {text[:80]!r} is not chrom:start-end (e.g. chr1:1000-2000)")
    start, end = math.floor(float(m.group(2))), math.ceil(float(m.group(3)))
    return Region(m.group(1), start, max(start, end))  # a region that ends before it starts holds nothing


def _text(path: Path) -> bytes:
    """The file's bytes, inflated when it is gzipped (the store keeps what was uploaded, either way)."""
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def peak_table(text: str) -> pl.DataFrame:
    """A BED text as ``chrom start end line`` rows, one per line (``start``/``end`` null where a line is no feature;
    ``chrom`` in UCSC spelling).

    A file with no tab at all is split on runs of spaces, as the ingest reads it.
    """
    lines = pl.Series("line", [text], dtype=pl.String).str.split("\n").explode().str.strip_chars_end("\r")
    cut = lines
    if not cut.str.contains("\t", literal=True).any():
        cut = cut.str.strip_chars(" ").str.replace_all(" +", "\t")
    fields = cut.str.split_exact("\t", 2).struct.unnest()
    # igv asks with the genome's spelling (chr1); the file may say 1 or MT, as ingest accepts
    names = fields["field_0"].drop_nulls().unique().to_list()
    spelled = {n: normalize_chrom(n) for n in names}
    return pl.DataFrame(
        {
            "chrom": fields["field_0"]
            .replace_strict(spelled, default=None, return_dtype=pl.String)
            .cast(pl.Categorical),
            "start": fields["field_1"].str.to_integer(strict=False),
            "end": fields["field_2"].str.to_integer(strict=False),
            "line": lines,
        }
    )


def region_lines(table: pl.DataFrame, region: Region) -> pl.Series:
    """The lines of a :func:`peak_table` whose feature overlaps ``region``, in file order.

    A zero-length feature (a point) at the region's start belongs to it.
    """
    start, end = pl.col("start"), pl.col("end")
    overlaps = ((start < region.end) & (end > region.start)) | ((start == end) & (start == region.start))
    keep = (pl.col("chrom").cast(pl.String) == normalize_chrom(region.chrom)) & overlaps
    return table.filter(keep.fill_null(False))["line"]


class _Tables:
    """Recently read peak tables, keyed by file identity, within a budget of bytes (thread-safe)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.held: OrderedDict[tuple[str, int, int], pl.DataFrame] = OrderedDict()
        self.lock = threading.Lock()
        self.loading: dict[str, threading.Lock] = {}  # one reader per file: others wait for its table

    def get(self, path: Path) -> pl.DataFrame:
        with self.lock:
            gate = self.loading.setdefault(str(path), threading.Lock())
        with gate:
            st = path.stat()
            key = (str(path), st.st_size, st.st_mtime_ns)
            with self.lock:
                if key in self.held:
                    self.held.move_to_end(key)
                    return self.held[key]
            table = peak_table(_text(path).decode("utf-8", errors="replace"))
            if table.estimated_size() > self.budget:  # served, not kept
                return table
            with self.lock:
                self.held[key] = table
                while sum(t.estimated_size() for t in self.held.values()) > self.budget:
                    self.held.popitem(last=False)
            return table


_TABLES = _Tables(CACHE_BYTES)


def peaks_in_region(path: Path, region: Region) -> bytes:
    """The lines of the BED file at ``path`` overlapping ``region``, as text (each ending in a newline)."""
    kept = region_lines(_TABLES.get(path), region)
    out = (kept.str.join("\n").item() + "\n").encode() if kept.len() else b""
    if len(out) > MAX_REGION_BYTES:
        raise InputError(
            f"region {region.chrom}:{region.start}-{region.end} holds {len(out) / 2**20:,.0f} MiB of peaks; "
            "ask for a smaller region"
        )
    return out
