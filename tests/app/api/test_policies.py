"""Every route declares exactly one access policy (a route added without one fails here), and a route's policy is
the one its kind of resource needs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount, Route

from epigex.app.api.app import create_app
from epigex.app.settings import Settings

# Routes that are not endpoints of ours: the framework's description of the API and static assets, with no data.
NOT_OURS = {"/openapi.json": "the OpenAPI document", "/ui/static": "the UI's scripts and styles"}

EXPECTED = {
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("GET", "/metrics"): "public",
    ("POST", "/cell-lines"): "write",
    ("GET", "/cell-lines"): "listing",
    ("GET", "/cell-lines/{name}"): "read cell",
    ("GET", "/cell-lines/{name}/qc"): "read cell",
    ("DELETE", "/cell-lines/{name}"): "write cell",
    ("POST", "/cell-lines/{name}/publish"): "write cell",
    ("GET", "/cell-lines/{name}/tracks/{assay}/{kind}"): "read cell",
    ("GET", "/jobs/{job_id}"): "read job",
    ("POST", "/models"): "write",
    ("GET", "/models"): "listing",
    ("GET", "/models/{model_id}"): "read model",
    ("GET", "/models/{model_id}/report"): "read model",
    ("POST", "/models/{model_id}/activate"): "admin",
    ("POST", "/models/{model_id}/share"): "admin",
    ("GET", "/predict/{cell_line}"): "read cell",
    ("GET", "/explain/{gene}"): "read cell",
    ("GET", "/submission/{cell_line}"): "read cell",
    ("GET", "/audit"): "admin",
    ("GET", "/ui"): "listing",
    ("GET", "/ui/upload"): "public",
    ("GET", "/ui/cells/{cell}"): "read cell",
    ("GET", "/ui/cells/{cell}/genes/{gene}"): "read cell",
    ("GET", "/ui/cells/{cell}/genes/{gene}/windows.bed"): "read cell",
    ("GET", "/ui/models"): "listing",
    ("GET", "/ui/genome/hg38.chrom.sizes"): "public",
    ("GET", "/docs"): "public",
    ("GET", "/docs/oauth2-redirect"): "public",
    ("GET", "/favicon.ico"): "public",
    ("GET", "/docs-redoc.js"): "public",
    ("GET", "/redoc"): "public",
    ("GET", "/bench/floor"): "public",
}


def _policies(dependant: Dependant) -> list[str]:
    found = []
    for dep in dependant.dependencies:
        name = getattr(dep.call, "__policy__", None)
        if name is not None:
            found.append(name)
        found += _policies(dep)
    return found


def endpoints(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, with the routes of included routers in place of their include."""
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI >= 0.165 keeps an included router whole
        if inner is not None:
            yield from endpoints(inner.routes)
        else:
            yield route


def route_policies(app: FastAPI) -> dict[tuple[str, str], list[str]]:
    """(method, path) -> the policies its dependencies declare; raises for a route that is neither ours nor exempt."""
    out: dict[tuple[str, str], list[str]] = {}
    for route in endpoints(app.routes):
        if isinstance(route, APIRoute):
            for method in route.methods:
                out[(method, route.path)] = _policies(route.dependant)
        elif (isinstance(route, Mount | Route) and route.path in NOT_OURS) or (
            isinstance(route, Mount) and route.path.startswith("/docs-static")
        ):
            continue
        else:
            raise AssertionError(f"route {route!r} is not an endpoint with a policy, nor exempt")
    return out


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    home: Path = tmp_path_factory.mktemp("policies") / "home"
    return create_app(Settings(home=home, bench_endpoints=True))


def test_every_route_has_exactly_one_policy_and_the_right_one(app: FastAPI) -> None:
    found = route_policies(app)
    missing = sorted(k for k, v in found.items() if len(v) != 1)
    assert not missing, f"routes without exactly one policy: {missing}"
    assert {k: v[0] for k, v in found.items()} == EXPECTED


def test_a_route_added_without_a_policy_fails_the_check(app: FastAPI) -> None:
    extra = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    extra.router.routes.extend(app.routes)

    @extra.get("/cell-lines/{name}/secret")
    def secret(name: str) -> str:
        return name

    found = route_policies(extra)
    assert found[("GET", "/cell-lines/{name}/secret")] == []
