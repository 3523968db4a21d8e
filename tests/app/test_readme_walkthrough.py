"""The README's local HTTP walkthrough, run as written against a real ``epigex serve`` on loopback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.app.api.serverproc import free_port

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough() -> str:
    text = README.read_text()
    block = re.search(r"<!-- walkthrough:local -->\n```sh\n(.*?)```\n<!-- /walkthrough:local -->", text, re.S)
    assert block, "the README lost its local walkthrough block"
    return block.group(1)


def test_readme_local_walkthrough(trained_copy: Path, demo_dir: Path, tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    port = str(free_port())
    # the README's paths and port, pointed at this test's store, data and a free port; nothing else changes
    script = (
        walkthrough()
        .replace("$PWD/epigex-demo/store", str(trained_copy))
        .replace("$PWD/epigex-demo/data", str(demo_dir))
        .replace("8000", port)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPIGEX_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    r = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert '"status":"succeeded"' in r.stdout, r.stdout
    assert '"gene_name":"CAPN9"' in r.stdout
    assert '"stages"' in r.stdout
    with zipfile.ZipFile(tmp_path / "Doe_Jane_Project1.zip") as zf:
        assert zf.namelist() == ["gex_predicted.csv"]
    assert "writes are OPEN" in r.stderr  # the server's first line, on the same terminal
