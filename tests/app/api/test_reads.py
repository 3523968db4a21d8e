"""Read endpoints per resource, on a trained demo store (TestClient)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import polars as pl
from fastapi.testclient import TestClient

from tests.app.api.conftest import AUTH, make_client


def test_health_ready_metrics_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["model_id"]
    client.get("/predict/X3?genes=CAPN9")
    text = client.get("/metrics").text
    assert 'epigex_requests_total{method="GET",route="/predict/{cell_line}",status="200"}' in text
    assert 'epigex_jobs{state="running"}' in text
    spec = client.get("/openapi.json").json()
    for path in ("/cell-lines", "/jobs/{job_id}", "/models", "/predict/{cell_line}", "/explain/{gene}"):
        assert path in spec["paths"], path
    upload = spec["paths"]["/cell-lines"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload["required"] == ["name"]  # the files say which assays a cell has, and at least one must come
    assert {"required": ["DNase_bigwig"]} in upload["anyOf"]
    assert len(upload["anyOf"]) == 14
    assert {"DNase_bigwig", "H3K9me3_bed", "require_all"} <= set(upload["properties"])


def test_predict_formats_and_subsets(client: TestClient) -> None:
    body = client.get("/predict/X3").json()
    assert body["cell_line"] == "X3"
    assert len(body["predictions"]) == 1984
    assert set(body["predictions"][0]) == {
        "gene_name",
        "gex_predicted",
        "p_expressed",
        "rank_predicted",
        "pct_lo",
        "pct_hi",
        "references",
    }
    assert {p["references"] for p in body["predictions"]} == {""}  # no reference measured X3's (chr1) genes
    two = client.get("/predict/X3", params={"genes": "ILF2,CAPN9"}).json()["predictions"]
    assert [p["gene_name"] for p in two] == ["ILF2", "CAPN9"]
    csv = client.get("/predict/X3", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    frame = pl.read_csv(io.StringIO(csv.text))
    assert frame.columns == [
        "gene_name",
        "gex_predicted",
        "p_expressed",
        "rank_predicted",
        "pct_lo",
        "pct_hi",
        "references",
    ]
    assert frame.height == 1984
    tsv = client.get("/predict/X3", params={"format": "tsv", "genes": "CAPN9"}).text.splitlines()
    assert tsv[0] == "gene_name\tgex_predicted\tp_expressed\trank_predicted\tpct_lo\tpct_hi\treferences"
    assert tsv[1].startswith("CAPN9\t")
    assert client.get("/predict/X3", params={"format": "xml"}).status_code == 422


def test_predict_errors(client: TestClient) -> None:
    r = client.get("/predict/NOPE")
    assert r.status_code == 404
    assert "unknown cell line 'NOPE'" in r.json()["detail"]
    r = client.get("/predict/X3", params={"genes": "CAPN9,NOT_A_GENE"})
    assert r.status_code == 404
    assert "NOT_A_GENE" in r.json()["detail"]
    r = client.get("/predict/X3", params={"model": "m-404"})
    assert r.status_code == 404
    assert client.get("/no/such/endpoint").status_code == 404


def test_explain(client: TestClient) -> None:
    ex = client.get("/explain/CAPN9", params={"cell_line": "X3", "top": 3}).json()
    assert ex["gene"] == "CAPN9"
    assert set(ex["stages"]) == {"classifier", "regressor"}
    contribs = ex["stages"]["regressor"]["contributions"]
    assert len(contribs) == 3
    assert abs(contribs[0]["shap"]) >= abs(contribs[-1]["shap"])
    assert client.get("/explain/NOT_A_GENE", params={"cell_line": "X3"}).status_code == 404
    missing = client.get("/explain/CAPN9")
    assert missing.status_code == 422
    assert "cell_line" in missing.json()["detail"]


def test_submission(client: TestClient) -> None:
    r = client.get("/submission/X3", params={"name": "Doe_Jane"})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="Doe_Jane_Project1.zip"'
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        lines = zf.read("gex_predicted.csv").decode().splitlines()
    assert lines[0] == ",gene_name,gex_predicted"
    assert len(lines) == 1985
    assert client.get("/submission/X3", params={"name": "../../x"}).status_code == 422
    assert client.get("/submission/X3", params={"name": "Smith_John.zip"}).status_code == 422
    umlaut = client.get("/submission/X3", params={"name": "Müller_Jürgen_Project1.zip"})
    assert umlaut.status_code == 200
    assert umlaut.headers["content-disposition"] == (
        "attachment; filename=\"Muller_Jurgen_Project1.zip\"; filename*=UTF-8''M%C3%BCller_J%C3%BCrgen_Project1.zip"
    )
    assert umlaut.content == r.content
    r = client.get("/submission/X1")
    assert r.status_code == 409
    assert "no test info file" in r.json()["detail"]


def test_models_and_cells(client: TestClient) -> None:
    models = client.get("/models").json()
    assert len(models) == 1
    assert models[0]["active"] is True
    detail = client.get(f"/models/{models[0]['id']}").json()
    assert detail["selected_features"]
    assert detail["metrics"]["chosen"]["rule"] in ("mean", "union", "intersection")
    assert client.get("/models/m-404").status_code == 404
    report = client.get(f"/models/{models[0]['id']}/report")
    assert report.status_code == 200
    assert report.text.count("data:image/png") >= 6
    assert client.post(f"/models/{models[0]['id']}/activate", headers=AUTH).json()["active"] is True
    cells = {c["name"]: c for c in client.get("/cell-lines").json()}
    assert set(cells) == {"X1", "X2", "X3"}
    assert cells["X1"]["labelled"] is True
    x3 = client.get("/cell-lines/X3").json()
    assert len(x3["tracks"]) == 14
    assert x3["ready_for_active_model"] is True
    assert client.get("/cell-lines/NOPE").status_code == 404
    assert client.get("/jobs/nope").status_code == 404


def test_no_model_yet(store_copy: Path) -> None:
    with make_client(store_copy) as c:
        assert c.get("/readyz").status_code == 503
        r = c.get("/predict/X3")
        assert r.status_code == 409
        assert "no model yet" in r.json()["detail"]


def test_activate_by_latest_or_prefix_resolves_the_id_once(client: TestClient) -> None:
    mid = client.get("/models").json()[0]["id"]
    for ref in ("latest", mid[:6], mid):
        r = client.post(f"/models/{ref}/activate", headers=AUTH)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == mid
        assert r.json()["active"] is True
    r = client.post("/models/m-404/activate", headers=AUTH)
    assert r.status_code == 404
    assert client.get("/readyz").json()["model_id"] == mid


def test_unknown_genes_are_refused_before_any_prediction_is_computed(trained_copy: Path) -> None:
    from epigex.store.catalog import Store

    store = Store(trained_copy)
    assert store.query("SELECT count(*) FROM predictions WHERE cell_line = 'X2'")[0][0] == 0
    with make_client(trained_copy) as c:
        r = c.get("/explain/0", params={"cell_line": "X2"})
        assert r.status_code == 404
        assert "gene '0' is not among cell line X2's genes" in r.json()["detail"]
        assert c.get("/predict/X2", params={"genes": "TP53,0"}).status_code == 404
        assert store.query("SELECT count(*) FROM predictions WHERE cell_line = 'X2'")[0][0] == 0  # nothing computed
        assert c.get("/explain/TP53", params={"cell_line": "X2"}).status_code == 200
    assert store.query("SELECT count(*) FROM predictions WHERE cell_line = 'X2'")[0][0] == 1


def test_models_listing_follows_the_catalog(client: TestClient, trained_copy: Path) -> None:
    from epigex.store.catalog import Store

    first = client.get("/models")
    assert first.headers["content-type"] == "application/json"
    assert client.get("/models").content == first.content  # served from memory while the catalog is unchanged
    assert first.json()[0]["created_at"].endswith("Z")
    mid = first.json()[0]["id"]
    with Store(trained_copy).write() as con:  # another process's write (e.g. the CLI) shows at the next read
        con.execute("UPDATE models SET profile = 'edited' WHERE id = ?", [mid])
    assert client.get("/models").json()[0]["profile"] == "edited"


def test_a_read_never_trains_a_model(trained_copy: Path, demo_dir: Path, tmp_path: Path) -> None:
    from epigex.ingest.pipeline import ingest_dataset
    from epigex.store.catalog import Store
    from tests.app.services.test_assaysets import partial_folder

    store = Store(trained_copy)
    ingest_dataset(store, partial_folder(demo_dir, tmp_path / "d", {"P1": "X3"}, {"DNase": ("bigwig", "bed")}))
    models_before = store.query("SELECT count(*) FROM models")[0][0]
    with make_client(trained_copy) as c:
        for path, params in (("/predict/P1", {}), ("/explain/CAPN9", {"cell_line": "P1"}), ("/submission/P1", {})):
            r = c.get(path, params=params)
            assert r.status_code == 409, r.text
            assert "no model has been trained for these tracks yet" in r.json()["detail"]
            assert 'POST /models {"for_cell": "P1"}' in r.json()["detail"]
        assert store.query("SELECT count(*) FROM jobs")[0][0] == 0  # no job was queued by a read
        assert store.query("SELECT count(*) FROM models")[0][0] == models_before
        unauthorised = c.post("/models", json={"for_cell": "P1"})
        assert unauthorised.status_code == 401
        assert c.post("/models", json={"for_cell": "X3"}, headers=AUTH).status_code == 409  # the active one serves it
        assert c.post("/models", json={"for_cell": "NOPE"}, headers=AUTH).status_code == 404
