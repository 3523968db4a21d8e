"""Differential tests: files written by pyBigWig and pybigtools read identically by epigex, pyBigWig and pybigtools."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pyBigWig
import pytest

from epigex.ingest.bigwig import BigWigReader
from epigex.ingest.featureset import default_feature_set
from epigex.ingest.tracks import bigwig_features
from epigex.store.genome import HG38_SIZES

pybigtools = pytest.importorskip("pybigtools")

Entries = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def entries_for(chroms: dict[str, int], n: int, rng: np.random.Generator, gap: int = 7) -> Entries:
    """``n`` disjoint sorted intervals spread over the chromosomes (a few chromosomes left empty)."""
    out: Entries = {}
    names = list(chroms)
    per = max(1, n // max(1, len(names) - 1))
    for c in names[:-1] if len(names) > 1 else names:  # the last chromosome stays declared but empty
        k = min(per, chroms[c] // (gap + 3))
        if k == 0:
            continue
        widths = rng.integers(1, 4, k)
        starts = np.cumsum(widths + rng.integers(0, gap, k)) - widths
        starts = starts[starts + widths <= chroms[c]]
        ends = starts + widths[: starts.size]
        vals = rng.normal(2.0, 1.5, starts.size).astype(np.float32).astype(np.float64)
        out[c] = (starts.astype(np.int64), ends.astype(np.int64), vals)
    return out


def write_pybigwig(path: Path, chroms: dict[str, int], entries: Entries, zooms: int, mode: str) -> None:
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(chroms.items()), maxZooms=zooms)
    for c, (s, e, v) in entries.items():
        if mode == "bedgraph":
            bw.addEntries([c] * s.size, s.tolist(), ends=e.tolist(), values=v.tolist())
        elif mode == "varstep":  # one span for all: the variableStep layout
            bw.addEntries(c, s.tolist(), values=v.tolist(), span=1)
        else:  # fixedStep: every 5th base from the first start
            bw.addEntries(c, int(s[0]), values=v.tolist(), span=5, step=5)
    bw.close()


def write_pybigtools(path: Path, chroms: dict[str, int], entries: Entries) -> None:
    rows = ((c, int(a), int(b), float(x)) for c, (s, e, v) in entries.items() for a, b, x in zip(s, e, v, strict=True))
    pybigtools.open(str(path), "w").write(chroms, rows)


def read_epigex(path: Path) -> dict[str, list[tuple[int, int, float]]]:
    with BigWigReader(path) as r:
        out = {}
        for c in r.chroms:
            iv = r.intervals(c)
            if len(iv):
                out[c] = list(zip(iv.starts.tolist(), iv.ends.tolist(), iv.values.tolist(), strict=True))
        return out


def read_pybigwig(path: Path) -> dict[str, list[tuple[int, int, float]]]:
    bw = pyBigWig.open(str(path))
    out = {c: [(int(a), int(b), float(x)) for a, b, x in bw.intervals(c)] for c in bw.chroms() if bw.intervals(c)}
    bw.close()
    return out


def read_pybigtools(path: Path) -> dict[str, list[tuple[int, int, float]]]:
    r = pybigtools.open(str(path))
    out = {}
    for c in r.chroms():
        rec = [(int(a), int(b), float(x)) for a, b, x in r.records(c)]
        if rec:
            out[c] = rec
    return out


def assert_same(path: Path) -> dict[str, list[tuple[int, int, float]]]:
    mine = read_epigex(path)
    assert mine == read_pybigwig(path)
    assert mine == read_pybigtools(path)
    return mine


MANY = {f"scaffold_{i:04d}_" + "x" * (i % 180): 10_000 + 37 * i for i in range(600)}
CASES: dict[str, tuple[dict[str, int], int]] = {
    "few": ({"chr1": 100_000, "chr2": 50_000, "chrM": 16_569}, 3_000),
    "many_long_names": (MANY, 6_000),
    "single_entry": ({"chr1": 1_000, "chr2": 500}, 1),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(("writer", "zooms"), [("bedgraph", 0), ("bedgraph", 10), ("varstep", 1), ("fixstep", 3)])
def test_pybigwig_written_files(tmp_path: Path, case: str, writer: str, zooms: int, rng: np.random.Generator) -> None:
    chroms, n = CASES[case]
    entries = entries_for(chroms, n, rng)
    p = tmp_path / "x.bw"
    write_pybigwig(p, chroms, entries, zooms, writer)
    got = assert_same(p)
    if writer == "bedgraph":
        assert sum(len(v) for v in got.values()) == sum(s.size for s, _, _ in entries.values())


@pytest.mark.parametrize("case", list(CASES))
def test_pybigtools_written_files(tmp_path: Path, case: str, rng: np.random.Generator) -> None:
    chroms, n = CASES[case]
    entries = entries_for(chroms, n, rng)
    p = tmp_path / "x.bw"
    write_pybigtools(p, chroms, entries)
    got = assert_same(p)
    for c, (s, e, v) in entries.items():
        assert got[c] == list(zip(s.tolist(), e.tolist(), v.tolist(), strict=True))


@pytest.mark.parametrize("writer", ["pybigwig", "pybigtools"])
def test_over_a_million_entries_on_full_length_chr1(tmp_path: Path, writer: str, rng: np.random.Generator) -> None:
    chroms = {"chr1": HG38_SIZES["chr1"], "chr2": HG38_SIZES["chr2"]}
    n = 1_100_000
    starts = np.sort(rng.choice(HG38_SIZES["chr1"] // 100, n, replace=False)).astype(np.int64) * 100
    ends = starts + rng.integers(1, 100, n)
    vals = rng.gamma(0.8, 2.0, n).astype(np.float32).astype(np.float64)
    entries = {"chr1": (starts, ends, vals)}
    p = tmp_path / "big.bw"
    write: Callable[..., None] = write_pybigtools if writer == "pybigtools" else write_pybigwig
    if writer == "pybigtools":
        write_pybigtools(p, chroms, entries)
    else:
        write(p, chroms, entries, 5, "bedgraph")
    with BigWigReader(p) as r:
        iv = r.intervals("chr1")
        np.testing.assert_array_equal(iv.starts, starts)
        np.testing.assert_array_equal(iv.ends, ends)
        np.testing.assert_array_equal(iv.values, vals)
    ref = pyBigWig.open(str(p))
    got = np.array(ref.intervals("chr1"))
    np.testing.assert_array_equal(got[:, 0], starts)
    np.testing.assert_array_equal(got[:, 2], vals)
    # genome-wide statistics (the z-score's mean and std of log1p over covered bases) against NumPy's
    genes = pl.DataFrame(
        {
            "gene_name": ["A"],
            "chrom": ["chr1"],
            "gene_start": [1_000_000],
            "gene_end": [1_050_000],
            "tss_start": [1_000_000],
            "tss_end": [1_000_001],
            "strand": ["+"],
        }
    )
    qc = bigwig_features(p, "DNase", genes, default_feature_set()).qc
    y = np.log1p(np.maximum(vals, 0))
    w = (ends - starts).astype(np.float64)
    mean = float((y * w).sum() / w.sum())
    std = float(np.sqrt((w * (y - mean) ** 2).sum() / w.sum()))
    assert qc["n_bases"] == int(w.sum())
    assert qc["log1p_mean"] == pytest.approx(mean, rel=1e-9)
    assert qc["log1p_std"] == pytest.approx(std, rel=1e-9)
