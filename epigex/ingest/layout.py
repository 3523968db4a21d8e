"""Discovery of a dataset in the course layout: gene tables under ``CAGE-train/``, tracks per assay folder."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from epigex.ingest.featureset import ASSAYS
from epigex.store.errors import InputError
from epigex.store.tracksets import track_key

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
    names: dict[str, str] = field(default_factory=dict)  # TrackKey.role -> the file's name as the user gave it
    missing: list[str] = field(default_factory=list)  # tracks (``assay:kind``) the cell came without

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
    *,
    require_all: bool = False,
) -> list[CellFiles]:
    """Find every cell's files: the tracks it has (those it lacks listed in ``missing``), or with ``require_all``
    an error naming the first missing file; a cell without any track file is refused."""
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
            for kind, folder, suffixes, files, what in (
                ("bigwig", f"{assay}-bigwig", BIGWIG_SUFFIXES, cf.bigwig, "bigWig"),
                ("bed", f"{assay}-bed", BED_SUFFIXES, cf.bed, "peaks"),
            ):
                if kind not in kinds:
                    continue
                path = _find(data_dir / folder, cf.name, suffixes)
                if path is not None:
                    files[assay] = path
                elif require_all:
                    ext = ".bw" if kind == "bigwig" else ".bed"
                    raise InputError(
                        f"missing {assay} {what} for {cf.name}: expected {data_dir}/{folder}/{cf.name}{ext}"
                    )
                else:
                    cf.missing.append(track_key(assay, kind))
        if not cf.bigwig and not cf.bed:
            raise InputError(
                f"cell {cf.name} has no track file in {data_dir}: expected e.g. {data_dir}/DNase-bigwig/{cf.name}.bw "
                f"or {data_dir}/DNase-bed/{cf.name}.bed"
            )
    return list(found.values())
