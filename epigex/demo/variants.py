"""Damaged variants of a demo cell, for QC tests and benchmarks: swapped assays and background-only tracks.

A variant is a cell's file set (:class:`~epigex.ingest.layout.CellFiles`) in which some files are replaced:
two assays' files of one kind exchanged (a labelling slip), or a track replaced by one that carries no signal
tied to genes — the cell's own values shuffled across its intervals (bigWig), or its peaks moved to random places
on the same chromosomes (BED), as a failed ChIP looks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyBigWig

from epigex.ingest.bigwig import BigWigReader
from epigex.ingest.layout import CellFiles


def cell_files(data: Path, cell: str, assays: tuple[str, ...], name: str | None = None) -> CellFiles:
    """The files of ``cell`` in a course-layout folder, as a (renamed) cell's file set; its test genes only."""
    cf = CellFiles(name or cell)
    cf.info["test"] = data / "CAGE-train" / f"{cell}_test_info.tsv"
    for a in assays:
        cf.bigwig[a] = data / f"{a}-bigwig" / f"{cell}.bw"
        cf.bed[a] = data / f"{a}-bed" / f"{cell}.bed"
    return cf


def swapped(cf: CellFiles, a: str, b: str, kind: str, name: str) -> CellFiles:
    """``cf`` with assays ``a`` and ``b`` exchanged for one ``kind`` (bigwig or bed)."""
    out = CellFiles(name, dict(cf.info), dict(cf.labels), dict(cf.bigwig), dict(cf.bed))
    files = out.bigwig if kind == "bigwig" else out.bed
    files[a], files[b] = files[b], files[a]
    return out


def background_bigwig(src: Path, dst: Path, seed: int = 0) -> Path:
    """A bigWig with ``src``'s intervals and value distribution but the values shuffled: no gene-linked signal."""
    rng = np.random.default_rng(seed)
    with BigWigReader(src) as r:
        chroms = [(c, size) for c, (_i, size) in r.chroms.items()]
        data = {c: r.intervals(c) for c, _ in chroms}
    bw = pyBigWig.open(str(dst), "w")
    bw.addHeader(chroms, maxZooms=0)
    for c, _ in chroms:
        iv = data[c]
        if len(iv):
            bw.addEntries(
                [c] * len(iv), iv.starts.tolist(), ends=iv.ends.tolist(), values=rng.permutation(iv.values).tolist()
            )
    bw.close()
    return dst


def background_bed(src: Path, dst: Path, sizes: dict[str, int], seed: int = 0) -> Path:
    """``src``'s peaks (widths and scores kept) moved to random places on their chromosomes."""
    rng = np.random.default_rng(seed)
    lines = [ln.split("\t") for ln in src.read_text().splitlines() if ln and not ln.startswith(("#", "track"))]
    out = []
    for f in lines:
        width = int(f[2]) - int(f[1])
        start = int(rng.integers(0, max(1, sizes.get(f[0], width + 1) - width)))
        out.append("\t".join([f[0], str(start), str(start + width), *f[3:]]))
    dst.write_text("\n".join(sorted(out, key=lambda x: (x.split("\t")[0], int(x.split("\t")[1])))) + "\n")
    return dst


def with_file(cf: CellFiles, assay: str, kind: str, path: Path, name: str) -> CellFiles:
    """``cf`` with one track's file replaced."""
    out = CellFiles(name, dict(cf.info), dict(cf.labels), dict(cf.bigwig), dict(cf.bed))
    (out.bigwig if kind == "bigwig" else out.bed)[assay] = path
    return out
