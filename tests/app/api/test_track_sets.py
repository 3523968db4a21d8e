"""Over HTTP, a real server: a cell line with some of the assays gets predictions from a model for exactly its
tracks, trained once in its upload's job and reused for the next cell with the same tracks."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.app.api.conftest import AUTH, TOKEN, cell_files, wait_job
from tests.app.api.serverproc import running_server

pytestmark = pytest.mark.slow
SUBSET = ("DNase", "H3K4me3", "H3K27ac", "H3K36me3")


def upload(client: httpx.Client, demo_dir: Path, name: str, **data: str) -> httpx.Response:
    files = {k: p for k, p in cell_files(demo_dir).items() if k.rsplit("_", 1)[0] in SUBSET}
    files["genes"] = demo_dir / "CAGE-train" / "X3_test_info.tsv"
    with ExitStack() as stack:
        parts = [(k, (p.name, stack.enter_context(open(p, "rb")))) for k, p in files.items()]
        return client.post("/cell-lines", data={"name": name, **data}, files=parts, headers=AUTH)


def test_a_cell_with_four_assays_is_predicted_by_its_own_model(
    trained_copy: Path, demo_dir: Path, tmp_path: Path
) -> None:
    with (
        running_server(trained_copy, tmp_path / "server.log", env={"EPIGEX_API_TOKEN": TOKEN}) as srv,
        httpx.Client(base_url=srv.url, timeout=120) as client,
    ):
        refused = upload(client, demo_dir, "Q0", require_all="true")
        assert refused.status_code == 422
        assert "H3K27me3_bed" in refused.json()["detail"]

        active = client.get("/readyz").json()["model_id"]
        r = upload(client, demo_dir, "Q1")
        assert r.status_code == 202, r.text
        job = wait_job(client, r.json()["job_id"])
        assert job["status"] == "succeeded", job
        want = sorted(f"{a}:{k}" for a in SUBSET for k in ("bigwig", "bed"))
        assert job["result"]["qc"]["missing_tracks"] == sorted(
            f"{a}:{k}" for a in ("H3K27me3", "H3K4me1", "H3K9me3") for k in ("bigwig", "bed")
        )
        model = job["result"]["model"]
        assert model["tracks"] == want
        assert model["reused"] is False

        body = client.get("/predict/Q1").json()
        assert body["model_id"] == model["id"] != active
        assert len(body["predictions"]) == 1984
        assert all(p["gex_predicted"] is not None and p["pct_lo"] <= p["pct_hi"] for p in body["predictions"])
        models = {m["id"]: m for m in client.get("/models").json()}
        assert models[model["id"]]["tracks"] == want
        detail = client.get(f"/models/{model['id']}").json()

        # Every selected feature comes from the cell's assays (or from geometry / the TSS density).
        def source(f: str) -> str:
            return f.removeprefix("nb_prom_").split("_")[0]

        assert all(source(f) in (*SUBSET, "gene", "d", "nb") for f in detail["selected_features"])
        assert client.get("/readyz").json()["model_id"] == active  # the active model stays as it was

        r2 = upload(client, demo_dir, "Q2")
        job2 = wait_job(client, r2.json()["job_id"])
        assert job2["result"]["model"] == {"id": model["id"], "tracks": want, "reused": True}
        assert client.get("/predict/Q2").json()["model_id"] == model["id"]
        assert len(client.get("/models").json()) == len(models)  # no second training
