"""Uploads, jobs, training and every write error of the API contract (TestClient over a trained demo store copy)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from epigex.store.catalog import Store
from epigex.store.jobs import JobRow, get_job, save_job
from tests.app.api.conftest import AUTH, cell_files, make_client, post_cell, wait_job


def test_upload_ingest_predict_replace_delete(client: TestClient, demo_dir: Path) -> None:
    files = cell_files(demo_dir) | {"genes": demo_dir / "CAGE-train" / "X3_test_info.tsv"}
    r = post_cell(client, "X3new", files)
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["genes"] == 1984
    assert job["result"]["qc"]["tracks"] == 14
    same = client.get("/predict/X3new", params={"genes": "CAPN9"}).json()["predictions"]
    ref = client.get("/predict/X3", params={"genes": "CAPN9"}).json()["predictions"]
    assert same == ref  # the same files give the same features and predictions as the CLI ingest
    tracks = client.get("/cell-lines/X3new").json()["tracks"]
    assert all(t["kept_in_store"] for t in tracks)
    again = post_cell(client, "X3new", files)
    assert again.status_code == 202
    assert wait_job(client, again.json()["job_id"])["result"]["status"] == "unchanged"
    other = files | {"DNase_bigwig": demo_dir / "DNase-bigwig" / "X1.bw"}
    conflict = post_cell(client, "X3new", other)
    assert conflict.status_code == 409
    assert "replace=true" in conflict.json()["detail"]
    replaced = post_cell(client, "X3new", other, extra={"replace": "true"})
    assert replaced.status_code == 202
    assert wait_job(client, replaced.json()["job_id"])["status"] == "succeeded"
    assert client.get("/predict/X3new", params={"genes": "CAPN9"}).json()["predictions"] != ref
    assert client.delete("/cell-lines/X3new").status_code == 401
    assert client.delete("/cell-lines/X3new", headers=AUTH).status_code == 204
    assert client.get("/cell-lines/X3new").status_code == 404
    assert not list((Store(client.app.state.store.home).home / "tracks").glob("cell_line=X3new/*"))  # type: ignore[attr-defined]


def test_upload_errors(client: TestClient, demo_dir: Path, tmp_path: Path, realfiles: Path) -> None:
    files = cell_files(demo_dir)
    assert post_cell(client, "A1", files, headers={}).status_code == 401
    assert post_cell(client, "A1", files, headers={"Authorization": "Bearer wrong"}).status_code == 401
    bad = post_cell(client, "bad/name", files)
    assert bad.status_code == 422
    assert "bad cell-line name" in bad.json()["detail"]
    partial = {k: v for k, v in files.items() if k != "H3K9me3_bed"}
    missing = post_cell(client, "A1", partial, extra={"require_all": "true"})
    assert missing.status_code == 422
    assert "H3K9me3_bed" in missing.json()["detail"]
    nothing = post_cell(client, "A1", {"genes": demo_dir / "CAGE-train" / "X3_test_info.tsv"})
    assert nothing.status_code == 422
    assert "no track file" in nothing.json()["detail"]
    bigbed = post_cell(client, "A1", files | {"DNase_bigwig": realfiles / "pyBigWig_test.bigBed"})
    assert bigbed.status_code == 415
    assert "bigBed" in bigbed.json()["detail"]
    assert "DNase_bigwig (pyBigWig_test.bigBed)" in bigbed.json()["detail"]
    text_as_bw = post_cell(client, "A1", files | {"DNase_bigwig": files["DNase_bed"]})
    assert text_as_bw.status_code == 415
    truncated = tmp_path / "trunc.bw"
    data = files["H3K4me3_bigwig"].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    r = post_cell(client, "A1", files | {"H3K4me3_bigwig": truncated})
    assert r.status_code == 422
    assert "H3K4me3_bigwig (trunc.bw)" in r.json()["detail"]
    bed = tmp_path / "bad.bed"
    bed.write_text("chr1\t100\t200\tp1\t0\t.\t5\t3\t2\t50\nchr1\tabc\t300\tp2\t0\t.\t5\t3\t2\t50\n")
    r = post_cell(client, "A1", files | {"DNase_bed": bed})
    assert r.status_code == 422
    assert "line 2" in r.json()["detail"]
    hg19 = post_cell(client, "A1", files | {"DNase_bigwig": realfiles / "rtracklayer_variableStep.bw"})
    assert hg19.status_code == 422
    assert "hg38" in hg19.json()["detail"]
    labels_only = post_cell(client, "A1", files | {"labels": demo_dir / "CAGE-train" / "X1_val_y.tsv"})
    assert labels_only.status_code == 400
    assert client.post("/cell-lines", json={"name": "A1"}, headers=AUTH).status_code == 400
    assert client.get("/cell-lines/A1").status_code == 404  # nothing of a refused upload is left behind
    uploads = client.app.state.uploads  # type: ignore[attr-defined]
    assert not uploads.exists() or not any(uploads.iterdir())


def test_oversized_upload_is_413(trained_copy: Path, demo_dir: Path) -> None:
    # 1 MB: refused from the Content-Length alone, before any byte is written
    with make_client(trained_copy, max_upload_mb=1) as c:
        r = post_cell(c, "Big", cell_files(demo_dir))
        assert r.status_code == 413
        assert "EPIGEX_MAX_UPLOAD_MB" in r.json()["detail"]
    # 10 MB: the request passes that check; the first bigWig above 10 MB is cut off while streaming
    with make_client(trained_copy, max_upload_mb=10) as c:
        r = post_cell(c, "Big", cell_files(demo_dir))
        assert r.status_code == 413
        assert "_bigwig' is larger than the limit of 10 MB" in r.json()["detail"]
        assert not c.app.state.uploads.exists() or not any(c.app.state.uploads.iterdir())  # type: ignore[attr-defined]
        assert c.get("/cell-lines/Big").status_code == 404


def test_train_job_and_a_failing_one(client: TestClient) -> None:
    assert client.post("/models", json={"profile": "quick"}).status_code == 401
    assert client.post("/models", json={"profile": "slow"}, headers=AUTH).status_code == 422
    as_json = {"Content-Type": "application/json"}
    assert client.post("/models", content=b"{not json", headers=AUTH | as_json).status_code == 400
    denied = client.post("/models", content=b"{not json", headers=as_json)
    assert denied.status_code == 401  # the token is checked before the body is read
    assert denied.headers["WWW-Authenticate"].startswith("Bearer")
    before = len(client.get("/models").json())
    bad = client.post("/models", json={"cells": ["X3"], "profile": "quick"}, headers=AUTH)
    assert bad.status_code == 409  # refused before a job is queued
    assert "have no labels" in bad.json()["detail"]
    unknown = client.post("/models", json={"cells": ["X1", "Nope"], "profile": "quick"}, headers=AUTH)
    assert unknown.status_code == 404
    twice = client.post("/models", json={"cells": ["X1", "X1"], "profile": "quick"}, headers=AUTH)
    assert twice.status_code == 422
    assert "listed twice" in twice.json()["detail"]
    assert len(client.get("/models").json()) == before
    client.get("/predict/X3")  # LightGBM has run in this process before the next job starts
    ok = client.post("/models", json={"profile": "quick", "cells": ["X1"]}, headers=AUTH)
    assert ok.status_code == 202
    done = wait_job(client, ok.json()["job_id"], timeout=300)
    assert done["status"] == "succeeded", done
    new_id = done["result"]["model_id"]
    assert client.get("/readyz").json()["model_id"] == new_id
    assert client.get("/predict/X3", params={"genes": "CAPN9"}).json()["model_id"] == new_id


def test_jobs_left_running_fail_on_restart(trained_copy: Path) -> None:
    store = Store(trained_copy)
    save_job(store, JobRow("stale1", "ingest", "running", 0.4, "ingesting", None, {}, None, None, None, None))
    with make_client(trained_copy) as c:
        job = c.get("/jobs/stale1").json()
        assert job["status"] == "failed"
        assert "server stopped" in job["error"]
    assert get_job(store, "stale1").status == "failed"


def hostile_bigwig(path: Path) -> Path:
    """An hg38 bigWig whose R-tree root points at itself."""
    from tests.ingest.bbi_build import Section, build_bigwig, patch

    b = build_bigwig([("chr1", 248_956_422)], [Section(0, 1, [(10, 20, 1.0)])], two_level=True)
    path.write_bytes(patch(b.data, b.offsets["rtree_child_ptr"], "<Q", b.offsets["rtree_root"]))
    return path


def test_hostile_files_are_refused_with_their_status(client: TestClient, demo_dir: Path, tmp_path: Path) -> None:
    import zlib

    files = cell_files(demo_dir)
    cyc = post_cell(client, "H1", files | {"DNase_bigwig": hostile_bigwig(tmp_path / "cycle.bw")})
    assert cyc.status_code == 422
    assert "DNase_bigwig (cycle.bw)" in cyc.json()["detail"]
    assert "reached twice" in cyc.json()["detail"]
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = tmp_path / "bomb.bed.gz"
    bomb.write_bytes(b"".join(c.compress(b"chr1\t1\t2\n" * 100_000) for _ in range(700)) + c.flush())
    r = post_cell(client, "H1", files | {"H3K27ac_bed": bomb})
    assert r.status_code == 413
    assert "zip bomb" in r.json()["detail"]
    assert str(client.app.state.store.home) not in r.json()["detail"]  # type: ignore[attr-defined]
    assert client.get("/cell-lines/H1").status_code == 404


def test_ingest_job_over_its_time_budget_fails_and_changes_nothing(trained_copy: Path, demo_dir: Path) -> None:
    with make_client(trained_copy, job_timeout_s=0.001) as c:
        r = post_cell(c, "Slow", cell_files(demo_dir))
        assert r.status_code == 202
        job = wait_job(c, r.json()["job_id"])
        assert job["status"] == "failed"
        assert "time budget of 0.001 s" in job["error"]
        assert c.get("/cell-lines/Slow").status_code == 404
        assert not list((trained_copy / "features").glob("*/cell_line=Slow"))


def test_a_failed_ingest_job_names_the_clients_file(client: TestClient, demo_dir: Path, tmp_path: Path) -> None:
    from tests.ingest.bbi_build import Section, build_bigwig

    # header, chromosomes and index are sound (the upload's fast check passes); the data block is not zlib data
    bad = tmp_path / "lab_DNase.bw"
    bad.write_bytes(build_bigwig([("chr1", 248_956_422)], [Section(0, 1, [(10, 20, 1.0)], raw=b"\x78garbage")]).data)
    r = post_cell(client, "Bad1", cell_files(demo_dir) | {"DNase_bigwig": bad})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"])
    assert job["status"] == "failed"
    assert "DNase_bigwig (lab_DNase.bw)" in job["error"]
    assert "uploads" not in job["error"]
    assert str(client.app.state.store.home) not in job["error"]  # type: ignore[attr-defined]
