"""The guard with users (an app over an empty store, in process): who a request acts for, before any body is read;
redaction of other projects' names; the daily upload quota."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from epigex.app.api.app import create_app
from epigex.app.services.access import Access, Principal
from epigex.app.settings import Settings
from epigex.store.access import Owner, add_user, record, set_owner
from epigex.store.catalog import Store
from epigex.store.errors import QuotaError
from tests.app.api.conftest import TOKEN


@pytest.fixture
def users(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    home = tmp_path / "home"
    store = Store(home)
    tokens = {"ana": add_user(store, "ana", "labA", "writer"), "amy": add_user(store, "amy", "labA", "reader")}
    store.close()
    with TestClient(create_app(Settings(home=home, api_token=TOKEN))) as c:
        yield c, tokens


def _failures(c: TestClient, reason: str) -> float:
    for line in c.get("/metrics").text.splitlines():
        if line.startswith(f'epigex_auth_failures_total{{reason="{reason}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_an_unknown_token_is_refused_everywhere_and_counted(users: tuple[TestClient, dict[str, str]]) -> None:
    c, _ = users
    for path in ("/healthz", "/cell-lines", "/ui"):
        r = c.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "unknown or revoked token" in r.json()["detail"]
    assert c.get("/healthz", headers={"Authorization": "Basic YTpi"}).status_code == 401
    assert _failures(c, "unknown token") == 4
    assert c.get("/cell-lines").json() == []  # anonymous reads what is public


def test_writes_need_a_writer_before_the_body(users: tuple[TestClient, dict[str, str]]) -> None:
    c, tokens = users
    body = {"data": {"name": "Z"}, "files": {"DNase_bed": ("x.bed", b"chr1\t1\t2\n")}}
    r = c.post("/cell-lines", **body)  # type: ignore[arg-type]
    assert r.status_code == 401
    r = c.post("/cell-lines", headers={"Authorization": f"Bearer {tokens['amy']}"}, **body)  # type: ignore[arg-type]
    assert r.status_code == 403
    assert r.json()["detail"] == "user amy is a reader: writes need a writer's or an admin's token"
    assert (_failures(c, "missing"), _failures(c, "role")) == (1, 1)
    # the UI's cookie names the user on page loads, never on a write
    c.cookies.set("epigex_token", tokens["ana"])
    assert c.get("/audit").status_code == 403  # ana, known by the cookie, is no admin
    assert c.post("/models", json={}).status_code == 401
    c.cookies.clear()
    assert c.get("/audit", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_other_projects_names_are_redacted_as_words(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    add_user(store, "ana", "labA")
    with store.write() as con:
        for name in ("X1", "B7", "B7x"):
            con.execute("INSERT INTO cell_lines (name, labelled) VALUES (?, true)", [name])
    set_owner(store, "cell", "B7", Owner("labB", False))
    access = Access(store)
    ana = Principal("ana", "labA", "writer")
    qc = {"references": ["X1", "B7"], "reasons": ["closer to B7 than to X1", "B7x is public", "aB7"]}
    assert access.redact(ana, qc) == {
        "references": ["X1", "(a cell line of another project)"],
        "reasons": ["closer to (a cell line of another project) than to X1", "B7x is public", "aB7"],
    }
    assert access.redact(Principal("bob", "labB", "writer"), qc) == qc


def test_the_daily_upload_quota(tmp_path: Path) -> None:
    from epigex.app.services.cell_lines import check_upload_quota

    store = Store(tmp_path / "home")
    add_user(store, "ana", "labA")
    access = Access(store)
    ana = Principal("ana", "labA", "writer")
    settings = Settings(home=tmp_path / "home", upload_mb_per_day=1)
    check_upload_quota(store, access, ana, 2**20, settings)  # exactly the quota: accepted
    record(store, "ana", "labA", "upload", "C1", nbytes=2**20 - 10)
    check_upload_quota(store, access, ana, 10, settings)
    with pytest.raises(QuotaError, match="ana has uploaded 1 MB today") as err:
        check_upload_quota(store, access, ana, 11, settings)
    assert 0 < err.value.retry_after <= 86_400
    check_upload_quota(store, access, Principal("bob", "labB", "writer"), 2**20, settings)  # per user
