"""The command line as a user meets it: exit codes and one readable error line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EPIGEX_HOME": str(home), "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_ingest_of_missing_folder_is_one_line(tmp_path: Path) -> None:
    r = run(["ingest", str(tmp_path / "nope")], tmp_path / "home")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "no such folder" in r.stderr


def test_bad_cell_name_and_unknown_cell(tmp_path: Path) -> None:
    (tmp_path / "d" / "CAGE-train").mkdir(parents=True)
    (tmp_path / "d" / "CAGE-train" / "X1_test_info.tsv").write_text("gene_name\n")
    r = run(["ingest", str(tmp_path / "d"), "--cells", "X9"], tmp_path / "home")
    assert r.returncode == 2
    assert "no gene table for cell(s) X9" in r.stderr


def test_features_catalogue_lists_every_family(tmp_path: Path) -> None:
    r = run(["features", "--markdown"], tmp_path / "home")
    assert r.returncode == 0
    for family in (
        "bigwig_window",
        "bed_window",
        "bed_gene",
        "geometry",
        "promoter_vs_body",
        "activation_vs_repression",
        "openness_vs_repression",
        "promoter_variability",
        "cross_mark",
        "bivalency",
        "coherence",
        "cross_layer",
    ):
        assert f"| {family} |" in r.stdout, family


def test_docs_features_is_current(tmp_path: Path) -> None:
    r = run(["features", "--markdown"], tmp_path / "home")
    doc = Path(__file__).resolve().parents[2] / "docs" / "FEATURES.md"
    assert doc.read_text() == r.stdout, "regenerate with: make features-doc"


@pytest.mark.slow
def test_ingest_prints_qc_and_is_idempotent(demo_dir: Path, store_copy: Path) -> None:
    r = run(["ingest", str(demo_dir)], store_copy)
    assert r.returncode == 0, r.stderr
    assert "unchanged" in r.stdout
    assert "ingested 3 cell line(s)" in r.stdout
