"""First-start seeding of an empty store: the demo dataset, ingested, and a quick model (``EPIGEX_SEED_DEMO``)."""

from __future__ import annotations

from typing import Any

from app.services.jobs import JobRunner, Report
from app.services.serving import Serving
from app.settings import Settings
from store.catalog import Store
from store.cells import has_cells


def maybe_seed(settings: Settings, store: Store, runner: JobRunner, serving: Serving) -> None:
    """Queue a seeding job when asked to and the store has no cell line yet."""
    if not settings.seed_demo or has_cells(store):
        return
    data = settings.demo_dir or store.home / "demo" / "data"

    def work(report: Report) -> dict[str, Any]:
        from demo.dataset import write_demo
        from ingest.pipeline import ingest_dataset
        from models.pipeline import train_from_store

        if not (data / "CAGE-train").is_dir():
            report(0.0, "generating the demo dataset")
            write_demo(data, seed=0, workers=settings.threads)
        report(0.3, "ingesting the demo dataset")
        ingest_dataset(store, data, ["X1", "X2"], threads=settings.threads)
        report(0.6, "training a quick model")
        _, record = train_from_store(store, None, "quick", threads=settings.threads)
        assert record is not None
        serving.forget_active()
        return {"model_id": record.id, "demo_data": str(data)}

    runner.submit("seed", {"demo_dir": str(data)}, work, key="seed")
