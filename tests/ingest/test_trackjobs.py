"""A track job: a picklable description that turns into the right feature columns, and a clean out-of-memory error."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from epigex.ingest import trackjobs
from epigex.ingest.featureset import FeatureSetDef, WindowSpec
from epigex.ingest.limits import ReadLimits
from epigex.ingest.trackjobs import TrackJob, run_track
from epigex.ingest.tracks import TrackResult
from epigex.store.errors import ResourceLimitError
from epigex.store.genome import HG38_SIZES
from tests.conftest import write_bigwig

FS = FeatureSetDef(
    windows=(WindowSpec("tss", "tss_onesided", 100), WindowSpec("body", "body")),
    derived=False,
    neighbourhood=False,
)
GENES = pl.DataFrame(
    {
        "chrom": ["chr1", "chr1"],
        "gene_start": [1050, 5000],
        "gene_end": [3000, 6000],
        "tss_start": [1050, 5999],
        "tss_end": [1051, 6000],
        "strand": ["+", "-"],
    }
)


def job(path: Path, kind: str, **kw: object) -> TrackJob:
    return TrackJob("X9", "DNase", kind, str(path), FS.to_json(), False, **kw)  # type: ignore[arg-type]


def test_label_and_pickling() -> None:
    j = job(Path("/x/t.bw"), "bigwig", limits=ReadLimits(max_memory_mb=7))
    assert j.label == "X9 DNase bigwig"
    back = pickle.loads(pickle.dumps(j))
    assert back == j
    assert back.limits.max_memory_mb == 7


def test_bigwig_job_gives_the_feature_set_columns(tmp_path: Path) -> None:
    p = write_bigwig(tmp_path / "t.bw", [("chr1", HG38_SIZES["chr1"])], [("chr1", 1000, 1100, 1.0)])
    seen: list[float] = []
    res = run_track(job(p, "bigwig"), GENES, seen.append)
    stats = ("mean", "std", "min", "max", "cov", "slope", "entropy")
    assert set(res.columns) == {f"DNase_bw_{w}_{s}" for w in ("tss", "body") for s in stats}
    # + gene: TSS window [950, 1051), data on [1000, 1051): 51 of 101 bases; − gene: [5999, 6100) has none.
    np.testing.assert_allclose(res.columns["DNase_bw_tss_cov"], [51 / 101, 0.0])
    # body [1050, 3000): 50 covered bases of 1950
    np.testing.assert_allclose(res.columns["DNase_bw_body_cov"], [50 / 1950, 0.0])
    assert res.qc["kind"] == "bigwig"
    assert res.qc["n_bases"] == 100
    assert seen == [1.0]  # one chromosome, reported once


def test_bed_job_gives_peak_columns(tmp_path: Path) -> None:
    p = tmp_path / "p.narrowPeak"
    p.write_text("chr1\t1000\t1020\tp\t0\t.\t5.0\t-1\t3.0\t10\nchr1\t5990\t6050\tq\t0\t.\t7.0\t-1\t4.0\t30\n")
    res = run_track(job(p, "bed"), GENES)
    assert isinstance(res, TrackResult)
    assert res.qc["kind"] == "bed"
    assert res.qc["n_items"] == 2
    # + gene TSS window [950, 1051) holds the first peak (20 bases); − gene TSS window [5999, 6100) the second
    np.testing.assert_allclose(res.columns["DNase_bed_tss_cov"], [20 / 101, 51 / 101])
    np.testing.assert_array_equal(res.columns["DNase_bed_tss_max_signal"], [5.0, 7.0])
    np.testing.assert_array_equal(res.columns["DNase_bed_tss_has_peak"], [1.0, 1.0])
    assert "DNase_bed_up5k_cov" not in res.columns  # only the job's feature set's windows


def test_out_of_memory_is_a_resource_limit_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(*args: object, **kwargs: object) -> TrackResult:
        raise MemoryError

    monkeypatch.setattr(trackjobs, "bigwig_features", exhausted)  # the machine running out is the edge here
    j = job(tmp_path / "t.bw", "bigwig", limits=ReadLimits(max_memory_mb=3000))
    with pytest.raises(
        ResourceLimitError, match=r"t\.bw: reading the DNase bigwig track ran out of memory \(ceiling 3,000 MiB"
    ):
        run_track(j, GENES)
