"""The command line and the HTTP API are two faces of one service layer: the same store gives the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from epigex.app.services import reading
from epigex.store.catalog import Store
from tests.app.api.conftest import make_client
from tests.app.test_cli import run


@pytest.mark.slow
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
    # the CLI's explanation is the service function's (it prints it as tables)
    assert json.loads(json.dumps(reading.explain(Store(trained_copy), "CAPN9", "X3", top=15))) == explained
