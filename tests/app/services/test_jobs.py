"""The job runner: states, failures with reasons, exclusive keys, restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app.services.jobs import JobRunner, Report
from store.catalog import Store
from store.errors import ConflictError, InputError
from store.jobs import fail_interrupted, get_job, job_counts


def wait(runner: JobRunner, job_id: str) -> Any:
    for _ in range(500):
        job = runner.get(job_id)
        if job.status in ("succeeded", "failed"):
            return job
        time.sleep(0.01)
    raise AssertionError("job did not finish")


def test_states_progress_and_results(tmp_path: Path) -> None:
    store = Store(tmp_path)
    runner = JobRunner(store)
    gate = threading.Event()

    def work(report: Report) -> dict[str, Any]:
        report(0.5, "half way")
        gate.wait(5)
        return {"answer": 42}

    job = runner.submit("ingest", {"cell_line": "A"}, work, key="cell:A")
    for _ in range(200):
        if runner.get(job.id).progress == 0.5:
            break
        time.sleep(0.01)
    assert runner.get(job.id).status == "running"
    assert runner.get(job.id).message == "half way"
    with pytest.raises(ConflictError, match="still running"):  # a second upload of the same name
        runner.submit("ingest", {"cell_line": "A"}, work, key="cell:A")
    assert runner.busy("cell:A")
    gate.set()
    done = wait(runner, job.id)
    assert done.status == "succeeded"
    assert done.result["answer"] == 42
    assert "seconds" in done.result
    assert get_job(store, job.id).status == "succeeded"  # persisted
    assert not runner.busy("cell:A")
    runner.shutdown(wait=True)


def test_failures_say_why(tmp_path: Path) -> None:
    store = Store(tmp_path)
    runner = JobRunner(store)

    def bad_input(report: Report) -> dict[str, Any]:
        raise InputError("X3.bed, line 7: start 9 > end 3")

    def bug(report: Report) -> dict[str, Any]:
        raise ZeroDivisionError("division by zero")

    a = wait(runner, runner.submit("ingest", {}, bad_input).id)
    b = wait(runner, runner.submit("train", {}, bug).id)
    assert (a.status, a.error) == ("failed", "X3.bed, line 7: start 9 > end 3")
    assert b.status == "failed"
    assert b.error.startswith("internal error: ZeroDivisionError")
    assert runner.counts()["failed"] == 2
    runner.shutdown(wait=True)


def test_restart_fails_unfinished_jobs(tmp_path: Path) -> None:
    store = Store(tmp_path)
    runner = JobRunner(store)
    gate = threading.Event()
    job = runner.submit("train", {}, lambda report: gate.wait(5) and {})
    assert fail_interrupted(Store(tmp_path)) == 1  # as a new server would on start
    assert get_job(store, job.id).status == "failed"
    assert job_counts(store)["running"] == 0
    gate.set()
    runner.shutdown(wait=True)
