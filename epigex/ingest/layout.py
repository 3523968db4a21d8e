"""Discovery of a dataset in the course layout: gene tables under ``CAGE-train/``, tracks per assay folder."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from epigex.ingest.featureset import ASSAYS
from epigex.store.errors import InputError
from epigex.store.tracksets import track_key

CELL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TABLE = re.compile(r"^(?P<cell>.+)_(?P<split>train|val|test)_(?P<what>info|y)\.tsv$")
BIGWIG_SUFFIXES = (".bw", ".bigwig", ".bigWig")
MAX_NOTES = 30  # a folder of unrelated files gets a bounded list
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
                    near = [n for n in layout_notes(data_dir, assays) if f"did you mean {folder}/" in n]
                    raise InputError(
                        f"missing {assay} {what} for {cf.name}: expected {data_dir}/{folder}/{cf.name}{ext}"
                        + (f" ({near[0]})" if near else "")
                    )
                else:
                    cf.missing.append(track_key(assay, kind))
        if not cf.bigwig and not cf.bed:
            raise InputError(
                f"cell {cf.name} has no track file in {data_dir}: expected e.g. {data_dir}/DNase-bigwig/{cf.name}.bw "
                f"or {data_dir}/DNase-bed/{cf.name}.bed"
            )
    return list(found.values())


def _folded(name: str) -> str:
    """A folder name without case and separators, for matching ``H3K27Ac_bigWig`` to ``H3K27ac-bigwig``."""
    return re.sub(r"[-_. ]", "", name.lower())


def layout_notes(data_dir: Path, assays: tuple[str, ...] = ASSAYS) -> list[str]:
    """What in a course-layout folder epigex will not read, each with the nearest name it would read; and cells
    whose gene tables leave a split unlabelled. Empty for a clean folder.

    A misspelled assay folder (``H3K27Ac-bigwig``, ``H3K4me1_bed``) or track file (``x3.bw``) is otherwise just a
    missing track; these notes say why. Top-level files and hidden entries are left alone.
    """
    if not data_dir.is_dir():
        return []
    expected = {f"{a}-{k}": k for a in assays for k in ("bigwig", "bed")}
    notes: list[str] = []
    try:
        tables = gene_table_dir(data_dir)
    except InputError:
        tables = None
    cells: dict[str, dict[str, set[str]]] = {}
    if tables is not None:
        for p in tables.glob("*.tsv"):
            m = _TABLE.match(p.name)
            if m is not None:
                cells.setdefault(m["cell"], {"info": set(), "y": set()})[m["what"]].add(m["split"])
    for cell, parts in sorted(cells.items()):
        if parts["y"]:
            for split in sorted(parts["info"] - parts["y"]):
                notes.append(
                    f"{cell} has {cell}_{split}_info.tsv but no {cell}_{split}_y.tsv: its {split} genes are "
                    "not labelled, so they neither train nor validate"
                )
    folded = {_folded(name): name for name in expected}
    for entry in sorted(data_dir.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir() or entry.name == "CAGE-train":
            continue
        if entry.name not in expected:
            near = folded.get(_folded(entry.name)) or next(
                iter(difflib.get_close_matches(entry.name, list(expected), n=1, cutoff=0.75)), None
            )
            hint = f"did you mean {near}/?" if near else "assay folders are named like DNase-bigwig or H3K27ac-bed"
            notes.append(f"{entry.name}/ is not an assay folder, so nothing in it is read ({hint})")
            continue
        suffixes = BIGWIG_SUFFIXES if expected[entry.name] == "bigwig" else BED_SUFFIXES
        for f in sorted(entry.iterdir()):
            if f.name.startswith(".") or any(f.name == c + s for c in cells for s in suffixes):
                continue
            notes.append(f"{entry.name}/{f.name} is not read: {_file_hint(f.name, list(cells), suffixes)}")
    if len(notes) > MAX_NOTES:
        notes[MAX_NOTES:] = [f"… and {len(notes) - MAX_NOTES} more names epigex will not read"]
    return notes


def _file_hint(name: str, cells: list[str], suffixes: tuple[str, ...]) -> str:
    """Why a file in an assay folder matches no cell, with the nearest name that would."""
    wanted = [c + s for c in cells for s in suffixes]
    by_fold = {w.lower(): w for w in wanted}
    near = by_fold.get(name.lower()) or next(iter(difflib.get_close_matches(name, wanted, n=1, cutoff=0.75)), None)
    stem = name.split(".", 1)[0].lower()
    same_cell = [c for c in cells if c.lower() == stem]
    if near is None and same_cell:  # the cell is right, the ending is not (X3.txt in a bed folder)
        near = same_cell[0] + suffixes[0]
    if near:
        return f"did you mean {near}?"
    return f"a track is named CELL{suffixes[0]} after a cell with gene tables ({', '.join(sorted(cells)) or 'none'})"
