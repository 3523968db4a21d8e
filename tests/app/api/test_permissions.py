"""Every route × every principal × own / other project / public, over HTTP on a real server with users.

The cases are generated from the route table: a route without a case fails here, as a route without a policy
fails test_policies. Every body answered to someone outside lab A is searched for the names of lab A's private
cell lines; a refusal for a private cell must be byte for byte the refusal for a cell that does not exist.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from epigex.app.api.app import create_app
from epigex.app.settings import Settings
from epigex.ingest.pipeline import ingest_dataset
from epigex.store.access import Owner, add_user, set_owner
from epigex.store.catalog import Store
from tests.app.api.conftest import TOKEN, cell_files, wait_job
from tests.app.api.serverproc import running_server
from tests.app.api.test_policies import route_policies

pytestmark = pytest.mark.slow
SECRET = "LabAsecretCell"  # lab A's private, unlabelled cell line (X3's files under another name)
PRIVATE_LABELLED = "X2"  # made lab A's: so the active model (X1 + X2) is lab A's to use until it is shared
MISSING = "NoSuchCell"
GENE = "CAPN9"  # one of X3's (so the secret cell's) test genes
GENES: dict[str, str] = {}  # cell -> a gene it has (the demo's labelled cells have other genes than X3)


def gene(cell: str) -> str:
    return GENES.get(cell, GENE)


@dataclass(frozen=True)
class Who:
    name: str
    headers: dict[str, str]
    lab_a: bool  # may read lab A's private cells


def _renamed_cell(demo: Path, out: Path, old: str, new: str) -> Path:
    """The demo's files of cell ``old`` linked under the name ``new`` (the course layout)."""
    for src in demo.rglob(f"{old}*"):
        if src.is_file():
            dst = out / src.relative_to(demo).parent / src.name.replace(old, new, 1)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, dst)
    return out


@pytest.fixture
def lab_store(trained_copy: Path, demo_dir: Path, tmp_path: Path) -> tuple[Path, dict[str, Who]]:
    store = Store(trained_copy)
    ingest_dataset(store, _renamed_cell(demo_dir, tmp_path / "lab", "X3", SECRET), owner=Owner("labA", False))
    set_owner(store, "cell", PRIVATE_LABELLED, Owner("labA", False))
    for cell in ("X1", "X2"):
        GENES[cell] = store.query("SELECT min(gene_name) FROM cell_genes WHERE cell_line = ?", [cell])[0][0]
    tokens = {
        "ana": add_user(store, "ana", "labA", "writer"),
        "amy": add_user(store, "amy", "labA", "reader"),
        "bob": add_user(store, "bob", "labB", "writer"),
    }
    who = {
        "admin": Who("admin", {"Authorization": f"Bearer {TOKEN}"}, True),
        "ana": Who("ana", {"Authorization": f"Bearer {tokens['ana']}"}, True),
        "amy": Who("amy", {"Authorization": f"Bearer {tokens['amy']}"}, True),
        "bob": Who("bob", {"Authorization": f"Bearer {tokens['bob']}"}, False),
        "anonymous": Who("anonymous", {}, False),
        "forged": Who("forged", {"Authorization": "Bearer " + "x" * 43}, False),
    }
    store.close()
    return trained_copy, who


# A request: (method, path, keyword arguments for httpx), built for a target name.
Request = tuple[str, str, dict[str, Any]]
CELL_ROUTES: dict[tuple[str, str], Callable[[str], Request]] = {
    ("GET", "/cell-lines/{name}"): lambda c: ("GET", f"/cell-lines/{c}", {}),
    ("GET", "/cell-lines/{name}/qc"): lambda c: ("GET", f"/cell-lines/{c}/qc", {}),
    ("GET", "/cell-lines/{name}/tracks/{assay}/{kind}"): lambda c: ("GET", f"/cell-lines/{c}/tracks/DNase/bed", {}),
    ("GET", "/predict/{cell_line}"): lambda c: ("GET", f"/predict/{c}", {"params": {"genes": gene(c)}}),
    ("GET", "/explain/{gene}"): lambda c: ("GET", f"/explain/{gene(c)}", {"params": {"cell_line": c, "top": 3}}),
    ("GET", "/submission/{cell_line}"): lambda c: ("GET", f"/submission/{c}", {}),
    ("GET", "/ui/cells/{cell}"): lambda c: ("GET", f"/ui/cells/{c}", {}),
    ("GET", "/ui/cells/{cell}/genes/{gene}"): lambda c: ("GET", f"/ui/cells/{c}/genes/{gene(c)}", {}),
    ("GET", "/ui/cells/{cell}/genes/{gene}/windows.bed"): lambda c: (
        "GET",
        f"/ui/cells/{c}/genes/{gene(c)}/windows.bed",
        {},
    ),
}
PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/favicon.ico"),
    ("GET", "/docs-redoc.js"),
    ("GET", "/redoc"),
    ("GET", "/ui/upload"),
    ("GET", "/ui/genome/hg38.chrom.sizes"),
}
LISTINGS = {("GET", "/cell-lines"), ("GET", "/models"), ("GET", "/ui"), ("GET", "/ui/models")}
# routes with cases of their own below
OWN_CASES = {
    ("POST", "/cell-lines"),
    ("DELETE", "/cell-lines/{name}"),
    ("POST", "/cell-lines/{name}/publish"),
    ("GET", "/jobs/{job_id}"),
    ("POST", "/models"),
    ("GET", "/models/{model_id}"),
    ("GET", "/models/{model_id}/report"),
    ("POST", "/models/{model_id}/activate"),
    ("POST", "/models/{model_id}/share"),
    ("GET", "/audit"),
}


def _send(c: httpx.Client, who: Who, req: Request) -> httpx.Response:
    method, path, kw = req
    return c.request(method, path, headers={**who.headers, **kw.pop("headers", {})}, **kw)


def _leaks(r: httpx.Response) -> list[str]:
    return [n for n in (SECRET, f"'{PRIVATE_LABELLED}'", f'"{PRIVATE_LABELLED}"') if n.encode() in r.content]


def _same_refusal(a: httpx.Response, b: httpx.Response, name_a: str, name_b: str) -> None:
    assert a.status_code == b.status_code == 404, (a.status_code, a.text, b.status_code, b.text)
    assert a.content.replace(name_a.encode(), b"<name>") == b.content.replace(name_b.encode(), b"<name>")


def _upload(c: httpx.Client, who: Who, demo_dir: Path, name: str, **data: str) -> httpx.Response:
    files = {**cell_files(demo_dir), "genes": demo_dir / "CAGE-train" / "X3_test_info.tsv"}
    with ExitStack() as stack:
        parts = [(k, (p.name, stack.enter_context(open(p, "rb")))) for k, p in files.items()]
        return c.post("/cell-lines", data={"name": name, **data}, files=parts, headers=who.headers)


def test_every_route_for_every_principal(
    lab_store: tuple[Path, dict[str, Who]], demo_dir: Path, tmp_path: Path
) -> None:
    # long by design: one server, every route in turn, the destructive ones last
    home, who = lab_store
    table = route_policies(create_app(Settings(home=tmp_path / "routes")))
    uncovered = set(table) - set(CELL_ROUTES) - PUBLIC_ROUTES - LISTINGS - OWN_CASES
    assert not uncovered, f"routes without a permission case: {sorted(uncovered)}"
    outsiders = [who["bob"], who["anonymous"]]
    with (
        running_server(home, tmp_path / "s.log", env={"EPIGEX_API_TOKEN": TOKEN}) as s,
        httpx.Client(base_url=s.url, timeout=120) as c,
    ):
        for w in who.values():  # a forged token is refused everywhere, even on public routes
            if w.name == "forged":
                for method, path in sorted(PUBLIC_ROUTES | LISTINGS):
                    assert _send(c, w, (method, path, {})).status_code == 401, path
        for method, path in sorted(PUBLIC_ROUTES):
            for w in who.values():
                if w.name != "forged":
                    r = _send(c, w, (method, path, {}))
                    assert r.status_code == 200, (w.name, path, r.text)
                    assert not _leaks(r), (w.name, path)
        for method, path in sorted(LISTINGS):
            for w in who.values():
                if w.name == "forged":
                    continue
                r = _send(c, w, (method, path, {}))
                assert r.status_code == 200, (w.name, path, r.text)
                if w.lab_a and path in ("/cell-lines", "/ui"):
                    assert SECRET.encode() in r.content, (w.name, path)
                if not w.lab_a:
                    assert not _leaks(r), (w.name, path, _leaks(r))

        # reads of a cell: lab A's private cells answer outsiders exactly as a cell that does not exist
        for key, build in CELL_ROUTES.items():
            for w in who.values():
                if w.name == "forged":
                    assert _send(c, w, build(SECRET)).status_code == 401
                    continue
                missing = _send(c, w, build(MISSING))
                for private in (SECRET, PRIVATE_LABELLED):
                    r = _send(c, w, build(private))
                    if w.lab_a:  # served, or refused for what the cell is (X2 has no test genes to submit)
                        assert r.status_code == 200 or (r.status_code == 409 and "may not" not in r.text), (
                            w.name,
                            key,
                            private,
                            r.status_code,
                            r.text[:300],
                        )
                    else:
                        _same_refusal(r, missing, private, MISSING)
                r = _send(c, w, build("X1"))  # public, but served by the active model, trained on lab A's X2
                if w.lab_a or key[1].startswith(("/cell-lines", "/ui/cells/{cell}")):
                    assert r.status_code == 200 or (r.status_code == 409 and "may not" not in r.text), (
                        w.name,
                        key,
                        r.status_code,
                        r.text[:300],
                    )
                else:
                    assert r.status_code == 409, (w.name, key, r.status_code, r.text[:300])
                    assert "trained on cell lines you may not read" in r.json()["detail"]
                if not w.lab_a:
                    assert not _leaks(r), (w.name, key, _leaks(r))

        model = c.get("/readyz").json()["model_id"]
        # a model: usable and shown to who may read its training cells
        for w in who.values():
            for path in (f"/models/{model}", f"/models/{model}/report"):
                r = _send(c, w, ("GET", path, {}))
                want = 401 if w.name == "forged" else 200 if w.lab_a else 404
                assert r.status_code == want, (w.name, path, r.status_code, r.text[:200])
                if want == 404:
                    _same_refusal(r, _send(c, w, ("GET", path.replace(model, "feedbeef"), {})), model, "feedbeef")

        # writes: anonymous 401, readers 403 (before the body), outsiders as for a missing cell
        for w in (who["anonymous"], who["forged"]):
            for req in (
                ("POST", "/cell-lines", {"data": {"name": "Z"}}),
                ("POST", "/models", {"json": {}}),
                ("DELETE", f"/cell-lines/{SECRET}", {}),
                ("POST", f"/cell-lines/{SECRET}/publish", {}),
                ("POST", f"/models/{model}/activate", {}),
                ("POST", f"/models/{model}/share", {}),
                ("GET", "/audit", {}),
            ):
                assert _send(c, w, req).status_code == 401, (w.name, req)
        for req in (
            ("POST", "/cell-lines", {"data": {"name": "Z"}}),
            ("POST", "/models", {"json": {}}),
            ("DELETE", f"/cell-lines/{SECRET}", {}),
            ("POST", f"/cell-lines/{SECRET}/publish", {}),
            ("POST", f"/models/{model}/activate", {}),
        ):
            r = _send(c, who["amy"], req)
            assert r.status_code == 403, (req, r.text)
            assert "reader" in r.json()["detail"]
        for w in (who["ana"], who["bob"], who["amy"]):  # admins only
            for req in (("POST", f"/models/{model}/activate", {}), ("POST", f"/models/{model}/share", {})):
                assert _send(c, w, req).status_code in (403, 404), (w.name, req)
            assert _send(c, w, ("GET", "/audit", {})).status_code == 403
        bob = who["bob"]
        for req_of in (
            lambda n: ("DELETE", f"/cell-lines/{n}", {}),
            lambda n: ("POST", f"/cell-lines/{n}/publish", {}),
            lambda n: ("POST", "/models", {"json": {"cells": [n], "profile": "quick"}}),
            lambda n: ("POST", "/models", {"json": {"for_cell": n}}),
        ):
            missing = _send(c, bob, req_of(MISSING))
            for private in (SECRET, PRIVATE_LABELLED):
                _same_refusal(_send(c, bob, req_of(private)), missing, private, MISSING)
        for w in (who["ana"], bob):  # a public cell of no project: admins only
            assert _send(c, w, ("DELETE", "/cell-lines/X1", {})).status_code == 403
        taken = _upload(c, bob, demo_dir, SECRET)
        assert taken.status_code == 409, taken.text
        assert taken.json()["detail"] == f"the name {SECRET!r} is not available; choose another name for this cell line"
        assert _send(c, who["ana"], ("POST", "/models", {"json": {"profile": "nope"}})).status_code == 422

        # a job: seen by its project and admins; to others, as a job that does not exist
        r = _upload(c, who["ana"], demo_dir, SECRET, replace="true")
        assert r.status_code == 202, r.text
        job = r.json()["job_id"]
        assert wait_job(c, job, headers=who["ana"].headers)["status"] == "succeeded"
        for w in who.values():
            r = _send(c, w, ("GET", f"/jobs/{job}", {}))
            want = 401 if w.name == "forged" else 200 if w.lab_a else 404
            assert r.status_code == want, (w.name, r.text)
            if want == 404:
                _same_refusal(r, _send(c, w, ("GET", "/jobs/0123456789abcdef", {})), job, "0123456789abcdef")

        # the admin shares the model: outsiders get predictions, never the names of its training cells
        assert _send(c, who["admin"], ("POST", f"/models/{model}/share", {})).status_code == 200
        for w in outsiders:
            r = _send(c, w, ("GET", "/predict/X1", {"params": {"genes": gene("X1")}}))
            assert r.status_code == 200, r.text
            assert not _leaks(r)
            listed = {m["id"]: m for m in _send(c, w, ("GET", "/models", {})).json()}
            assert listed[model]["cells"] == []
            assert listed[model]["shared"] is True
            assert _send(c, w, ("GET", f"/models/{model}", {})).status_code == 403
        assert _send(c, who["admin"], ("POST", f"/models/{model}/activate", {})).status_code == 200

        # publishing and deleting are the project's writers'
        assert _send(c, who["ana"], ("POST", f"/cell-lines/{SECRET}/publish", {})).status_code == 200
        assert _send(c, bob, ("GET", f"/cell-lines/{SECRET}", {})).status_code == 200
        assert _send(c, bob, ("DELETE", f"/cell-lines/{SECRET}", {})).status_code == 403
        assert _send(c, who["ana"], ("DELETE", f"/cell-lines/{SECRET}", {})).status_code == 204

        trail = _send(c, who["admin"], ("GET", "/audit", {"params": {"limit": 50}})).json()
        done = [(t["actor"], t["action"], t["target"]) for t in trail]
        for line in (
            ("ana", "delete", SECRET),
            ("ana", "publish", SECRET),
            ("admin", "activate", model),
            ("admin", "share", model),
            ("ana", "upload", SECRET),
        ):
            assert line in done, (line, done)
        assert all(t["actor"] != "bob" for t in trail)  # nothing bob tried was done
        metrics = c.get("/metrics").text
        failures = [ln for ln in metrics.splitlines() if ln.startswith("epigex_auth_failures_total{")]
        assert any('reason="unknown token"' in ln and float(ln.rsplit(" ", 1)[1]) > 0 for ln in failures), failures
