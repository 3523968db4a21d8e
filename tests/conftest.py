"""Shared fixtures: small hand-made files built in code, and one demo dataset per test session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

REALFILES = Path(__file__).resolve().parents[2] / "shared" / "realfiles"
if not REALFILES.is_dir():  # CI lays shared/ beside the clone
    REALFILES = Path(__file__).resolve().parents[1].parent / "shared" / "realfiles"


def write_bigwig(path: Path, chroms: Sequence[tuple[str, int]], entries: Sequence[tuple[str, int, int, float]]) -> Path:
    """Write a bigWig with the given header and bedGraph entries (sorted by the caller)."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(chroms), maxZooms=0)
    for chrom, start, end, value in entries:
        bw.addEntries([chrom], [start], ends=[end], values=[float(value)])
    bw.close()
    return path


def write_info(path: Path, rows: Sequence[tuple[str, str, int, int, int, int, str]]) -> Path:
    """Write a gene info table."""
    lines = ["gene_name\tchr\tgene_start\tgene_end\tTSS_start\tTSS_end\tstrand"]
    lines += ["\t".join(str(x) for x in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def realfiles() -> Path:
    if not REALFILES.is_dir():
        pytest.skip(f"shared/realfiles not found at {REALFILES}")
    return REALFILES


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo dataset (seed 0), generated once per session."""
    from epigex.demo.dataset import write_demo

    out = tmp_path_factory.mktemp("demo") / "data"
    write_demo(out, seed=0, workers=2)
    return out


@pytest.fixture(scope="session")
def demo_store(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the whole demo dataset ingested (read-only for tests: copy it before writing)."""
    from epigex.ingest.pipeline import ingest_dataset
    from epigex.store.catalog import Store

    home = tmp_path_factory.mktemp("store") / "home"
    ingest_dataset(Store(home), demo_dir)
    return home


@pytest.fixture
def store_copy(demo_store: Path, tmp_path: Path) -> Path:
    """A private copy of the ingested demo store."""
    dst = tmp_path / "home"
    shutil.copytree(demo_store, dst)
    return dst


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def trained_store(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo store with a quick model trained on X1 + X2 (read-only for tests: copy to write)."""
    from epigex.models.pipeline import train_from_store
    from epigex.store.catalog import Store

    home = tmp_path_factory.mktemp("trained") / "home"
    shutil.copytree(demo_store, home)
    train_from_store(Store(home), None, "quick", seed=0, threads=2)
    return home


@pytest.fixture
def trained_copy(trained_store: Path, tmp_path: Path) -> Path:
    """A private copy of the trained demo store."""
    dst = tmp_path / "trained"
    shutil.copytree(trained_store, dst)
    return dst


@pytest.fixture(scope="session")
def dask_client() -> Iterator[object]:
    """A ``distributed.Client`` on a LocalCluster of 2 single-threaded worker processes (one per session)."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc,
        Client(lc) as client,
    ):
        yield client
