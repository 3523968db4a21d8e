"""Fixtures of the API tests: apps over private store copies, and a demo cell's upload files."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from epigex.app.api.app import create_app
from epigex.app.settings import Settings
from epigex.ingest.featureset import ASSAYS

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_client(home: Path, **settings: Any) -> TestClient:
    """A TestClient (lifespan included) over the store at ``home``."""
    return TestClient(create_app(Settings(home=home, api_token=TOKEN, **settings)))


@pytest.fixture
def client(trained_copy: Path) -> Iterator[TestClient]:
    with make_client(trained_copy) as c:
        yield c


def cell_files(demo_dir: Path, cell: str = "X3", **swap: Path) -> dict[str, Path]:
    """Every track of a demo cell by form field (``swap`` replaces some)."""
    files = {f"{a}_bigwig": demo_dir / f"{a}-bigwig" / f"{cell}.bw" for a in ASSAYS}
    files |= {f"{a}_bed": demo_dir / f"{a}-bed" / f"{cell}.bed" for a in ASSAYS}
    return files | swap


def post_cell(
    client: TestClient,
    name: str,
    files: dict[str, Path],
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> Any:
    """POST /cell-lines with real files opened from disk."""
    with ExitStack() as stack:
        parts = [(k, (p.name, stack.enter_context(open(p, "rb")))) for k, p in files.items()]
        return client.post(
            "/cell-lines",
            data={"name": name, **(extra or {})},
            files=parts,
            headers=AUTH if headers is None else headers,
        )


def wait_job(
    client: TestClient | httpx.Client, job_id: str, timeout: float = 300.0, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Poll a job until it has finished (a TestClient or an httpx client of a real server)."""
    import time

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        job = client.get(f"/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")
