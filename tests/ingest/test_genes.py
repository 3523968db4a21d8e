"""Gene tables: the real course files read as they are; every malformed table refused by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from epigex.demo.dataset import course_file
from epigex.ingest.genes import read_info, read_labels
from epigex.store.errors import InputError

HEADER = "gene_name\tchr\tgene_start\tgene_end\tTSS_start\tTSS_end\tstrand\n"


def test_course_tables() -> None:
    info = read_info(course_file("CAGE-train/X1_train_info.tsv"))
    assert info.height == 14_310
    labels = read_labels(course_file("CAGE-train/X1_train_y.tsv"), info)
    assert labels["gene_name"].to_list() == info["gene_name"].to_list()
    assert (labels["gex"] == 0).mean() > 0.5


def test_ensembl_names_are_normalised(tmp_path: Path) -> None:
    p = tmp_path / "i.tsv"
    p.write_text(HEADER + "A\t1\t10\t20\t10\t15\t+\nB\tMT\t1\t9\t1\t2\t-\n")
    assert read_info(p)["chrom"].to_list() == ["chr1", "chrM"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("A\tchr1\t10\t20\t10\t15\t*\n", r"line 2: unknown strand '\*'"),
        ("A\tchr1\t30\t20\t10\t15\t+\n", r"line 2: gene_start 30 > gene_end 20"),
        ("A\tchr1\t10\t20\t10\t15\t+\nA\tchr1\t10\t20\t10\t15\t+\n", r"duplicate gene name\(s\) A"),
        ("A\tchr1\t1x\t20\t10\t15\t+\n", r"line 2: gene_start '1x' is not a whole number"),
    ],
)
def test_bad_info_tables(tmp_path: Path, body: str, message: str) -> None:
    p = tmp_path / "i.tsv"
    p.write_text(HEADER + body)
    with pytest.raises(InputError, match=message):
        read_info(p)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    p = tmp_path / "i.tsv"
    p.write_text("gene_name\tchr\tgene_start\nA\tchr1\t1\n")
    with pytest.raises(InputError, match="missing column\\(s\\) gene_end, TSS_start, TSS_end, strand"):
        read_info(p)


def test_labels_out_of_order(tmp_path: Path) -> None:
    p = tmp_path / "i.tsv"
    p.write_text(HEADER + "A\tchr1\t10\t20\t10\t15\t+\nB\tchr1\t10\t20\t10\t15\t+\n")
    y = tmp_path / "y.tsv"
    y.write_text("gene_name\tgex\nB\t1\nA\t2\n")
    with pytest.raises(InputError, match="line 2 names 'B' where the info file has 'A'"):
        read_labels(y, read_info(p))
