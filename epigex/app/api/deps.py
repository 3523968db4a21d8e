"""Dependencies of the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from epigex.app.api.guard import authorization, token_ok
from epigex.app.services.jobs import JobRunner
from epigex.app.services.serving import Serving
from epigex.app.settings import Settings
from epigex.store.catalog import Store
from epigex.store.errors import AuthError


def _store(request: Request) -> Store:
    return request.app.state.store


def _runner(request: Request) -> JobRunner:
    return request.app.state.runner


def _serving(request: Request) -> Serving:
    return request.app.state.serving


def _settings(request: Request) -> Settings:
    return request.app.state.settings


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
