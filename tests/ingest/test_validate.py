"""The fast pre-check of one input file: facts about a good track, a clear error for a bad one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from epigex.ingest.featureset import FeatureSetDef, WindowSpec
from epigex.ingest.limits import ReadLimits
from epigex.ingest.tracks import bigwig_features
from epigex.ingest.validate import check_track
from epigex.store.errors import FileTypeError, InputError, ResourceLimitError
from epigex.store.genome import HG38_SIZES, OTHER_BUILDS
from tests.conftest import write_bigwig
from tests.ingest.bbi_build import build_bigwig

CHR1, CHR2 = HG38_SIZES["chr1"], HG38_SIZES["chr2"]


def narrowpeak(path: Path, rows: list[tuple[str, int, int]]) -> Path:
    path.write_text("".join(f"{c}\t{s}\t{e}\tp{i}\t0\t.\t5.0\t-1\t3.0\t50\n" for i, (c, s, e) in enumerate(rows)))
    return path


def test_hg38_bigwig_reports_its_chromosomes_and_build(tmp_path: Path) -> None:
    p = write_bigwig(tmp_path / "t.bw", [("chr1", CHR1), ("chr2", CHR2), ("chrUn_x", 5000)], [("chr1", 0, 10, 1.0)])
    assert check_track(p, "bigwig") == {"chromosomes": 3, "build": "hg38"}


def test_hg19_bigwig_is_refused_and_named_unless_forced(tmp_path: Path) -> None:
    hg19 = OTHER_BUILDS["hg19"]["chr1"]
    p = write_bigwig(tmp_path / "t.bw", [("chr1", hg19)], [("chr1", 0, 10, 1.0)])
    with pytest.raises(
        InputError, match=f"chr1 is {hg19:,} bp in the file but {CHR1:,} bp in hg38 — this looks like hg19"
    ):
        check_track(p, "bigwig")
    assert check_track(p, "bigwig", force_build=True) == {"chromosomes": 1, "build": "hg19"}


def test_bigwig_without_any_hg38_chromosome(tmp_path: Path) -> None:
    p = write_bigwig(tmp_path / "t.bw", [("scaffold_1", 1000)], [("scaffold_1", 0, 10, 1.0)])
    with pytest.raises(InputError, match=r"none of its chromosomes \(scaffold_1\) is an hg38 chromosome"):
        check_track(p, "bigwig")
    assert check_track(p, "bigwig", force_build=True) == {"chromosomes": 1, "build": None}


def test_ensembl_named_hg38_bigwig_is_read_by_the_ingest(tmp_path: Path) -> None:
    p = write_bigwig(tmp_path / "t.bw", [("1", CHR1)], [("1", 900, 1100, 1.0)])
    genes = pl.DataFrame(
        {
            "chrom": ["chr1"],
            "gene_start": [1000],
            "gene_end": [5000],
            "tss_start": [1000],
            "tss_end": [1001],
            "strand": ["+"],
        }
    )
    fs = FeatureSetDef(windows=(WindowSpec("tss", "tss_onesided", 100),), derived=False, neighbourhood=False)
    res = bigwig_features(p, "DNase", genes, fs)
    assert res.qc["build"] == "hg38"
    assert res.columns["DNase_bw_tss_cov"].tolist() == [1.0]


def test_ensembl_named_hg38_bigwig_passes_the_check(tmp_path: Path) -> None:
    p = write_bigwig(tmp_path / "t.bw", [("1", CHR1)], [("1", 900, 1100, 1.0)])
    assert check_track(p, "bigwig") == {"chromosomes": 1, "build": "hg38"}


def test_truncated_bigwig_is_an_input_error(tmp_path: Path) -> None:
    data = build_bigwig([("chr1", CHR1)], []).data
    p = tmp_path / "t.bw"
    p.write_bytes(data[:100])
    with pytest.raises(InputError, match="truncated or corrupt"):
        check_track(p, "bigwig")


def test_peak_file_given_as_bigwig_is_a_file_type_error(tmp_path: Path) -> None:
    p = narrowpeak(tmp_path / "p.narrowPeak", [("chr1", 100, 200)])
    with pytest.raises(FileTypeError, match="not a bigWig file"):
        check_track(p, "bigwig")


def test_bed_reports_its_peak_count(tmp_path: Path) -> None:
    p = narrowpeak(tmp_path / "p.narrowPeak", [("chr1", 100, 200), ("chr2", 5, 50), ("chr1", 300, 400)])
    assert check_track(p, "bed") == {"peaks": 3}


def test_bed_peak_beyond_hg38_is_refused_unless_forced(tmp_path: Path) -> None:
    p = narrowpeak(tmp_path / "p.narrowPeak", [("chr1", 100, 200), ("chr1", CHR1 + 10, CHR1 + 20)])
    with pytest.raises(InputError, match=f"line 2: peak end {CHR1 + 20} lies beyond chr1"):
        check_track(p, "bed")
    assert check_track(p, "bed", force_build=True) == {"peaks": 2}


def test_bigwig_given_as_bed_is_a_file_type_error(tmp_path: Path) -> None:
    p = write_bigwig(tmp_path / "t.bw", [("chr1", CHR1)], [("chr1", 0, 10, 1.0)])
    with pytest.raises(FileTypeError, match="binary bigwig file"):
        check_track(p, "bed")


def test_bed_over_the_memory_ceiling_is_refused(tmp_path: Path) -> None:
    rows = [("chr1", 100 * i, 100 * i + 50) for i in range(20_000)]
    p = narrowpeak(tmp_path / "p.narrowPeak", rows)
    tiny = ReadLimits(max_memory_mb=1)  # 1 MiB / 160 bytes a peak: 6,553 peaks
    with pytest.raises(ResourceLimitError):
        check_track(p, "bed", limits=tiny)
    assert check_track(p, "bed") == {"peaks": 20_000}
