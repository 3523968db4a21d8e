"""The FastAPI application: built by :func:`create_app` from the settings, served by ``epigex serve``."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from epigex.app.api.docs import install_docs
from epigex.app.api.errors import install_error_handlers
from epigex.app.api.guard import HttpGuard, describe, write_mode
from epigex.app.api.metrics import Metrics, MetricsMiddleware
from epigex.app.api.routes import audit, bench, cell_lines, health, jobs, models, predict
from epigex.app.api.streams import BodyStreams
from epigex.app.services.access import Access
from epigex.app.services.jobs import JobRunner
from epigex.app.services.seed import maybe_seed
from epigex.app.services.serving import Serving
from epigex.app.settings import Settings, get_settings
from epigex.app.web import pages
from epigex.store.access import has_users
from epigex.store.catalog import Store
from epigex.store.instances import Instance, live_instances, stale_upload_folders
from epigex.store.jobs import settle_interrupted

log = logging.getLogger("epigex.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app over the store at ``settings.home``."""
    # long by design: the app's wiring: lifespan, middleware order, routers
    settings = settings or get_settings()
    mode = write_mode(settings)  # refuses an example token before anything starts

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.home)
        me = Instance(store)
        # Only what belongs to no running server is cleaned: another server on this store keeps its uploads and jobs.
        settled = settle_interrupted(store, live_instances(store) | {me.id})
        if settled["failed"] or settled["succeeded"]:
            log.warning(
                "settled jobs left unfinished by a stopped server: %d failed, %d had committed and succeeded",
                settled["failed"],
                settled["succeeded"],
            )
        for folder in stale_upload_folders(store, me.id):
            shutil.rmtree(folder, ignore_errors=True)
        app.state.store = store
        app.state.instance = me
        app.state.uploads = store.home / "uploads" / me.id
        app.state.runner = JobRunner(
            store,
            settings.job_workers,
            timeout_s=settings.job_timeout_s,
            owner=me.id,
            max_queued=settings.max_queued_jobs,
            max_per_user=settings.max_jobs_per_user,
        )
        app.state.access = Access(store)
        writes = mode != "read-only" or (has_users(store) and not settings.read_only)
        app.state.serving = Serving(store, app.state.runner, writes=writes)
        log.info("epigex %s on store %s: %s", app.version, store.home, describe(mode, settings))
        if has_users(store):
            log.info("the store has users: each request acts for its token's user; no token reads public cell lines")
        maybe_seed(settings, store, app.state.runner, app.state.serving)
        try:
            yield
        finally:
            app.state.runner.shutdown(wait=False)
            shutil.rmtree(app.state.uploads, ignore_errors=True)
            me.close()

    app = FastAPI(
        title="epigex",
        version="0.1.0",
        summary="Predict CAGE expression of an unmeasured cell line from its epigenome.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)  # Swagger UI and ReDoc from the package, never a CDN
    metrics = Metrics()
    app.state.metrics = metrics
    app.state.settings = settings
    routers = [r.router for r in (health, cell_lines, jobs, models, predict, audit)] + [pages.router]
    if settings.bench_endpoints:
        routers.append(bench.router)
    routes = [*app.router.routes, *(route for r in routers for route in r.routes)]
    app.add_middleware(HttpGuard, mode=mode, token=settings.api_token, routes=routes, read_only=settings.read_only)
    app.add_middleware(BodyStreams, limit=min(settings.max_body_streams, max(1, settings.max_connections // 2)))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    install_error_handlers(app)
    for router in routers:
        app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=str(pages.STATIC)), name="ui-static")
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory epigex.app.api.app:app_factory``."""
    return create_app()
