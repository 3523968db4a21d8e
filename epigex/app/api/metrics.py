"""Prometheus metrics and structured request logs, as one pure ASGI middleware (no per-request task overhead)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access = logging.getLogger("epigex.access")


def route_label(scope: Scope) -> str:
    """A bounded label for a request: the matched route's path template (``/predict/{cell_line}``), or ``other``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "other"


class Metrics:
    """The service's metrics in a registry of its own (one per app, so tests can make many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "epigex_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "epigex_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.jobs = Gauge("epigex_jobs", "jobs by state", ["state"], registry=self.registry)
        self.auth_failures = Counter(
            "epigex_auth_failures_total",
            "requests refused for their credentials (reason: missing, unknown token, role)",
            ["reason"],
            registry=self.registry,
        )


class MetricsMiddleware:
    """Count and time every HTTP request; log one JSON line per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            dt = time.perf_counter() - t0
            route = route_label(scope)
            self.metrics.requests.labels(scope["method"], route, str(status["code"])).inc()
            self.metrics.latency.labels(route).observe(dt)
            if access.isEnabledFor(logging.INFO):
                record: dict[str, Any] = {
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status["code"],
                    "ms": round(dt * 1000, 2),
                }
                access.info(json.dumps(record))
