"""First-start seeding (``EPIGEX_SEED_DEMO``): ``/readyz`` says where the seed job stands and why it failed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.app.api.conftest import make_client
from tests.app.api.test_server import free_port


def test_readyz_names_a_failed_seed(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    (data / "CAGE-train").mkdir(parents=True)  # looks generated, but holds no tracks: the seed's ingest fails
    with make_client(tmp_path / "home", seed_demo=True, demo_dir=data) as client:
        t0 = time.monotonic()
        while (body := client.get("/readyz").json()).get("seed", {}).get("status") in (None, "queued", "running"):
            assert time.monotonic() - t0 < 60, body
            time.sleep(0.1)
        assert client.get("/readyz").status_code == 503
        assert body["seed"]["status"] == "failed"
        assert body["seed"]["error"]
        assert "internal error" not in body["seed"]["error"]
        assert client.get(f"/jobs/{body['seed']['job_id']}").json()["status"] == "failed"


def test_readyz_without_seeding_has_no_seed_state(tmp_path: Path) -> None:
    with make_client(tmp_path / "home") as client:
        body = client.get("/readyz").json()
    assert body["status"] == "not ready"
    assert body.get("seed") is None


@pytest.mark.slow
def test_seed_makes_the_server_ready_with_compose_blank_variables(demo_dir: Path, tmp_path: Path) -> None:
    # The compose file passes unset variables as "" (a blank scheduler address once failed the seed's training).
    port = free_port()
    env = {
        **os.environ,
        "EPIGEX_HOME": str(tmp_path / "home"),
        "EPIGEX_SEED_DEMO": "1",
        "EPIGEX_DEMO_DIR": str(demo_dir),
        "EPIGEX_DASK_SCHEDULER": "",
        "EPIGEX_API_TOKEN": "",
        "EPIGEX_LOG_LEVEL": "WARNING",
    }
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "epigex.app.cli.main", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        try:
            url, seen, t0 = f"http://127.0.0.1:{port}", set(), time.monotonic()
            while True:
                assert time.monotonic() - t0 < 900, log_path.read_text()[-3000:]
                try:
                    r = httpx.get(f"{url}/readyz", timeout=5)
                except httpx.TransportError:
                    time.sleep(0.2)
                    continue
                if r.status_code == 200:
                    break
                seed = r.json().get("seed")
                assert seed is None or seed["status"] != "failed", seed
                if seed is not None:
                    seen.add(seed["status"])
                time.sleep(0.5)
            assert r.json()["model_id"]
            assert "running" in seen or "queued" in seen  # the seed's progress was visible while it ran
            assert httpx.get(f"{url}/predict/X1", params={"limit": 3}, timeout=30).status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=30)
