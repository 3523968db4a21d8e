"""Reader for peak files: narrowPeak (BED6+4) and BED3–9, plain or gzipped, vectorised with polars."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from ingest.bigwig import sniff_kind
from store.errors import FileTypeError, InputError, at_line
from store.genome import HG38_SIZES, naming_style, normalize_chrom

NARROWPEAK_COLUMNS = 10


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

    def __len__(self) -> int:
        return int(self.start.size)


def _load_text(path: Path) -> str:
    raw = path.read_bytes()
    kind = sniff_kind(raw[:8])
    if kind == "empty":
        raise InputError(f"{path}: the file is empty; expected peaks in BED/narrowPeak format")
    if kind == "gzip":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise InputError(f"{path}: gzip data is truncated or corrupt ({err})") from None
    elif kind in ("bigwig", "bigbed"):
        raise FileTypeError(f"{path}: this is a binary {kind} file, not a BED/narrowPeak text file of peaks")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FileTypeError(f"{path}: not a text file; expected peaks in BED/narrowPeak format") from None


def read_peaks(path: Path, check_build: bool = True) -> Peaks:
    """Read a narrowPeak or BED3+ file.

    ``track``, ``browser``, ``#`` and blank lines are skipped. Columns beyond the third are optional; a
    signalValue or qValue of −1 (the narrowPeak convention) or an absent column reads as NaN. Every fault names
    the file and the 1-based line. With ``check_build``, a peak beyond an hg38 chromosome's end (a sign of
    another assembly) is refused.
    """
    text = _load_text(path)
    lines = pl.Series("line", text.split("\n"), dtype=pl.String)
    df = pl.DataFrame({"line": lines}).with_row_index("lineno", offset=1)
    df = df.with_columns(pl.col("line").str.strip_chars_end("\r"))
    stripped = pl.col("line").str.strip_chars_start()
    df = df.filter(
        (stripped.str.len_chars() > 0)
        & ~stripped.str.starts_with("#")
        & ~stripped.str.starts_with("track")
        & ~stripped.str.starts_with("browser")
    )
    if df.height == 0:
        raise InputError(f"{path}: no peaks in the file (only headers or blank lines)")
    sep = "\t" if "\t" in df["line"][0] else " "
    parts = df.select(
        "lineno",
        pl.col("line").str.strip_chars().str.split(sep).list.eval(pl.element().filter(pl.element() != "")).alias("f"),
    ).with_columns(pl.col("f").list.len().alias("n"))
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
    fields = parts.select(
        "lineno",
        *[pl.col("f").list.get(i).alias(f"c{i}") for i in range(min(n_cols, NARROWPEAK_COLUMNS))],
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

    def numeric(i: int, name: str) -> npt.NDArray[np.float64]:
        if n_cols <= i:
            return np.full(typed.height, np.nan)
        col = typed[f"c{i}"].cast(pl.Float64, strict=False)
        bad_rows = typed.filter(col.is_null())
        if bad_rows.height:
            raise InputError(
                at_line(str(path), int(bad_rows["lineno"][0]), f"{name} {bad_rows[f'c{i}'][0]!r} is not a number")
            )
        arr = col.to_numpy().astype(np.float64)
        return np.where(arr == -1.0, np.nan, arr)

    signal = numeric(6, "signalValue")
    qvalue = numeric(8, "qValue")
    raw_names = typed["c0"].unique().to_list()
    mapping = {c: normalize_chrom(c) for c in raw_names}
    chrom = typed["c0"].replace_strict(mapping, return_dtype=pl.String)
    start = typed["start"].to_numpy().astype(np.int64)
    end = typed["end"].to_numpy().astype(np.int64)
    limits = chrom.replace_strict(HG38_SIZES, default=None, return_dtype=pl.Int64)
    over = typed.filter(limits.is_not_null() & (pl.Series(end) > limits))
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
        start=start,
        end=end,
        signal=signal,
        qvalue=qvalue,
        n_columns=n_cols,
        naming=naming_style(raw_names),
        chrom_names_seen=tuple(sorted(raw_names)),
    )
