"""A real uvicorn server on 127.0.0.1: upload a demo cell over HTTP, poll, read, train while reading."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.app.api.conftest import AUTH, TOKEN, cell_files, wait_job

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(trained_copy: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "EPIGEX_HOME": str(trained_copy), "EPIGEX_API_TOKEN": TOKEN, "EPIGEX_LOG_LEVEL": "WARNING"}
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "epigex.app.cli.main", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError((tmp_path / "server.log").read_text())
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_upload_poll_read_and_train_while_reading(server: str, demo_dir: Path) -> None:
    with httpx.Client(base_url=server, timeout=120) as client, ExitStack() as stack:
        files = cell_files(demo_dir) | {"genes": demo_dir / "CAGE-train" / "X3_test_info.tsv"}
        parts = [(k, (p.name, stack.enter_context(open(p, "rb")))) for k, p in files.items()]
        r = client.post("/cell-lines", data={"name": "X3srv"}, files=parts, headers=AUTH)
        assert r.status_code == 202, r.text
        job = wait_job(client, r.json()["job_id"])
        assert job["status"] == "succeeded", job

        preds = client.get("/predict/X3srv").json()["predictions"]
        assert len(preds) == 1984
        csv = client.get("/predict/X3srv", params={"format": "csv"}).text.splitlines()
        assert csv[0] == "gene_name,gex_predicted,p_expressed,rank_predicted,pct_lo,pct_hi,references"
        ex = client.get("/explain/CAPN9", params={"cell_line": "X3srv", "top": 5}).json()
        assert len(ex["stages"]["classifier"]["contributions"]) == 5
        z = client.get("/submission/X3srv", params={"name": "Doe_Jane"})
        with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
            assert zf.namelist() == ["gex_predicted.csv"]

        # a training job started after predictions were served (LightGBM ran in this process) completes,
        # and reads keep being answered while it runs
        t = client.post("/models", json={"profile": "quick"}, headers=AUTH)
        assert t.status_code == 202
        reads_while_training = 0
        while client.get(t.json()["status_url"]).json()["status"] in ("queued", "running"):
            assert client.get("/predict/X3srv", params={"genes": "CAPN9"}).status_code == 200
            reads_while_training += 1
            time.sleep(0.2)
        done = wait_job(client, t.json()["job_id"])
        assert done["status"] == "succeeded", done
        assert reads_while_training > 0  # read latency under a job is measured by bench/serve.py, not here
        assert client.get("/readyz").json()["model_id"] == done["result"]["model_id"]  # type: ignore[index]
        metrics = client.get("/metrics").text
        assert 'epigex_jobs{state="succeeded"}' in metrics
