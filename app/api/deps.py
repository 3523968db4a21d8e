"""Dependencies of the routes, as ``Annotated`` aliases."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, Request

from app.services.jobs import JobRunner
from app.services.serving import Serving
from app.settings import Settings
from store.catalog import Store
from store.errors import AuthError


def _store(request: Request) -> Store:
    return request.app.state.store


def _runner(request: Request) -> JobRunner:
    return request.app.state.runner


def _serving(request: Request) -> Serving:
    return request.app.state.serving


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def require_token(
    settings: Annotated[Settings, Depends(_settings)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """Writes need ``Authorization: Bearer $EPIGEX_API_TOKEN`` when that variable is set."""
    token = settings.api_token
    if not token:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), token.encode()):
        raise AuthError("this request writes to the store: send 'Authorization: Bearer <EPIGEX_API_TOKEN>'")


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[Store, Depends(_store)]
RunnerDep = Annotated[JobRunner, Depends(_runner)]
ServingDep = Annotated[Serving, Depends(_serving)]
WriteAccess = Annotated[None, Depends(require_token)]
