"""Discovery of a dataset in the course layout: gene tables under ``CAGE-train/``, tracks per assay folder."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from epigex.ingest.featureset import ASSAYS
from epigex.store.errors import InputError

CELL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TABLE = re.compile(r"^(?P<cell>.+)_(?P<split>train|val|test)_(?P<what>info|y)\.tsv$")
BIGWIG_SUFFIXES = (".bw", ".bigwig", ".bigWig")
BED_SUFFIXES = tuple(s + gz for s in (".bed", ".narrowPeak", ".broadPeak", ".gappedPeak") for gz in ("", ".gz"))


@dataclass
class CellFiles:
    """Every input file of one cell line."""

    name: str
    info: dict[str, Path] = field(default_factory=dict)  # split -> info table
    labels: dict[str, Path] = field(default_factory=dict)  # split -> y table
    bigwig: dict[str, Path] = field(default_factory=dict)  # assay -> file
    bed: dict[str, Path] = field(default_factory=dict)  # assay -> file
    names: dict[str, str] = field(default_factory=dict)  # "kind:assay" -> the file's name as the user gave it

    @property
    def labelled(self) -> bool:
        """Whether the cell has label tables (a training cell)."""
        return bool(self.labels)

    def all_files(self) -> list[Path]:
        """Every file, in a fixed order."""
        out = [self.info[s] for s in sorted(self.info)] + [self.labels[s] for s in sorted(self.labels)]
        out += [self.bigwig[a] for a in sorted(self.bigwig)] + [self.bed[a] for a in sorted(self.bed)]
        return out


def check_cell_name(name: str) -> str:
    """Refuse a cell-line name that is not ``^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$``."""
    if not CELL_NAME.match(name):
        raise InputError(
            f"bad cell-line name {name!r}: use 1-64 letters, digits, '_', '.', '-', starting with a letter or digit"
        )
    return name


def gene_table_dir(data_dir: Path) -> Path:
    """``DATA/CAGE-train`` or, as the course ships it, ``DATA/CAGE-train/CAGE-train``."""
    base = data_dir / "CAGE-train"
    nested = base / "CAGE-train"
    if nested.is_dir() and any(nested.glob("*_info.tsv")):
        return nested
    if base.is_dir():
        return base
    raise InputError(f"{data_dir}: no CAGE-train/ folder; the course layout keeps the gene tables there")


def _find(folder: Path, cell: str, suffixes: tuple[str, ...]) -> Path | None:
    for suf in suffixes:
        p = folder / f"{cell}{suf}"
        if p.is_file():
            return p
    return None


def discover(
    data_dir: Path,
    cells: list[str] | None = None,
    assays: tuple[str, ...] = ASSAYS,
    kinds: tuple[str, ...] = ("bigwig", "bed"),
) -> list[CellFiles]:
    """Find every cell's files; refuse a missing assay file by name."""
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: no such folder")
    tables = gene_table_dir(data_dir)
    found: dict[str, CellFiles] = {}
    for p in sorted(tables.glob("*.tsv")):
        m = _TABLE.match(p.name)
        if m is None:
            continue
        cf = found.setdefault(m["cell"], CellFiles(m["cell"]))
        (cf.info if m["what"] == "info" else cf.labels)[m["split"]] = p
    if cells:
        unknown = [c for c in cells if c not in found]
        if unknown:
            raise InputError(
                f"{data_dir}: no gene table for cell(s) {', '.join(unknown)} (found: {', '.join(sorted(found))})"
            )
        found = {c: found[c] for c in cells}
    if not found:
        raise InputError(f"{tables}: no {{cell}}_{{split}}_info.tsv gene tables found")
    for cf in found.values():
        check_cell_name(cf.name)
        for split in cf.labels:
            if split not in cf.info:
                raise InputError(f"{cf.labels[split]}: labels without {cf.name}_{split}_info.tsv")
        for assay in assays:
            if "bigwig" in kinds:
                bw = _find(data_dir / f"{assay}-bigwig", cf.name, BIGWIG_SUFFIXES)
                if bw is None:
                    raise InputError(
                        f"missing {assay} bigWig for {cf.name}: expected {data_dir}/{assay}-bigwig/{cf.name}.bw"
                    )
                cf.bigwig[assay] = bw
            if "bed" in kinds:
                bed = _find(data_dir / f"{assay}-bed", cf.name, BED_SUFFIXES)
                if bed is None:
                    raise InputError(
                        f"missing {assay} peaks for {cf.name}: expected {data_dir}/{assay}-bed/{cf.name}.bed"
                    )
                cf.bed[assay] = bed
    return list(found.values())
