"""Chromosome names and genome builds."""

from __future__ import annotations

import pytest

from epigex.store.genome import HG38_SIZES, build_mismatches, guess_build, naming_style, normalize_chrom


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("1", "chr1"),
        ("chr1", "chr1"),
        ("CHR01", "chr1"),
        ("X", "chrX"),
        ("MT", "chrM"),
        ("chrMT", "chrM"),
        ("M", "chrM"),
        ("GL000219.1", "GL000219.1"),
        ("chrUn_KI270302v1", "chrUn_KI270302v1"),
    ],
)
def test_normalize(raw: str, norm: str) -> None:
    assert normalize_chrom(raw) == norm


def test_naming_style() -> None:
    assert naming_style(["chr1", "chr2"]) == "ucsc"
    assert naming_style(["1", "GL000219.1"]) == "ensembl"
    assert naming_style(["chr1", "2"]) == "mixed"
    assert naming_style(["GL000219.1"]) == "none"


def test_builds() -> None:
    assert guess_build({"chr1": HG38_SIZES["chr1"], "chrUn": 5}) == "hg38"
    assert guess_build({"chr1": 249_250_621}) == "hg19"
    assert guess_build({"chr1": 195_471_971}) == "mm10"
    assert build_mismatches({"chr1": 1, "chr2": HG38_SIZES["chr2"]}) == [("chr1", 1, HG38_SIZES["chr1"])]
