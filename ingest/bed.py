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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from epigex.ingest.limits import DEFAULT_LIMITS, ReadLimits
from epigex.ingest.textfile import read_text_lines
from epigex.store.errors import InputError, at_line
from epigex.store.genome import HG38_SIZES, naming_style, normalize_chrom

NARROWPEAK_COLUMNS = 10
_RGB = r"^\d{1,3}(,\d{1,3},\d{1,3})?$"


@dataclass(frozen=True)
class BedFormat:
    """A peak file format: its name and the 0-based columns of signalValue and qValue (None: not in it)."""

    name: str
    signal: int | None = None
    qvalue: int | None = None


@dataclass(frozen=True)
class Peaks:
    """Peaks of one file: normalised chromosome names, coordinates, signalValue and qValue (NaN = missing)."""

    chrom: npt.NDArray[np.str_]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    signal: npt.NDArray[np.float64]
    qvalue: npt.NDArray[np.float64]
    n_columns: int
    naming: str
    chrom_names_seen: tuple[str, ...]
    format: str = "bed"

    def __len__(self) -> int:
        return int(self.start.size)


def _is_bed9(fields: pl.DataFrame, path: Path) -> bool:
    """Whether a 9-column file is BED9 (thickStart, thickEnd, itemRgb) rather than broadPeak."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".broadpeak"):
        return False
    rgb = fields["c8"].str.contains(",")
    if bool(rgb.any()):
        return True
    thick_s = fields["c6"].cast(pl.Int64, strict=False)
    thick_e = fields["c7"].cast(pl.Int64, strict=False)
    start = fields["c1"].cast(pl.Int64, strict=False)
    end = fields["c2"].cast(pl.Int64, strict=False)
    inside = ((thick_s >= start) & (thick_s <= thick_e) & (thick_e <= end)).fill_null(False)
    return bool(inside.all()) and bool(fields["c8"].str.contains(_RGB).fill_null(False).all())


def detect_format(n_cols: int, fields: pl.DataFrame, path: Path) -> BedFormat:
    """The format of a file whose every line has ``n_cols`` columns (``fields`` holds them as ``c0..``)."""
    if n_cols == 10:
        return BedFormat("narrowPeak", 6, 8)
    if n_cols == 15:
        return BedFormat("gappedPeak", 12, 14)
    if n_cols == 9:
        return BedFormat("bed9") if _is_bed9(fields, path) else BedFormat("broadPeak", 6, 8)
    if n_cols == 12:
        return BedFormat("bed12")
    return BedFormat(f"bed{n_cols}")


def _split(lines: list[str], path: Path) -> pl.DataFrame:
    """Data lines as ``lineno`` and the list of fields ``f`` (headers, comments and blank lines skipped)."""
    df = pl.DataFrame({"line": pl.Series(lines, dtype=pl.String)}).with_row_index("lineno", offset=1)
    df = df.with_columns(pl.col("line").str.strip_chars_end(" \t"))
    head = pl.col("line").str.strip_chars_start(" ")
    df = df.filter(
        (head.str.len_bytes() > 0) & ~head.str.starts_with("#") & ~head.str.contains(r"^(track|browser)(\s|$)")
    )
    if df.height == 0:
        raise InputError(f"{path}: no peaks in the file (only headers or blank lines)")
    if bool(df["line"].str.contains("\t", literal=True).any()):
        fields = pl.col("line").str.split("\t").list.eval(pl.element().str.strip_chars(" "))
    else:
        fields = pl.col("line").str.strip_chars(" ").str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
    return df.select("lineno", fields.alias("f")).with_columns(pl.col("f").list.len().alias("n"))


def _numeric(typed: pl.DataFrame, i: int | None, name: str, path: Path) -> npt.NDArray[np.float64]:
    """Column ``i`` as floats, −1 and NaN read as missing; a non-number or infinite value names its line."""
    if i is None:
        return np.full(typed.height, np.nan)
    col = typed[f"c{i}"].cast(pl.Float64, strict=False)
    bad = typed.filter(col.is_null() | col.is_infinite())
    if bad.height:
        raise InputError(at_line(str(path), int(bad["lineno"][0]), f"{name} {bad[f'c{i}'][0]!r} is not a number"))
    arr = col.to_numpy().astype(np.float64)
    return np.where(arr == -1.0, np.nan, arr)


def read_peaks(path: Path, check_build: bool = True, limits: ReadLimits = DEFAULT_LIMITS) -> Peaks:
    """Read a peak file (see the module's table of formats).

    With ``check_build``, a peak beyond an hg38 chromosome's end (a sign of another assembly) is refused.
    """
    lines = read_text_lines(path, limits, "peaks in BED/narrowPeak format")
    parts = _split(lines, path)
    n_min, n_max = int(parts["n"].min()), int(parts["n"].max())  # type: ignore[arg-type]
    if n_min < 3:
        bad = parts.filter(pl.col("n") < 3)
        raise InputError(at_line(str(path), int(bad["lineno"][0]), "fewer than 3 columns (need chrom start end)"))
    if n_min != n_max:
        first_n = int(parts["n"][0])
        bad = parts.filter(pl.col("n") != first_n)
        raise InputError(
            at_line(
                str(path),
                int(bad["lineno"][0]),
                f"{int(bad['n'][0])} columns where line "
                f"{int(parts['lineno'][0])} has {first_n}; every line needs the same columns",
            )
        )
    n_cols = n_min
    fields = parts.select("lineno", *[pl.col("f").list.get(i).alias(f"c{i}") for i in range(min(n_cols, 15))])
    fmt = detect_format(n_cols, fields, path)
    bad = fields.filter(pl.col("c0").str.len_bytes() == 0)
    if bad.height:
        raise InputError(at_line(str(path), int(bad["lineno"][0]), "the chromosome name (column 1) is empty"))
    bad = fields.filter(pl.col("c0").str.contains(r"[\x00-\x1f\x7f]"))
    if bad.height:
        raise InputError(
            at_line(str(path), int(bad["lineno"][0]), f"chromosome name {bad['c0'][0]!r} holds control characters")
        )
    typed = fields.with_columns(
        pl.col("c1").cast(pl.Int64, strict=False).alias("start"),
        pl.col("c2").cast(pl.Int64, strict=False).alias("end"),
    )
    for col, what in (("start", "c1"), ("end", "c2")):
        bad = typed.filter(pl.col(col).is_null())
        if bad.height:
            raise InputError(at_line(str(path), int(bad["lineno"][0]), f"{col} {bad[what][0]!r} is not a whole number"))
    bad = typed.filter((pl.col("start") > pl.col("end")) | (pl.col("start") < 0))
    if bad.height:
        r = bad.row(0, named=True)
        raise InputError(at_line(str(path), r["lineno"], f"start {r['start']} > end {r['end']} or negative"))
    signal = _numeric(typed, fmt.signal, "signalValue", path)
    qvalue = _numeric(typed, fmt.qvalue, "qValue", path)
    raw_names = typed["c0"].unique().to_list()
    mapping = {c: normalize_chrom(c) for c in raw_names}
    chrom = typed["c0"].replace_strict(mapping, return_dtype=pl.String)
    limits_bp = chrom.replace_strict(HG38_SIZES, default=None, return_dtype=pl.Int64)
    over = typed.filter(limits_bp.is_not_null() & (typed["end"] > limits_bp))
    if check_build and over.height:
        r = over.row(0, named=True)
        c = mapping[r["c0"]]
        raise InputError(
            at_line(
                str(path),
                r["lineno"],
                f"peak end {r['end']} lies beyond {c} ({HG38_SIZES[c]} bp in hg38); "
                "the file is from another genome build — lift it over to hg38",
            )
        )
    return Peaks(
        chrom=chrom.to_numpy().astype(str),
        start=typed["start"].to_numpy().astype(np.int64),
        end=typed["end"].to_numpy().astype(np.int64),
        signal=signal,
        qvalue=qvalue,
        n_columns=n_cols,
        naming=naming_style(raw_names),
        chrom_names_seen=tuple(sorted(raw_names)),
        format=fmt.name,
    )
