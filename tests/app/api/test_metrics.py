"""Request metrics and access logs: counts by route template and status, latency, one JSON line per request."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from epigex.app.api.metrics import Metrics, MetricsMiddleware, route_label


def make(metrics: Metrics) -> TestClient:
    app = FastAPI()

    @app.get("/items/{item_id}")
    def item(item_id: int) -> int:
        return item_id

    @app.get("/teapot")
    def teapot() -> None:
        raise HTTPException(418, "short and stout")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("bug")

    return TestClient(MetricsMiddleware(app, metrics), raise_server_exceptions=False)


def count(m: Metrics, method: str, route: str, status: str) -> float | None:
    return m.registry.get_sample_value("epigex_requests_total", {"method": method, "route": route, "status": status})


def test_route_label() -> None:
    assert route_label({"type": "http"}) == "other"
    assert route_label({"route": SimpleNamespace(path="/predict/{cell_line}")}) == "/predict/{cell_line}"
    assert route_label({"route": SimpleNamespace(path=None)}) == "other"
    assert route_label({"route": object()}) == "other"


def test_requests_are_counted_by_route_template_and_status() -> None:
    m = Metrics()
    with make(m) as c:  # the lifespan scope passes through uncounted
        assert c.get("/items/1").status_code == 200
        assert c.get("/items/2").status_code == 200
        assert c.get("/items/x").status_code == 422
        assert c.get("/teapot").status_code == 418
        assert c.get("/nowhere").status_code == 404
        assert c.post("/items/3").status_code == 405
        assert c.get("/boom").status_code == 500
    assert count(m, "GET", "/items/{item_id}", "200") == 2.0
    assert count(m, "GET", "/items/{item_id}", "422") == 1.0
    assert count(m, "GET", "/teapot", "418") == 1.0
    assert count(m, "GET", "other", "404") == 1.0
    assert count(m, "POST", "/items/{item_id}", "405") == 1.0  # the path matched, the method did not
    assert count(m, "GET", "/boom", "500") == 1.0
    assert count(m, "GET", "/items/1", "200") is None  # never the raw path: the label set stays bounded
    total = sum(
        s.value
        for f in m.registry.collect()
        if f.name == "epigex_requests"
        for s in f.samples
        if s.name == "epigex_requests_total"
    )
    assert total == 7.0
    latency = m.registry.get_sample_value("epigex_request_seconds_count", {"route": "/items/{item_id}"})
    assert latency == 4.0
    seconds = m.registry.get_sample_value("epigex_request_seconds_sum", {"route": "/items/{item_id}"})
    assert seconds is not None
    assert 0.0 < seconds < 5.0


def test_each_app_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()
    with make(a) as c:
        c.get("/items/1")
    assert count(a, "GET", "/items/{item_id}", "200") == 1.0
    assert count(b, "GET", "/items/{item_id}", "200") is None
    b.jobs.labels("running").set(3)
    assert b.registry.get_sample_value("epigex_jobs", {"state": "running"}) == 3.0
    assert a.registry.get_sample_value("epigex_jobs", {"state": "running"}) is None


def test_one_json_access_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    m = Metrics()
    with caplog.at_level("INFO", logger="epigex.access"), make(m) as c:
        c.get("/items/5?x=1")
        c.get("/teapot")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "epigex.access"]
    assert [(x["method"], x["path"], x["status"]) for x in lines] == [("GET", "/items/5", 200), ("GET", "/teapot", 418)]
    assert all(isinstance(x["ms"], float) and x["ms"] >= 0 for x in lines)


def test_no_access_line_when_info_is_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="epigex.access"), make(Metrics()) as c:
        c.get("/items/5")
    assert [r for r in caplog.records if r.name == "epigex.access"] == []
