"""Reader for peak files — narrowPeak, broadPeak, gappedPeak and BED3–12, plain or gzipped — vectorised with polars.

The meaning of each column comes from the detected format, never from its position alone:

========== ======= ============================================ =====================================
format     columns how it is recognised                         signalValue / qValue from
========== ======= ============================================ =====================================
BED3–8     3–8     the column count                             — (missing)
BED9       9       ``itemRgb`` (``r,g,b`` or ``0``) in column 9   — (missing)
broadPeak  9       any other 9-column file, or a ``.broadPeak``  columns 7 / 9
narrowPeak 10      the column count                             columns 7 / 9
BED12      12      the column count                             — (missing); blocks ignored
gappedPeak 15      the column count                             columns 13 / 15
BEDn       other   the column count                             — (missing); columns 4+ not used
========== ======= ============================================ =====================================

A peak is always ``chromStart``–``chromEnd``: BED12's and gappedPeak's blocks are ignored (the statistics are
about where a peak is, not its sub-structure). Fields are separated by tabs, and empty fields between tabs are
kept; only a file with no tab at all is split on runs of spaces. Trailing whitespace of a line is dropped.
A value of −1 (the peak formats' "not computed") or NaN reads as missing; an infinite value is refused.
Every fault names the file and the 1-based line as an editor numbers it (LF, CRLF or CR line ends).

The file is read as a stream of line blocks (:func:`ingest.textfile.text_blocks`) and only the columns the
format uses are cut out of each block, so memory follows the number of peaks held (about
:data:`~ingest.limits.BYTES_PER_PEAK` each), never the width of a line or the length of a name: chromosome
names are held once each (a peak holds a 4-byte code), at most :data:`MAX_CHROM_NAME` bytes long and at most
:data:`MAX_CHROM_NAMES` distinct names per file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from epigex.ingest.limits import DEFAULT_LIMITS, Clock, ReadLimits
from epigex.ingest.textfile import text_blocks
from epigex.store.errors import InputError, ResourceLimitError, at_line
from epigex.store.genome import HG38_SIZES, naming_style, normalize_chrom
from epigex.store.types import F64, I32, I64

WHAT = "peaks in BED/narrowPeak format"
MAX_CHROM_NAME = 255  # bytes, as bedToBigBed and the SAM/BAM specification allow
MAX_CHROM_NAMES = 65_536  # distinct names in one file (hg38 with every patch and alt contig has under 1,000)
_RGB = r"^\d{1,3}(,\d{1,3},\d{1,3})?$"
_HEADER = r"^(track|browser)(\s|$)"
# Contigs of GRCh38's analysis set and patches that are not among the genes' chromosomes: read past, reported.
_KNOWN_CONTIG = re.compile(r"(_random|_alt|_fix|_decoy)$|^(chr)?Un_|^(chr)?EBV$|^(GL|KI|JH|KN|KQ|KV|KZ|ML|MU)\d", re.I)


@dataclass(frozen=True)
class BedFormat:
    """A peak file format: its name and the 0-based columns of signalValue and qValue (None: not in it)."""

    name: str
    signal: int | None = None
    qvalue: int | None = None


@dataclass(frozen=True)
class Peaks:
    """Peaks of one file: chromosome codes into ``chroms`` (normalised names), coordinates, signalValue, qValue."""

    chroms: tuple[str, ...]
    chrom_code: I32
    start: I64
    end: I64
    signal: F64  # NaN = missing
    qvalue: F64
    n_columns: int
    naming: str
    chrom_names_seen: tuple[str, ...]
    format: str = "bed"

    def __len__(self) -> int:
        return int(self.start.size)

    @property
    def chrom(self) -> np.ndarray:
        """Each peak's normalised chromosome name (an object array sharing one string per name)."""
        return np.asarray(self.chroms, dtype=object)[self.chrom_code]

    def by_chrom(self) -> dict[str, I64]:
        """The indices of each chromosome's peaks, in file order."""
        order = np.argsort(self.chrom_code, kind="stable")
        codes, first = np.unique(self.chrom_code[order], return_index=True)
        bounds = [*first.tolist(), order.size]
        return {self.chroms[int(c)]: order[bounds[i] : bounds[i + 1]] for i, c in enumerate(codes)}

    def outside_genome(self, genome: dict[str, int] = HG38_SIZES) -> dict[str, object]:
        """Peaks on chromosomes the genome does not have: how many, on which contigs (a few named), known or not."""
        inside = np.array([c in genome for c in self.chroms], dtype=bool)
        counts = np.bincount(self.chrom_code, minlength=len(self.chroms))
        out = [(self.chroms[i], int(counts[i])) for i in np.flatnonzero(~inside) if counts[i] > 0]
        out.sort(key=lambda x: -x[1])
        unknown = [(c, n) for c, n in out if not _KNOWN_CONTIG.search(c)]
        return {
            "peaks": sum(n for _, n in out),
            "contigs": len(out),
            "named": [_short(c) for c, _ in out[:8]],
            "unknown_peaks": sum(n for _, n in unknown),
            "unknown_named": [_short(c) for c, _ in unknown[:8]],
        }


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "…"


def _is_bed9(any_comma: bool, all_bed9_like: bool, path: Path) -> bool:
    """Whether a 9-column file is BED9 (thickStart, thickEnd, itemRgb) rather than broadPeak."""
    if path.name.lower().removesuffix(".gz").endswith(".broadpeak"):
        return False
    return any_comma or all_bed9_like


def detect_format(n_cols: int, is_bed9: bool = False) -> BedFormat:
    """The format of a file whose every line has ``n_cols`` columns (``is_bed9``: a 9-column file's itemRgb test)."""
    if n_cols == 10:
        return BedFormat("narrowPeak", 6, 8)
    if n_cols == 15:
        return BedFormat("gappedPeak", 12, 14)
    if n_cols == 9:
        return BedFormat("bed9") if is_bed9 else BedFormat("broadPeak", 6, 8)
    if n_cols == 12:
        return BedFormat("bed12")
    return BedFormat(f"bed{n_cols}")


def _columns_used(n_cols: int) -> int:
    """How many leading columns a file of ``n_cols`` columns is read for (a 9-column file's format test: all)."""
    fmt = detect_format(n_cols)
    return max(3, 9 if n_cols == 9 else 0, *(i + 1 for i in (fmt.signal, fmt.qvalue) if i is not None))


class _TabsLater(Exception):
    """A tab first seen after blocks were already split on spaces: the file is read again, split on tabs."""


def _data_lines(text: str, first_line: int) -> pl.DataFrame:
    """``lineno`` and ``line`` of the block's data lines (headers, comments and blank lines dropped)."""
    df = (
        pl.DataFrame({"line": pl.Series([text], dtype=pl.String)})
        .select(pl.col("line").str.split("\n"))
        .explode("line")
        .with_row_index("lineno", offset=first_line)
        .with_columns(pl.col("line").str.strip_chars_end(" \t"))
    )
    head = pl.col("line").str.strip_chars_start(" ")
    return df.filter((head.str.len_bytes() > 0) & ~head.str.starts_with("#") & ~head.str.contains(_HEADER))


def _cut(lines: pl.DataFrame, tabs: bool, keep: int) -> pl.DataFrame:
    """``lineno``, the column count ``n`` and the first ``keep`` fields ``c0..`` of each line (the rest dropped)."""
    line = pl.col("line")
    if not tabs:
        line = line.str.strip_chars(" ").str.replace_all(" +", " ")
    sep = "\t" if tabs else " "
    parts = lines.select(
        "lineno",
        (line.str.count_matches(sep, literal=True) + 1).alias("n"),
        line.str.splitn(sep, keep + 1).struct.rename_fields([f"c{i}" for i in range(keep + 1)]).alias("f"),
    ).unnest("f")
    fields = [pl.col(f"c{i}").str.strip_chars(" ") if tabs else pl.col(f"c{i}") for i in range(keep)]
    return parts.select("lineno", "n", *fields)


@dataclass
class _Accumulator:
    """What the blocks of one file add up to: peak arrays per block, names, and the facts format detection needs."""

    path: Path
    check_build: bool
    max_peaks: int
    n_cols: int = 0
    first_lineno: int = 0
    names: dict[str, int] = field(default_factory=dict)  # raw name -> code
    codes_of: dict[str, int] = field(default_factory=dict)  # normalised name -> code
    parts: list[tuple[I32, I64, I64, F64, F64]] = field(default_factory=list)
    n_peaks: int = 0
    any_comma: bool = False
    all_bed9_like: bool = True
    first_bad: dict[int, tuple[int, str]] = field(default_factory=dict)  # column -> first non-number (line, text)

    @property
    def norm(self) -> list[str]:
        """Normalised names by code."""
        return list(self.codes_of)

    def fail(self, lineno: int, message: str) -> InputError:
        return InputError(at_line(str(self.path), lineno, message))

    def shape(self, parts: pl.DataFrame) -> None:
        """Check every line has 3+ columns and as many as the file's first data line."""
        if not self.n_cols:
            self.n_cols = int(parts["n"][0])
            self.first_lineno = int(parts["lineno"][0])
        bad = parts.filter(pl.col("n") < 3)
        if bad.height:
            raise self.fail(int(bad["lineno"][0]), "fewer than 3 columns (need chrom start end)")
        bad = parts.filter(pl.col("n") != self.n_cols)
        if bad.height:
            raise self.fail(
                int(bad["lineno"][0]),
                f"{int(bad['n'][0])} columns where line {self.first_lineno} has {self.n_cols}; "
                "every line needs the same columns",
            )

    def codes(self, raw: pl.Series, lineno: pl.Series) -> I32:
        """Chromosome codes of a block's names; new names checked (empty, control characters, length) and added."""
        lengths = raw.str.len_bytes()
        for cond, what in (
            (lengths == 0, lambda v: "the chromosome name (column 1) is empty"),
            (raw.str.contains(r"[\x00-\x1f\x7f]"), lambda v: f"chromosome name {_short(v)!r} holds control characters"),
            (
                lengths > MAX_CHROM_NAME,
                lambda v: (
                    f"a chromosome name of {len(v.encode()):,} bytes (at most {MAX_CHROM_NAME}): "
                    "not a peak file, or a damaged line"
                ),
            ),
        ):
            hit = cond.arg_true()
            if hit.len():
                i = int(hit[0])
                raise self.fail(int(lineno[i]), what(str(raw[i])))
        for name in raw.unique(maintain_order=True).to_list():
            if name not in self.names:
                if len(self.names) >= MAX_CHROM_NAMES:
                    raise ResourceLimitError(
                        f"{self.path}: more than {MAX_CHROM_NAMES:,} distinct chromosome names; this is not a peak "
                        "file of a genome assembly"
                    )
                norm = normalize_chrom(name)  # chr1 and 1 are one chromosome, one code
                self.names[name] = self.codes_of.setdefault(norm, len(self.codes_of))
        return raw.replace_strict(self.names, return_dtype=pl.Int32).to_numpy()

    def numeric(self, col: pl.Series, lineno: pl.Series, i: int) -> F64:
        """Column ``i`` as floats (−1 and NaN missing); the first value that is no finite number is remembered."""
        val = col.cast(pl.Float64, strict=False)
        bad = (val.is_null() | val.is_infinite()).arg_true()
        if bad.len() and i not in self.first_bad:
            self.first_bad[i] = (int(lineno[int(bad[0])]), str(col[int(bad[0])]))
        arr = val.fill_null(np.nan).to_numpy().astype(np.float64)
        return np.where(arr == -1.0, np.nan, arr)

    def add(self, parts: pl.DataFrame) -> None:
        """Check and keep one block's peaks."""
        self.shape(parts)
        lineno = parts["lineno"]
        start = parts["c1"].cast(pl.Int64, strict=False)
        end = parts["c2"].cast(pl.Int64, strict=False)
        for col, raw, name in ((start, parts["c1"], "start"), (end, parts["c2"], "end")):
            bad = col.is_null().arg_true()
            if bad.len():
                i = int(bad[0])
                raise self.fail(int(lineno[i]), f"{name} {_short(str(raw[i]))!r} is not a whole number")
        bad = ((start > end) | (start < 0)).arg_true()
        if bad.len():
            i = int(bad[0])
            raise self.fail(int(lineno[i]), f"start {start[i]} > end {end[i]} or negative")
        code = self.codes(parts["c0"], lineno)
        s, e = start.to_numpy().astype(np.int64), end.to_numpy().astype(np.int64)
        if self.check_build:
            self._check_build(code, e, lineno)
        sig, q = self._scores(parts, lineno)
        self.n_peaks += s.size
        if self.n_peaks > self.max_peaks:
            raise ResourceLimitError(
                f"{self.path}: more than {self.max_peaks:,} peaks would need more memory than the ceiling allows "
                "(EPIGEX_MAX_TRACK_MEMORY_MB); a peak file is never this large — split it or raise the ceiling"
            )
        self.parts.append((code, s, e, sig, q))

    def _check_build(self, code: I32, end: I64, lineno: pl.Series) -> None:
        limit = np.array([HG38_SIZES.get(c, np.iinfo(np.int64).max) for c in self.norm], dtype=np.int64)
        over = np.flatnonzero(end > limit[code])
        if over.size:
            i = int(over[0])
            c = self.norm[int(code[i])]
            raise self.fail(
                int(lineno[i]),
                f"peak end {int(end[i])} lies beyond {c} ({HG38_SIZES[c]} bp in hg38); "
                "the file is from another genome build — lift it over to hg38",
            )

    def _scores(self, parts: pl.DataFrame, lineno: pl.Series) -> tuple[F64, F64]:
        """signalValue and qValue of a block (for a 9-column file, both possible meanings are kept until the end)."""
        if self.n_cols == 9:
            rgb = parts["c8"]
            self.any_comma = self.any_comma or bool(rgb.str.contains(",", literal=True).any())
            ts, te = parts["c6"].cast(pl.Int64, strict=False), parts["c7"].cast(pl.Int64, strict=False)
            s, e = parts["c1"].cast(pl.Int64), parts["c2"].cast(pl.Int64)
            inside = ((ts >= s) & (ts <= te) & (te <= e)).fill_null(False)
            self.all_bed9_like = self.all_bed9_like and bool(inside.all()) and bool(rgb.str.contains(_RGB).all())
        fmt = detect_format(self.n_cols, is_bed9=False)  # 9 columns: broadPeak's columns, dropped if BED9
        nan = np.full(parts.height, np.nan)
        sig = self.numeric(parts[f"c{fmt.signal}"], lineno, fmt.signal) if fmt.signal is not None else nan
        q = self.numeric(parts[f"c{fmt.qvalue}"], lineno, fmt.qvalue) if fmt.qvalue is not None else nan
        return sig, q

    def finish(self, raw_seen: list[str]) -> Peaks:
        """The file's peaks, once its format is known (a non-number in a used score column is refused here)."""
        if not self.parts:
            raise InputError(f"{self.path}: no peaks in the file (only headers or blank lines)")
        fmt = detect_format(self.n_cols, _is_bed9(self.any_comma, self.all_bed9_like, self.path))
        for i, what in ((fmt.signal, "signalValue"), (fmt.qvalue, "qValue")):
            if i is not None and i in self.first_bad:
                line, text = self.first_bad[i]
                raise self.fail(line, f"{what} {_short(text)!r} is not a number")
        code, start, end, sig, q = (np.concatenate(a) for a in zip(*self.parts, strict=True))
        if fmt.signal is None:
            sig = np.full(start.size, np.nan)
        if fmt.qvalue is None:
            q = np.full(start.size, np.nan)
        return Peaks(
            chroms=tuple(self.norm),
            chrom_code=code.astype(np.int32),
            start=start,
            end=end,
            signal=sig,
            qvalue=q,
            n_columns=self.n_cols,
            naming=naming_style(raw_seen),
            chrom_names_seen=tuple(sorted(raw_seen)),
            format=fmt.name,
        )


def _blocks(path: Path, limits: ReadLimits, clock: Clock) -> Iterator[pl.DataFrame]:
    for first, text in text_blocks(path, limits, WHAT):
        clock.check()
        lines = _data_lines(text, first)
        if lines.height:
            yield lines


def _read(path: Path, check_build: bool, limits: ReadLimits, tabs: bool | None) -> Peaks:
    """One pass over the file; ``tabs`` None: split on spaces until a data line with a tab turns up."""
    acc = _Accumulator(path, check_build, limits.max_peaks())
    clock = limits.clock(str(path))
    keep = 0
    for lines in _blocks(path, limits, clock):
        if tabs is None and bool(lines["line"].str.contains("\t", literal=True).any()):
            if acc.parts:
                raise _TabsLater
            tabs = True
        if not keep:  # the first data line fixes the column count, and so the columns worth cutting out
            keep = _columns_used(int(_cut(lines.head(1), bool(tabs), 1)["n"][0]))
        acc.add(_cut(lines, bool(tabs), keep))
    return acc.finish(list(acc.names))


def read_peaks(path: Path, check_build: bool = True, limits: ReadLimits = DEFAULT_LIMITS) -> Peaks:
    """Read a peak file (see the module's table of formats).

    With ``check_build``, a peak beyond an hg38 chromosome's end (a sign of another assembly) is refused.
    """
    try:
        try:
            return _read(path, check_build, limits, None)
        except _TabsLater:
            return _read(path, check_build, limits, True)
    except MemoryError:
        raise ResourceLimitError(
            f"{path}: reading the peaks ran out of memory (ceiling {limits.max_memory_mb:,} MiB, "
            "EPIGEX_MAX_TRACK_MEMORY_MB); this is not a peak file of a usual size"
        ) from None
