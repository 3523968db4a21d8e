"""Ingest through a real Dask cluster (LocalCluster, 2 worker processes): same bytes as the local path."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from epigex.ingest.executors import DaskRunner
from epigex.ingest.featureset import default_feature_set
from epigex.ingest.hashing import sha256_file
from epigex.ingest.layout import discover
from epigex.ingest.pipeline import ingest_dataset, plan_cell
from epigex.store.catalog import Store
from epigex.store.errors import EpigexError

pytestmark = pytest.mark.slow


def feature_bytes(home: Path) -> dict[str, bytes]:
    """Each cell's feature table file, by cell."""
    rows = Store(home).query("SELECT cell_line, path FROM feature_tables ORDER BY cell_line")
    return {cell: (home / path).read_bytes() for cell, path in rows}


def test_dask_ingest_is_byte_identical_to_local(
    dask_client: object, demo_dir: Path, demo_store: Path, tmp_path: Path
) -> None:
    runner = DaskRunner(dask_client)
    seen: list[str] = []
    out = ingest_dataset(Store(tmp_path / "h"), demo_dir, runner=runner, progress=lambda label, f: seen.append(label))
    assert [o.status for o in out] == ["ingested"] * 3
    assert len(seen) == 3 * 14  # one progress tick per track
    assert feature_bytes(tmp_path / "h") == feature_bytes(demo_store)


def test_a_worker_killed_mid_ingest_costs_a_retry(
    dask_client: object, demo_dir: Path, demo_store: Path, tmp_path: Path
) -> None:
    client = dask_client
    runner = DaskRunner(client)
    done: list[object] = []
    t = threading.Thread(
        target=lambda: done.append(ingest_dataset(Store(tmp_path / "h"), demo_dir, runner=runner)), daemon=True
    )
    t.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the workers are busy with track tasks
        if any(client.processing().values()):  # type: ignore[attr-defined]
            break
        time.sleep(0.05)
    pids = client.run(os.getpid)  # type: ignore[attr-defined]
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    t.join(timeout=300)
    assert done, "the ingest did not finish after a worker was killed"
    assert feature_bytes(tmp_path / "h") == feature_bytes(demo_store)


def test_unreachable_scheduler_is_a_clear_error() -> None:
    with pytest.raises(EpigexError, match="cannot reach the Dask scheduler"):
        DaskRunner("tcp://127.0.0.1:9")


def test_workers_hash_inputs_and_write_tables_into_a_shared_store(
    dask_client: object, demo_dir: Path, tmp_path: Path
) -> None:
    runner = DaskRunner(dask_client)
    files = sorted((demo_dir / "DNase-bigwig").iterdir())
    assert runner.hash_files(files) == [sha256_file(p) for p in files]
    store = Store(tmp_path / "h")
    assert runner.shared_spool(store.tmp)
    fs = default_feature_set()
    cf = discover(demo_dir, ["X3"], fs.assays, fs.kinds())[0]
    plan = plan_cell(cf, fs, digest="d", shas={})
    spooled = next(runner.run_cells([plan], fs, "test", None, store.tmp))
    assert spooled.features_parquet is None
    assert spooled.features_file is not None
    assert Path(spooled.features_file).parent == store.tmp.resolve()
    inline = next(runner.run_cells([plan], fs, "test", None, None))  # no shared folder: the bytes travel
    assert inline.features_file is None
    assert inline.features_parquet is not None
    assert pq.read_table(spooled.features_file).equals(pq.read_table(io.BytesIO(inline.features_parquet)))
