"""Readers for the course's gene tables: ``{cell}_{split}_info.tsv`` and ``{cell}_{split}_y.tsv``."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import polars as pl

from epigex.ingest.limits import DEFAULT_LIMITS, ReadLimits
from epigex.ingest.textfile import read_text_lines
from epigex.ingest.windows import GeneCoords
from epigex.store.errors import InputError, at_line
from epigex.store.genome import normalize_chrom

INFO_COLUMNS = ("gene_name", "chr", "gene_start", "gene_end", "TSS_start", "TSS_end", "strand")
COORD_COLUMNS = ("gene_start", "gene_end", "TSS_start", "TSS_end")


def _read_tsv(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> pl.DataFrame:
    """A tab-separated table with a header line, every value a string (empty fields null), within ``limits``.

    Plain or gzipped, any line ending, a byte-order mark dropped; a line with another field count than the
    header is named.
    """
    lines = read_text_lines(path, limits, "a tab-separated table")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise InputError(f"{path}: the table is empty (no header line)")
    counts = pl.Series(lines, dtype=pl.String).str.count_matches("\t", literal=True)
    bad = (counts != counts[0]).arg_true()
    if bad.len():
        i = int(bad[0])
        raise InputError(
            at_line(str(path), i + 1, f"{int(counts[i]) + 1} fields where the header has {int(counts[0]) + 1}")
        )
    names = lines[0].split("\t")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"{path}: column(s) {', '.join(dup)} appear twice in the header")
    try:
        return pl.read_csv(io.BytesIO("\n".join(lines).encode()), separator="\t", infer_schema=False, quote_char=None)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as err:
        raise InputError(f"{path}: not a readable tab-separated table ({str(err).splitlines()[0]})") from None


def read_info(path: Path) -> pl.DataFrame:
    """Read and validate a gene info table.

    Returns columns ``gene_name, chrom, gene_start, gene_end, tss_start, tss_end, strand`` with chromosome
    names normalised (``1`` → ``chr1``) and coordinates as Int64, in file order.
    """
    # long by design: every column check of a gene table, each naming its line
    df = _read_tsv(path)
    missing = [c for c in INFO_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; a gene table needs {' '.join(INFO_COLUMNS)}")
    if df.height == 0:
        raise InputError(f"{path}: no genes in the table")
    df = df.select(INFO_COLUMNS).with_row_index("_row")
    for c in ("gene_name", "chr", "strand"):
        bad = df.filter(pl.col(c).is_null() | (pl.col(c).str.strip_chars().str.len_bytes() == 0))
        if bad.height:
            raise InputError(at_line(str(path), int(bad["_row"][0]) + 2, f"{c} is empty"))
    bad = df.filter(
        pl.col("chr").str.contains(r"[\x00-\x1f\x7f]") | pl.col("gene_name").str.contains(r"[\x00-\x1f\x7f]")
    )
    if bad.height:
        raise InputError(
            at_line(str(path), int(bad["_row"][0]) + 2, "a gene or chromosome name holds control characters")
        )
    cast = df.with_columns([pl.col(c).str.strip_chars().cast(pl.Int64, strict=False) for c in COORD_COLUMNS])
    for c in COORD_COLUMNS:
        bad = cast.filter(pl.col(c).is_null())
        if bad.height:
            r = bad.row(0, named=True)
            raw = df[c][r["_row"]]
            raise InputError(at_line(str(path), r["_row"] + 2, f"{c} {raw!r} is not a whole number"))
    bad = cast.filter(~pl.col("strand").is_in(["+", "-"]))
    if bad.height:
        r = bad.row(0, named=True)
        raise InputError(at_line(str(path), r["_row"] + 2, f"unknown strand {r['strand']!r}; use '+' or '-'"))
    for lo, hi in (("gene_start", "gene_end"), ("TSS_start", "TSS_end")):
        bad = cast.filter(pl.col(lo) > pl.col(hi))
        if bad.height:
            r = bad.row(0, named=True)
            raise InputError(at_line(str(path), r["_row"] + 2, f"{lo} {r[lo]} > {hi} {r[hi]}"))
    bad = cast.filter((pl.col("gene_start") < 0) | (pl.col("TSS_start") < 0))
    if bad.height:
        raise InputError(at_line(str(path), bad["_row"][0] + 2, "negative coordinate"))
    dup = cast.filter(pl.col("gene_name").is_duplicated())
    if dup.height:
        names = dup["gene_name"].unique(maintain_order=True).head(5).to_list()
        raise InputError(
            at_line(
                str(path),
                dup["_row"][0] + 2,
                f"duplicate gene name(s) {', '.join(names)}; names must be unique",
            )
        )
    chroms = cast["chr"].unique().to_list()
    mapping = {c: normalize_chrom(c) for c in chroms}
    return cast.select(
        pl.col("gene_name"),
        pl.col("chr").replace_strict(mapping, return_dtype=pl.String).alias("chrom"),
        pl.col("gene_start"),
        pl.col("gene_end"),
        pl.col("TSS_start").alias("tss_start"),
        pl.col("TSS_end").alias("tss_end"),
        pl.col("strand"),
    )


def read_labels(path: Path, info: pl.DataFrame) -> pl.DataFrame:
    """Read a ``_y`` table (``gene_name gex``) and check it lists ``info``'s genes in the same order."""
    df = _read_tsv(path)
    missing = [c for c in ("gene_name", "gex") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; a label table needs gene_name gex")
    df = df.with_row_index("_row").with_columns(pl.col("gex").str.strip_chars().cast(pl.Float64, strict=False))
    bad = df.filter(pl.col("gex").is_null() | ~pl.col("gex").is_finite())
    if bad.height:
        raise InputError(at_line(str(path), bad["_row"][0] + 2, "gex is not a finite number"))
    if df.height != info.height or not bool((df["gene_name"] == info["gene_name"]).all()):
        if df.height != info.height:
            why = f"{df.height} rows but the info file has {info.height}"
        else:
            i = int(np.argmax((df["gene_name"] != info["gene_name"]).to_numpy()))
            why = f"line {i + 2} names {df['gene_name'][i]!r} where the info file has {info['gene_name'][i]!r}"
        raise InputError(f"{path}: labels must list the info file's genes in the same order; {why}")
    return df.select("gene_name", "gex")


def gene_coords(df: pl.DataFrame) -> GeneCoords:
    """Arrays of a gene table's coordinates."""
    return GeneCoords(
        gene_start=df["gene_start"].to_numpy().astype(np.int64),
        gene_end=df["gene_end"].to_numpy().astype(np.int64),
        tss_start=df["tss_start"].to_numpy().astype(np.int64),
        tss_end=df["tss_end"].to_numpy().astype(np.int64),
        minus=(df["strand"] == "-").to_numpy(),
    )
