"""The course layout: what is found, and what is named as not read (with the nearest name that would be)."""

from __future__ import annotations

from pathlib import Path

import pytest

from epigex.ingest.layout import MAX_NOTES, discover, layout_notes
from epigex.store.errors import InputError


def folder(root: Path, files: list[str]) -> Path:
    for name in files:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    return root


def test_a_clean_folder_has_no_notes(tmp_path: Path) -> None:
    d = folder(
        tmp_path,
        ["CAGE-train/X1_train_info.tsv", "CAGE-train/X1_train_y.tsv", "DNase-bigwig/X1.bw", "DNase-bed/X1.bed.gz"],
    )
    (d / "README.txt").write_text("top-level files are left alone")
    (d / ".cache").mkdir()
    assert layout_notes(d) == []


def test_misspelled_folders_and_files_are_named_with_the_nearest(tmp_path: Path) -> None:
    d = folder(
        tmp_path,
        [
            "CAGE-train/X3_test_info.tsv",
            "H3K27Ac-bigwig/X3.bw",
            "H3K4me1_bed/X3.bed",
            "DNase-bigwig/x3.bw",
            "DNase-bed/X3.txt",
            "notes/todo.md",
        ],
    )
    assert layout_notes(d) == [
        "DNase-bed/X3.txt is not read: did you mean X3.bed?",
        "DNase-bigwig/x3.bw is not read: did you mean X3.bw?",
        "H3K27Ac-bigwig/ is not an assay folder, so nothing in it is read (did you mean H3K27ac-bigwig/?)",
        "H3K4me1_bed/ is not an assay folder, so nothing in it is read (did you mean H3K4me1-bed/?)",
        "notes/ is not an assay folder, so nothing in it is read (assay folders are named like DNase-bigwig or "
        "H3K27ac-bed)",
    ]


def test_a_file_of_no_known_cell(tmp_path: Path) -> None:
    d = folder(tmp_path, ["CAGE-train/X3_test_info.tsv", "DNase-bigwig/X3.bw", "DNase-bigwig/K562.bw"])
    assert layout_notes(d) == [
        "DNase-bigwig/K562.bw is not read: a track is named CELL.bw after a cell with gene tables (X3)"
    ]


def test_val_info_without_val_labels_is_said(tmp_path: Path) -> None:
    d = folder(
        tmp_path,
        [
            "CAGE-train/X1_train_info.tsv",
            "CAGE-train/X1_train_y.tsv",
            "CAGE-train/X1_val_info.tsv",
            "CAGE-train/X3_test_info.tsv",  # an unlabelled cell: nothing to say
            "DNase-bigwig/X1.bw",
        ],
    )
    assert layout_notes(d) == [
        "X1 has X1_val_info.tsv but no X1_val_y.tsv: its val genes are not labelled, so they neither train nor validate"
    ]


def test_notes_are_bounded(tmp_path: Path) -> None:
    d = folder(tmp_path, ["CAGE-train/X3_test_info.tsv"] + [f"DNase-bigwig/junk{i:03d}.bin" for i in range(100)])
    notes = layout_notes(d)
    assert len(notes) == MAX_NOTES + 1
    assert notes[-1] == "… and 70 more names epigex will not read"


def test_require_all_names_the_misspelled_folder(tmp_path: Path) -> None:
    from epigex.ingest.featureset import ASSAYS

    files = ["CAGE-train/X3_test_info.tsv"] + [f"{a}-{k}/X3.{e}" for a in ASSAYS for k, e in (("bigwig", "bw"),)]
    d = folder(tmp_path, [f.replace("H3K27ac-bigwig", "H3K27Ac-bigwig") for f in files])
    with pytest.raises(InputError, match=r"missing H3K27ac bigWig for X3: .*did you mean H3K27ac-bigwig/\?"):
        discover(d, kinds=("bigwig",), require_all=True)
    found = discover(d, kinds=("bigwig",))
    assert found[0].missing == ["H3K27ac:bigwig"]
