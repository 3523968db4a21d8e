"""Every error as JSON ``{"detail": ...}`` with its class's status, on a small app with one route per case."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel

from epigex.app.api.errors import install_error_handlers
from epigex.app.settings import Settings
from epigex.store.errors import AuthError, BusyError, InputError, NotFoundError, ResourceLimitError


class Item(BaseModel):
    name: str
    count: int


def make_app(home: Path | None) -> FastAPI:
    app = FastAPI()
    if home is not None:
        app.state.settings = Settings(home=home)
    install_error_handlers(app)
    where = str(home) if home is not None else "/srv/store"

    @app.get("/input")
    def input_error() -> None:
        raise InputError(f"{where}/uploads/x.bw: the file is truncated; {where} again")

    @app.get("/limit")
    def limit_error() -> None:
        raise ResourceLimitError("too big")

    @app.get("/missing")
    def missing() -> None:
        raise NotFoundError("no cell line 'Z9'")

    @app.get("/auth")
    def auth() -> None:
        raise AuthError("a bearer token is needed")

    @app.get("/busy")
    def busy() -> None:
        raise BusyError("too much work queued")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(f"secret state at {where}")

    @app.get("/gone")
    def gone() -> None:
        raise HTTPException(410, detail={"why": "retired"}, headers={"X-Why": "retired"})

    @app.get("/query")
    def query(n: int) -> int:
        return n

    @app.post("/items")
    def items(item: Item) -> int:
        return item.count

    return app


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def client(home: Path) -> TestClient:
    return TestClient(make_app(home), raise_server_exceptions=False)


def test_project_errors_keep_their_status_and_hide_the_store_path(client: TestClient) -> None:
    r = client.get("/input")
    assert r.status_code == 422
    assert r.json() == {"detail": "<store>/uploads/x.bw: the file is truncated; <store> again"}
    assert client.get("/limit").status_code == 413
    r = client.get("/missing")
    assert (r.status_code, r.json()) == (404, {"detail": "no cell line 'Z9'"})


def test_without_settings_the_text_is_unchanged() -> None:
    c = TestClient(make_app(None))
    assert c.get("/input").json() == {"detail": "/srv/store/uploads/x.bw: the file is truncated; /srv/store again"}


def test_auth_and_busy_errors_carry_their_headers(client: TestClient) -> None:
    r = client.get("/auth")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="epigex"'
    assert "retry-after" not in r.headers
    r = client.get("/busy")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "30"
    assert "www-authenticate" not in r.headers


def test_unhandled_error_is_a_500_without_its_message(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR", logger="epigex.api"):
        r = client.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error (RuntimeError); see the server log"}
    assert "unhandled error on GET /boom" in caplog.text


def test_unknown_endpoint_names_itself(client: TestClient) -> None:
    r = client.get("/nope")
    assert (r.status_code, r.json()) == (404, {"detail": "no such endpoint: GET /nope (see /docs)"})
    r = client.post("/input")
    assert (r.status_code, r.json()) == (405, {"detail": "Method Not Allowed"})


def test_http_exception_detail_becomes_text_and_keeps_headers(client: TestClient) -> None:
    r = client.get("/gone")
    assert (r.status_code, r.json()) == (410, {"detail": "{'why': 'retired'}"})
    assert r.headers["x-why"] == "retired"


def test_invalid_values_are_422_and_name_the_field(client: TestClient) -> None:
    r = client.post("/items", json={"name": "a", "count": "many"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("bad request: count: Input should be a valid integer")
    r = client.post("/items", json={"count": 1})
    assert r.json() == {"detail": "bad request: name: Field required"}
    r = client.get("/query")
    assert (r.status_code, r.json()) == (422, {"detail": "bad request: n: Field required"})


def test_two_invalid_fields_are_joined(client: TestClient) -> None:
    r = client.post("/items", json={})
    assert r.json() == {"detail": "bad request: name: Field required; count: Field required"}


def test_malformed_json_is_400(client: TestClient) -> None:
    r = client.post("/items", content=b'{"name": "a",', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("bad request: ")
    assert "JSON decode error" in r.json()["detail"]
