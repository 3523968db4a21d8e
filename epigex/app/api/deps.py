"""Dependencies of the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from epigex.app.api.guard import authorization, token_ok
from epigex.app.services.access import ANYONE, Access, ForbiddenError, Principal
from epigex.app.services.jobs import JobRunner
from epigex.app.services.serving import Serving
from epigex.app.settings import Settings
from epigex.store.catalog import Store
from epigex.store.errors import AuthError, NotFoundError


def _store(request: Request) -> Store:
    return request.app.state.store


def _runner(request: Request) -> JobRunner:
    return request.app.state.runner


def _serving(request: Request) -> Serving:
    return request.app.state.serving


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _access(request: Request) -> Access:
    return request.app.state.access


def _principal(request: Request) -> Principal:
    return getattr(request.state, "principal", ANYONE)


_bearer = HTTPBearer(auto_error=False, description="EPIGEX_API_TOKEN: writes need it when the server has one")


def require_token(
    request: Request,
    settings: Annotated[Settings, Depends(_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Writes need ``Authorization: Bearer $EPIGEX_API_TOKEN`` when that variable is set.

    :class:`app.api.guard.HttpGuard` already checked it before the body was read; this repeats the check where
    the route is declared, which also puts the bearer scheme (the Authorize button) into the OpenAPI document.
    """
    if getattr(request.state, "principal", ANYONE) is not ANYONE:
        return  # the guard named a principal that may write (the admin's token, or a user's in users mode)
    token = settings.api_token
    if not token:
        return
    del credentials  # declared for the OpenAPI document; the one header is read as the guard reads it
    if not token_ok(authorization(request.scope), token):
        raise AuthError("this request writes to the store: send 'Authorization: Bearer <EPIGEX_API_TOKEN>'")


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[Store, Depends(_store)]
RunnerDep = Annotated[JobRunner, Depends(_runner)]
ServingDep = Annotated[Serving, Depends(_serving)]
WriteAccess = Annotated[None, Depends(require_token)]
AccessDep = Annotated[Access, Depends(_access)]
PrincipalDep = Annotated[Principal, Depends(_principal)]

# Policies: every route declares exactly one (tests/app/api/test_policies.py fails on a route without one).
F = TypeVar("F", bound=Callable[..., Any])


def policy(name: str) -> Callable[[F], F]:
    """Mark a dependency as a route's access policy, under ``name``."""

    def mark(fn: F) -> F:
        fn.__policy__ = name  # type: ignore[attr-defined]
        return fn

    return mark


@policy("public")
def public() -> None:
    """Anyone: liveness, readiness, metrics, the docs, the UI's static pages; nothing about any cell line."""


@policy("listing")
def listing() -> None:
    """Anyone; the route itself shows each principal only what it may read."""


@policy("read cell")
def read_cell(name: str, access: AccessDep, p: PrincipalDep) -> None:
    """The cell line in the path must be readable (404, as for an unknown one, otherwise)."""
    access.read_cell(p, name)


@policy("read cell")
def read_cell_line(cell_line: str, access: AccessDep, p: PrincipalDep) -> None:
    """The cell line in the path (``{cell_line}``) must be readable."""
    access.read_cell(p, cell_line)


@policy("read cell")
def read_cell_query(
    cell_line: Annotated[str, Query(description="cell line")], access: AccessDep, p: PrincipalDep
) -> None:
    """The cell line in the query must be readable."""
    access.read_cell(p, cell_line)


@policy("read cell")
def read_ui_cell(cell: str, access: AccessDep, p: PrincipalDep) -> None:
    """The UI page's cell line must be readable."""
    access.read_cell(p, cell)


@policy("write cell")
def write_cell(name: str, access: AccessDep, p: PrincipalDep, _: Annotated[None, Depends(require_token)]) -> None:
    """The cell line in the path must be the principal's project's (or the principal an admin)."""
    access.write_cell(p, name)


@policy("write")
def writer(_: Annotated[None, Depends(require_token)]) -> None:
    """A writer (the guard refused anonymous and readers before the body); the route checks what it touches."""


@policy("admin")
def admin(p: PrincipalDep, settings: SettingsDep, _: Annotated[None, Depends(require_token)]) -> None:
    """Admins only: with users, the admin role or ``EPIGEX_API_TOKEN``; without, the token when there is one."""
    if p.role == "anonymous" or (p is ANYONE and settings.api_token):
        raise AuthError("this request is for the admin: send 'Authorization: Bearer <EPIGEX_API_TOKEN>'")
    if not p.admin:
        raise ForbiddenError(f"{p.name} may not do this: it changes what every project reads (admins only)")


@policy("read model")
def read_model(model_id: str, access: AccessDep, p: PrincipalDep) -> None:
    """The model must be usable, and its training cells readable (its details name them)."""
    access.see_training(p, model_id)


@policy("read job")
def read_job(job_id: str, runner: RunnerDep, access: AccessDep, p: PrincipalDep) -> None:
    """The job must be the principal's project's (404 otherwise, as for an unknown job)."""
    job = runner.get(job_id)
    if access.view().users_mode and not access.view().may_see_job(p, job.project, job.actor):
        raise NotFoundError(f"unknown job {job_id!r}")


Public = Depends(public)
Listing = Depends(listing)
ReadCell = Depends(read_cell)
ReadCellLine = Depends(read_cell_line)
ReadCellQuery = Depends(read_cell_query)
ReadUiCell = Depends(read_ui_cell)
WriteCell = Depends(write_cell)
Writer = Depends(writer)
Admin = Depends(admin)
ReadModel = Depends(read_model)
ReadJob = Depends(read_job)
