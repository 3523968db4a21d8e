"""The command line as a user meets it: exit codes and one readable error line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def run(args: list[str], home: Path, columns: int = 120) -> subprocess.CompletedProcess[str]:
    """The CLI as an installed user runs it: from a folder other than the checkout (nothing importable by accident)."""
    env = {**os.environ, "EPIGEX_HOME": str(home), "COLUMNS": str(columns)}
    env.pop("PYTHONPATH", None)
    home.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "epigex.app.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=home.parent,
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


@pytest.mark.slow
def test_model_commands_end_to_end(trained_copy: Path, tmp_path: Path) -> None:
    home = trained_copy
    r = run(["models"], home)
    assert r.returncode == 0
    assert "quick" in r.stdout
    assert "X1,X2" in r.stdout
    r = run(["predict", "X3", "-o", str(tmp_path / "x3.tsv")], home)
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "x3.tsv").read_text().splitlines()
    assert lines[0] == "gene_name\tgex_predicted\tp_expressed\trank_predicted\tpct_lo\tpct_hi\treferences"
    assert len(lines) == 1 + 1984  # X3 has only its test genes
    zip_path = tmp_path / "Doe_Jane_Project1.zip"
    r = run(["submission", "X3", "-o", str(zip_path)], home)
    assert r.returncode == 0
    assert zip_path.stat().st_size > 10_000
    r = run(["explain", "CAPN9", "--cell-line", "X3", "--top", "3"], home)
    assert r.returncode == 0
    assert "classifier" in r.stdout
    assert "regressor" in r.stdout
    r = run(["report", "-o", str(tmp_path / "r.html")], home)
    page = (tmp_path / "r.html").read_text()
    assert r.returncode == 0
    assert page.count("data:image/png;base64,") >= 6
    assert "Threshold curve" in page


def test_models_fits_80_columns(trained_copy: Path) -> None:
    r = run(["models"], trained_copy, columns=80)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in r.stdout
    header = next(line for line in lines if "id (created UTC)" in line)
    assert header.split() == ["id", "(created", "UTC)", "profile", "cells", "tracks", "mask", "Spearman"]
    row = next(line for line in lines if line.startswith("*"))
    assert row.split()[2:4] == ["quick", "X1,X2"]


@pytest.mark.slow
def test_model_command_errors_are_one_line(trained_copy: Path, store_copy: Path, tmp_path: Path) -> None:
    cases = [
        (["train", "--cells", "X3", "--profile", "quick"], trained_copy, "X3 have no labels"),
        (["train", "--profile", "slow"], trained_copy, "unknown profile"),
        (["predict", "NOPE"], trained_copy, "unknown cell line 'NOPE'"),
        (["explain", "NOT_A_GENE", "--cell-line", "X3"], trained_copy, "'NOT_A_GENE' is not among"),
        (["submission", "X1", "-o", str(tmp_path / "Doe_Jane_Project1.zip")], trained_copy, "no test info file"),
        (["submission", "X3", "-o", str(tmp_path / "out.zip")], trained_copy, "Last_First"),
        (["submission", "X3", "-o", str(tmp_path / "Smith_John.zip")], trained_copy, "Last_First_Project1.zip"),
        (["submission", "X3", "-o", str(tmp_path / "Smith_John")], trained_copy, "Smith_John_Project1.zip"),
        (["models", "activate", "m-404"], trained_copy, "unknown model 'm-404'"),
        (["predict", "X3"], store_copy, "no model yet"),
    ]
    for args, home, message in cases:
        r = run(args, home)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert message in r.stderr, (args, r.stderr)
        assert r.stderr.strip().count("\n") == 0, (args, r.stderr)


@pytest.mark.slow
def test_demo_runs_end_to_end(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "data").symlink_to(demo_dir)
    (out / "data.truth").symlink_to(demo_dir.with_name("data.truth"))
    env_home = tmp_path / "home"
    r = run(["demo", "--out", str(out)], env_home, columns=80)
    assert r.returncode == 0, r.stderr
    assert "Spearman vs hidden truth" in r.stdout
    scores = {}
    for line in r.stdout.splitlines():
        for name in ("epigex stacked ensemble", "promoter H3K4me3 + DNase rank", "two-stage model on promoter means"):
            if name in line:
                scores[name] = float(line.split("│")[-2])
    assert len(scores) == 3
    assert scores["epigex stacked ensemble"] > max(v for k, v in scores.items() if not k.startswith("epigex"))
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name, value in scores.items():  # the README's demo table is this run's (a thread count may move the 3rd digit)
        shown = re.search(rf"│ (?:baseline: )?{re.escape(name)} +│ +([0-9.]+) │", readme)
        assert shown is not None, name
        assert abs(float(shown.group(1)) - value) <= 0.003, (name, shown.group(1), value)
    assert (out / "Demo_Epigex_Project1.zip").is_file()
    assert (out / "X3_predictions.tsv").is_file()
    assert list((env_home / "reports").glob("*.html"))
    # the "next" block pastes as it reads at 80 columns: comments on their own lines, the commands run as printed
    block = r.stdout.split("next — ", 1)[1].splitlines()[1:]
    assert all(line.startswith("  ") for line in block), block
    commands = [line.strip() for line in block if not line.strip().startswith("#")]
    assert commands[0] == f"export EPIGEX_HOME={env_home.resolve()}"
    assert commands[1] == f"{Path(sys.executable).absolute()} -m epigex models"  # how this test ran the CLI
    listed = subprocess.run(
        ["bash", "-c", "\n".join(commands[:2])], capture_output=True, text=True, timeout=120, cwd=out
    )
    assert listed.returncode == 0, listed.stderr
    assert "quick" in listed.stdout


def test_hostile_track_is_one_line_and_exit_2(tmp_path: Path, demo_dir: Path) -> None:
    from epigex.ingest.featureset import ASSAYS
    from tests.app.api.test_writes import hostile_bigwig

    data = tmp_path / "d"
    (data / "CAGE-train").mkdir(parents=True)
    (data / "CAGE-train" / "X3_test_info.tsv").symlink_to(demo_dir / "CAGE-train" / "X3_test_info.tsv")
    for a in ASSAYS:
        for kind, ext in (("bigwig", "bw"), ("bed", "bed")):
            (data / f"{a}-{kind}").mkdir()
            (data / f"{a}-{kind}" / f"X3.{ext}").symlink_to(demo_dir / f"{a}-{kind}" / f"X3.{ext}")
    (data / "H3K27me3-bigwig" / "X3.bw").unlink()
    hostile_bigwig(data / "H3K27me3-bigwig" / "X3.bw")
    r = run(["ingest", str(data)], tmp_path / "home")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "H3K27me3-bigwig/X3.bw: data index node at byte" in r.stderr
    assert "reached twice" in r.stderr


def test_version_help_and_markup(tmp_path: Path) -> None:
    r = run(["--version"], tmp_path / "home")
    assert r.returncode == 0
    assert r.stdout.startswith("epigex ")
    h = run(["ingest", "--help"], tmp_path / "home")
    assert "<bool>" not in h.stdout  # a flag shows as a flag
    assert "--force-build " in h.stdout
    assert "``" not in run(["models", "--help"], tmp_path / "home").stdout
    bad = run(["ingest", str(tmp_path / "[x]")], tmp_path / "home")
    assert bad.returncode == 2
    assert "[x]: no such folder" in bad.stderr  # user text is printed as given, never read as console markup
    empty = run(["models", "activate", "latest"], tmp_path / "home")
    assert f"no model yet in the store at {tmp_path / 'home'}" in empty.stderr  # "nothing here" names the store


def test_ingest_takes_the_tracks_a_cell_has_and_require_all_refuses(demo_dir: Path, tmp_path: Path) -> None:
    from tests.app.services.test_assaysets import partial_folder

    folder = partial_folder(demo_dir, tmp_path / "d", {"P1": "X3"}, {"DNase": ("bigwig",), "H3K4me3": ("bed",)})
    r = run(["ingest", str(folder), "--require-all"], tmp_path / "home")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "missing DNase peaks for P1" in r.stderr
    r = run(["ingest", str(folder)], tmp_path / "home")
    assert r.returncode == 0, r.stderr
    assert "P1: without " in r.stdout
    assert "DNase (bed)" in r.stdout  # only the bigWig of DNase came


def test_peaks_on_contigs_outside_the_genome_are_reported_not_silent(demo_dir: Path, tmp_path: Path) -> None:
    import json

    from tests.app.services.test_assaysets import partial_folder

    folder = partial_folder(demo_dir, tmp_path / "d", {"P1": "X3"}, {"DNase": ("bigwig", "bed")})
    bed = folder / "DNase-bed" / "P1.bed"
    n = bed.read_text().count("\n")
    extra = [f"chrFoo\t{i * 1000}\t{i * 1000 + 300}\tp\t0\t.\t5\t-1\t3\t150\n" for i in range(30)]
    extra += ["chrUn_KI270302v1\t100\t400\tp\t0\t.\t5\t-1\t3\t150\n"] * 2
    with bed.open("a") as fh:
        fh.writelines(extra)
    r = run(["ingest", str(folder)], tmp_path / "home")
    assert r.returncode == 0, r.stderr
    assert f"P1 DNase bed: 32 of {n + 32:,} peaks lie on 2 contig(s) outside hg38's chromosomes" in r.stdout
    assert "(chrFoo, chrUn_KI270302v1); not used" in r.stdout
    qc = json.loads(run(["qc", "P1", "--json"], tmp_path / "home").stdout)
    row = next(t for t in qc["tracks"] if t["kind"] == "bed")
    assert row["verdict"] == "warn"  # an unknown contig is named; the analysis set's chrUn_ contigs are expected
    assert row["reasons"] == [
        f"30 of {n + 32:,} peaks lie on contigs hg38 does not have (chrFoo) and were not used",
        "not compared",  # the store has no labelled cell line
    ]
    assert qc["verdict"] == "warn"


def test_ingest_names_a_misspelled_assay_folder(tmp_path: Path) -> None:
    d = tmp_path / "d"
    (d / "CAGE-train").mkdir(parents=True)
    (d / "CAGE-train" / "X3_test_info.tsv").write_text("gene_name\n")
    (d / "H3K27Ac-bigwig").mkdir()
    (d / "H3K27Ac-bigwig" / "X3.bw").write_bytes(b"")
    r = run(["ingest", str(d)], tmp_path / "home")
    assert r.returncode == 2
    note, error = r.stderr.strip().split("\n")
    assert note == (
        "note: H3K27Ac-bigwig/ is not an assay folder, so nothing in it is read (did you mean H3K27ac-bigwig/?)"
    )
    assert "cell X3 has no track file" in error
