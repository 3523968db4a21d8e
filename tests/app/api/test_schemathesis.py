"""Schemathesis (every check) against a real server: the OpenAPI document describes what the server does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.app.api.conftest import TOKEN
from tests.app.api.serverproc import running_server

pytestmark = pytest.mark.slow
CONFIG = Path(__file__).with_name("schemathesis.toml")
# The fuzzer's accepted trainings and uploads are real jobs; a short job budget stops them (failed, store
# unchanged) so that they do not compete with the fuzzing for the CPU. The contract under test is the API's.
SERVER_ENV: dict[str, str | None] = {
    "EPIGEX_API_TOKEN": TOKEN,
    "EPIGEX_LOG_LEVEL": "WARNING",
    "EPIGEX_MAX_QUEUED_JOBS": "1",
    "EPIGEX_JOB_TIMEOUT_S": "2",
    "EPIGEX_THREADS": "1",
}


def schemathesis(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("schemathesis") or str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "schemathesis")
    return subprocess.run(
        [
            exe,
            "--config-file",
            str(CONFIG),
            "run",
            f"{url}/openapi.json",
            "--checks",
            "all",
            # One worker: with two threads, hypothesis' lambda descriptions call ast.parse concurrently, which
            # CPython 3.11 can fail with "SystemError: AST constructor recursion depth mismatch".
            "--workers",
            "1",
            "--seed",
            "1",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )


def inventory(url: str) -> tuple[list[str], list[str]]:
    cells = sorted(c["name"] for c in httpx.get(f"{url}/cell-lines").json())
    models = sorted(m["id"] for m in httpx.get(f"{url}/models").json())
    return cells, models


def test_schemathesis_with_and_without_the_token(trained_copy: Path, tmp_path: Path) -> None:
    if (
        shutil.which("schemathesis") is None
        and not (Path(__file__).resolve().parents[3] / ".venv/bin/schemathesis").exists()
    ):
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    with running_server(
        trained_copy,
        tmp_path / "s.log",
        env=SERVER_ENV,
    ) as s:
        before = inventory(s.url)
        anonymous = schemathesis(s.url)
        assert anonymous.returncode == 0, anonymous.stdout[-6000:]
        assert inventory(s.url) == before  # no fuzzed write got through without the token
        authorised = schemathesis(s.url, "-H", f"Authorization: Bearer {TOKEN}")
        assert authorised.returncode == 0, authorised.stdout[-6000:]
        assert "Server error" not in s.log_text()


def test_schemathesis_with_each_role_of_a_shared_service(trained_copy: Path, tmp_path: Path) -> None:
    """With users: a reader's and a writer's token of the project that owns X3, and anonymous (who sees none of
    it): the document holds for each, and nothing a fuzzed request sends gets past its role."""
    from epigex.store.access import Owner, add_user, set_owner
    from epigex.store.catalog import Store

    if (
        shutil.which("schemathesis") is None
        and not (Path(__file__).resolve().parents[3] / ".venv/bin/schemathesis").exists()
    ):
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    store = Store(trained_copy)
    set_owner(store, "cell", "X3", Owner("labA", False))
    tokens = {role: add_user(store, f"{role}1", "labA", role) for role in ("reader", "writer")}
    store.close()
    with running_server(trained_copy, tmp_path / "s.log", env=SERVER_ENV) as s:
        admin = {"Authorization": f"Bearer {TOKEN}"}
        before = httpx.get(f"{s.url}/cell-lines", headers=admin).json()
        for role in ("reader", "writer"):
            run = schemathesis(s.url, "-H", f"Authorization: Bearer {tokens[role]}")
            assert run.returncode == 0, (role, run.stdout[-6000:])
            if role == "reader":
                assert httpx.get(f"{s.url}/cell-lines", headers=admin).json() == before  # a reader wrote nothing
        anonymous = schemathesis(s.url)
        assert anonymous.returncode == 0, anonymous.stdout[-6000:]
        assert "Server error" not in s.log_text()
