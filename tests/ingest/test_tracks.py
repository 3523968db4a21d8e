"""Per-track features on a hand-made hg38 bigWig whose values are computed by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from epigex.ingest.featureset import default_feature_set
from epigex.ingest.genes import read_info
from epigex.ingest.tracks import bed_features, bigwig_features
from epigex.store.errors import FileTypeError, InputError
from epigex.store.genome import HG38_SIZES
from tests.conftest import write_bigwig, write_info

E = math.e
CHR21 = HG38_SIZES["chr21"]
# log1p(value) = y: values are e^y - 1.
ENTRIES = [
    ("chr1", 900, 1000, E - 1),  # y = 1
    ("chr1", 1000, 1100, E**2 - 1),  # y = 2
    ("chr1", 1100, 1200, 0.0),  # y = 0
    ("chr1", 8900, 9000, E**3 - 1),  # y = 3
    ("chr1", 9000, 9100, E - 1),  # y = 1
    ("chr21", CHR21 - 83, CHR21, E**2 - 1),  # y = 2, up to the chromosome end
]
YS = [(100, 1.0), (100, 2.0), (100, 0.0), (100, 3.0), (100, 1.0), (83, 2.0)]
N = sum(n for n, _ in YS)
MU = sum(n * y for n, y in YS) / N
SD = math.sqrt(sum(n * y * y for n, y in YS) / N - MU**2)


def z(y: float) -> float:
    return (y - MU) / SD


@pytest.fixture
def genes(tmp_path: Path):
    info = write_info(
        tmp_path / "X_test_info.tsv",
        [
            ("PLUS", "chr1", 1000, 5000, 1000, 1050, "+"),
            ("MINUS", "chr1", 6000, 9000, 8950, 9000, "-"),
            ("NOCHROM", "chr2", 100, 900, 100, 150, "+"),
            ("EDGE", "21", CHR21 - 983, CHR21, CHR21 - 33, CHR21, "+"),
        ],
    )
    return read_info(info)


@pytest.fixture
def track(tmp_path: Path) -> Path:
    chroms = [(c, HG38_SIZES[c]) for c in ("chr1", "chr21")]
    return write_bigwig(tmp_path / "t.bw", chroms, ENTRIES)


def test_window_values_by_hand(track: Path, genes) -> None:
    res = bigwig_features(track, "H3K4me3", genes, default_feature_set())
    c = res.columns
    # + strand one-sided TSS window [900, 1050): 100 bases at y=1, 50 at y=2.
    assert c["H3K4me3_bw_tss_mean"][0] == pytest.approx(z(4 / 3))
    assert c["H3K4me3_bw_tss_cov"][0] == pytest.approx(1.0)
    assert c["H3K4me3_bw_tss_max"][0] == pytest.approx(z(2.0))
    assert c["H3K4me3_bw_tss_min"][0] == pytest.approx(z(1.0))
    # − strand window [8950, 9100): 50 bases at y=3, 100 at y=1; upstream half (genomic right) is lower.
    assert c["H3K4me3_bw_tss_mean"][1] == pytest.approx(z(5 / 3))
    assert c["H3K4me3_bw_tss_std"][1] == pytest.approx(math.sqrt((50 * 9 + 100) / 150 - (5 / 3) ** 2) / SD)
    # slope: downstream half (genomic [8950, 9025)) minus upstream half ([9025, 9100)), in units of SD.
    down = (50 * 3 + 25 * 1) / 75
    assert c["H3K4me3_bw_tss_slope"][1] == pytest.approx((down - 1.0) / SD)
    # Gene body [1000, 5000) of PLUS: covered 1000-1200 only; bases without data are excluded, not zero.
    assert c["H3K4me3_bw_body_mean"][0] == pytest.approx(z(1.0))
    assert c["H3K4me3_bw_body_cov"][0] == pytest.approx(200 / 4000)
    # A chromosome the track lacks: every statistic missing, coverage too.
    for name, col in c.items():
        assert np.isnan(col[2]), name
    # Clipped at the chromosome end: prom1k = [end-1033, end+1000) -> [end-1033, end); 83 bases covered.
    assert c["H3K4me3_bw_prom1k_cov"][3] == pytest.approx(83 / 1033)
    assert c["H3K4me3_bw_prom1k_mean"][3] == pytest.approx(z(2.0))
    assert np.isnan(c["H3K4me3_bw_down5k_cov"][3])  # downstream flank lies past the end: an empty window
    assert res.qc["genes_on_missing_chrom"] == 1
    assert res.qc["log1p_mean"] == pytest.approx(MU)
    assert res.qc["log1p_std"] == pytest.approx(SD)
    assert res.qc["n_bases"] == N


def test_contigs_without_genes_are_read_past_and_reported(tmp_path: Path, genes) -> None:
    """ENCODE's analysis set carries chrUn_*, *_random and chrEBV: never decoded, counted, and the features and
    genome-wide statistics are the plain track's, whichever contigs a file carries."""
    contigs = [("chr1_KI270706v1_random", 175_055), ("chrUn_KI270302v1", 2_274), ("chrEBV", 171_823), ("chrUn_x", 500)]
    extra = [
        ("chr1_KI270706v1_random", 0, 5_000, 40.0),
        ("chr1_KI270706v1_random", 6_000, 7_000, 3.0),
        ("chrUn_KI270302v1", 10, 2_000, 7.0),
        ("chrEBV", 0, 171_823, 900.0),
    ]
    chroms = [(c, HG38_SIZES[c]) for c in ("chr1", "chr21")]
    path = write_bigwig(tmp_path / "analysis_set.bw", chroms + contigs, ENTRIES + extra)
    res = bigwig_features(path, "H3K4me3", genes, default_feature_set())
    plain = bigwig_features(
        write_bigwig(tmp_path / "plain.bw", chroms, ENTRIES), "H3K4me3", genes, default_feature_set()
    )
    for name, col in plain.columns.items():
        np.testing.assert_array_equal(res.columns[name], col, err_msg=name)
    assert res.qc["n_bases"] == N
    assert res.qc["log1p_mean"] == pytest.approx(MU)
    past = res.qc["contigs_read_past"]
    assert past["contigs"] == 3  # chrUn_x declares no data
    assert past["blocks"] >= 3
    assert past["compressed_bytes"] > 0
    assert set(past["named"]) == {"chr1_KI270706v1_random", "chrUn_KI270302v1", "chrEBV"}
    assert plain.qc["contigs_read_past"] == {"contigs": 0, "blocks": 0, "compressed_bytes": 0, "named": []}
    assert res.qc["chroms"] == 6


def test_other_genome_builds_are_refused(realfiles: Path, genes) -> None:
    fs = default_feature_set()
    with pytest.raises(
        InputError,
        match="chr1 is 247,249,719 bp in the file but 248,956,422 bp in hg38 — this looks like hg18",
    ):
        bigwig_features(realfiles / "rtracklayer_variableStep.bw", "DNase", genes, fs)
    with pytest.raises(InputError, match="mm10"):
        bigwig_features(realfiles / "pyBigWig_test_ensembl_names.bw", "DNase", genes, fs)
    with pytest.raises(InputError, match="hg19"):
        bigwig_features(realfiles / "bioframe_times100.bw", "DNase", genes, fs)


def test_forced_build_reads_ensembl_names(realfiles: Path, genes) -> None:
    res = bigwig_features(
        realfiles / "pyBigWig_test_ensembl_names.bw", "DNase", genes, default_feature_set(), force_build=True
    )
    assert res.qc["naming"] == "ensembl"
    assert res.qc["n_bases"] == 154


def test_negative_values_are_clipped_and_counted(realfiles: Path, genes) -> None:
    res = bigwig_features(
        realfiles / "rtracklayer_negative_values.bw", "DNase", genes, default_feature_set(), force_build=True
    )
    assert res.qc["negative_bases_clipped"] == 1200


def test_bigbed_in_place_of_bigwig(realfiles: Path, genes) -> None:
    with pytest.raises(FileTypeError, match="bigBed"):
        bigwig_features(realfiles / "pyBigWig_test.bigBed", "DNase", genes, default_feature_set())


def test_bed_features_by_hand(tmp_path: Path, genes) -> None:
    bed = tmp_path / "p.bed"
    bed.write_text("track name=x\nchr1\t1010\t1040\tp1\t0\t.\t4.5\t3\t2.5\t10\n1\t8000\t8100\tp2\t0\t.\t-1\t3\t9\t5\n")
    res = bed_features(bed, "DNase", genes, default_feature_set())
    c = res.columns
    assert c["DNase_bed_tss_n_peaks"][0] == 1
    assert c["DNase_bed_tss_cov"][0] == pytest.approx(30 / 150)
    assert c["DNase_bed_tss_max_signal"][0] == 4.5
    assert c["DNase_bed_nearest_dist"][0] == 0  # the TSS base 1024 lies in p1
    assert c["DNase_bed_nearest_dist"][1] == 875  # MINUS: TSS base 8974, p2 ends at 8099, downstream on −
    assert np.isnan(c["DNase_bed_body_max_signal"][1])  # p2's signalValue is -1: missing
    assert c["DNase_bed_body_max_q"][1] == 9
    assert res.qc["naming"] == "mixed"


def test_features_do_not_depend_on_how_a_chromosome_is_chunked(tmp_path: Path, genes, monkeypatch) -> None:
    """A chromosome cut into one chunk per data block gives the features of one whole chunk."""
    import pyBigWig

    from epigex.ingest import bigwig as bigwig_module
    from epigex.ingest.bigwig import BigWigReader

    rng = np.random.default_rng(7)
    starts = np.sort(rng.choice(np.arange(0, 400_000, 40), 6_000, replace=False)).astype(np.int64)
    path = tmp_path / "dense.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", HG38_SIZES["chr1"]), ("chr21", CHR21)], maxZooms=0)
    bw.addEntries(
        ["chr1"] * starts.size,
        starts.tolist(),
        ends=(starts + 30).tolist(),
        values=rng.gamma(1.0, 2.0, starts.size).tolist(),
    )
    bw.close()
    with BigWigReader(path) as r:
        parts = r.chunks("chr1", records=1)
        whole = r.intervals("chr1")
    assert len(parts) >= 3  # one chunk per data block: several
    assert np.concatenate([p.starts for p in parts]).tolist() == whole.starts.tolist()
    one = bigwig_features(path, "H3K27ac", genes, default_feature_set())
    monkeypatch.setattr(bigwig_module, "CHUNK_RECORDS", 1)
    cut = bigwig_features(path, "H3K27ac", genes, default_feature_set())
    for key, value in one.qc.items():  # sums in another order: a float's last bit may differ
        assert cut.qc[key] == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value), key
    for name, col in one.columns.items():
        np.testing.assert_allclose(cut.columns[name], col, rtol=1e-9, atol=1e-9, err_msg=name)
