"""The FastAPI application: built by :func:`create_app` from the settings, served by ``epigex serve``."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.errors import install_error_handlers
from app.api.metrics import Metrics, MetricsMiddleware
from app.api.routes import bench, cell_lines, health, jobs, models, predict
from app.services.jobs import JobRunner
from app.services.seed import maybe_seed
from app.services.serving import Serving
from app.settings import Settings, get_settings
from store.catalog import Store
from store.jobs import fail_interrupted

log = logging.getLogger("epigex.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app over the store at ``settings.home``."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.home)
        n = fail_interrupted(store)
        if n:
            log.warning("marked %d job(s) left unfinished by a previous server as failed", n)
        shutil.rmtree(store.home / "uploads", ignore_errors=True)
        app.state.store = store
        app.state.runner = JobRunner(store, settings.job_workers, timeout_s=settings.job_timeout_s)
        app.state.serving = Serving(store)
        maybe_seed(settings, store, app.state.runner, app.state.serving)
        try:
            yield
        finally:
            app.state.runner.shutdown(wait=False)

    app = FastAPI(
        title="epigex",
        version="0.1.0",
        summary="Predict CAGE expression of an unmeasured cell line from its epigenome.",
        lifespan=lifespan,
    )
    metrics = Metrics()
    app.state.metrics = metrics
    app.state.settings = settings
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    install_error_handlers(app)
    for r in (health, cell_lines, jobs, models, predict):
        app.include_router(r.router)
    if settings.bench_endpoints:
        app.include_router(bench.router)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory app.api.app:app_factory``."""
    return create_app()
