"""First-start seeding of an empty store: the demo dataset, ingested, and a quick model (``EPIGEX_SEED_DEMO``)."""

from __future__ import annotations

from typing import Any

from epigex.app.services.demo import build_demo_store
from epigex.app.services.jobs import JobRunner, Report
from epigex.app.services.serving import Serving
from epigex.app.settings import Settings
from epigex.store.catalog import Store
from epigex.store.cells import has_cells


def maybe_seed(settings: Settings, store: Store, runner: JobRunner, serving: Serving) -> None:
    """Queue a seeding job when asked to and the store has no cell line yet."""
    if not settings.seed_demo or has_cells(store):
        return
    data = settings.demo_dir or store.home / "demo" / "data"

    def work(report: Report) -> dict[str, Any]:
        report(0.0, "preparing the demo dataset")
        _, record = build_demo_store(
            store,
            settings,
            data,
            cells=["X1", "X2"],
            status=lambda message: report(0.05, message),
            ingest_progress=lambda label, f: report(0.3, f"ingesting {label}"),
            train_progress=lambda label, f: report(0.6 + 0.4 * f, f"training: {label}"),
        )
        serving.forget_active()
        return {"model_id": record.id, "demo_data": str(data)}

    runner.submit("seed", {"demo_dir": str(data)}, work, key="seed")
