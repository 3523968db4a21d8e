"""The command line, the HTTP API and the Python API are faces of one read service: the same store, the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

from epigex.app.services.serving import local_reads
from epigex.app.settings import Settings
from epigex.store.catalog import Store
from tests.app.api.conftest import make_client
from tests.app.test_cli import run


def test_cli_and_api_give_identical_predictions_zips_and_explanations(trained_copy: Path, tmp_path: Path) -> None:
    r = run(["predict", "X3", "-o", str(tmp_path / "x3.tsv")], trained_copy)
    assert r.returncode == 0, r.stderr
    z = run(["submission", "X3", "-o", str(tmp_path / "Doe_Jane_Project1.zip")], trained_copy)
    assert z.returncode == 0, z.stderr
    with make_client(trained_copy) as api:
        tsv = api.get("/predict/X3", params={"format": "tsv"})
        zipped = api.get("/submission/X3", params={"name": "Doe_Jane"})
        explained = api.get("/explain/CAPN9", params={"cell_line": "X3", "top": 15}).json()
    assert (tmp_path / "x3.tsv").read_bytes() == tsv.content
    assert (tmp_path / "Doe_Jane_Project1.zip").read_bytes() == zipped.content
    # the CLI's explanation is the read service's (it prints it as tables)
    reads = local_reads(Store(trained_copy), Settings(home=trained_copy))
    assert json.loads(json.dumps(reads.explanation("X3", "CAPN9", top=15))) == explained
