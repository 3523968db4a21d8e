"""The job runner: states, failures with reasons, exclusive keys, restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from epigex.app.services.jobs import JobRunner, Report
from epigex.store.catalog import Store
from epigex.store.errors import BusyError, ConflictError, InputError
from epigex.store.instances import Instance, live_instances
from epigex.store.jobs import JobRow, get_job, job_counts, save_job, settle_interrupted


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


def test_a_second_server_leaves_a_live_servers_jobs_alone(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first = Instance(store)
    runner = JobRunner(store, owner=first.id)
    gate = threading.Event()
    job = runner.submit("train", {}, lambda report: gate.wait(5) and {})
    second = Instance(Store(tmp_path))
    assert live_instances(store) == {first.id, second.id}
    assert settle_interrupted(Store(tmp_path), live_instances(store)) == {"failed": 0, "succeeded": 0}
    assert get_job(store, job.id).status in ("queued", "running")
    gate.set()
    assert wait(runner, job.id).status == "succeeded"
    runner.shutdown(wait=True)
    first.close()
    second.close()


def test_restart_fails_a_dead_servers_jobs_keeping_their_progress(tmp_path: Path) -> None:
    store = Store(tmp_path)
    save_job(store, JobRow("j1", "ingest", "running", 0.4, "ingesting", None, {}, None, None, None, None, "gone"))
    assert settle_interrupted(store, live_instances(store)) == {"failed": 1, "succeeded": 0}
    job = get_job(store, "j1")
    assert job.status == "failed"
    assert job.progress == 0.4
    assert "server stopped" in (job.error or "")
    assert job_counts(store)["running"] == 0


def test_progress_is_saved_while_a_job_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import epigex.app.services.jobs as jobs

    monkeypatch.setattr(jobs, "PROGRESS_SAVE_EVERY_S", 0.0)
    store = Store(tmp_path)
    runner = JobRunner(store)
    gate = threading.Event()

    def work(report: Report) -> dict[str, Any]:
        report(0.3, "a third")
        gate.wait(5)
        return {}

    job = runner.submit("ingest", {}, work)
    for _ in range(300):
        if get_job(store, job.id).progress == 0.3:
            break
        time.sleep(0.01)
    assert get_job(store, job.id).progress == 0.3  # the catalog, not only memory
    gate.set()
    wait(runner, job.id)
    runner.shutdown(wait=True)


def test_the_queue_is_bounded(tmp_path: Path) -> None:
    runner = JobRunner(Store(tmp_path), max_queued=2)
    gate = threading.Event()
    jobs = [runner.submit("train", {}, lambda report: gate.wait(5) and {})]
    for _ in range(200):  # the first one leaves the queue when it starts running
        if runner.get(jobs[0].id).status == "running":
            break
        time.sleep(0.01)
    jobs += [runner.submit("train", {}, lambda report: gate.wait(5) and {}) for _ in range(2)]
    with pytest.raises(BusyError, match="2 jobs are already waiting"):
        runner.submit("train", {}, lambda report: {})
    gate.set()
    for j in jobs:
        wait(runner, j.id)
    runner.shutdown(wait=True)


def test_job_keys_are_spelt_in_one_place() -> None:
    from epigex.app.services.jobs import cell_job_key, track_set_job_key

    assert cell_job_key("X3") == "cell:X3"
    assert track_set_job_key(["H3K4me3:bed", "DNase:bigwig"]) == "tracks:DNase:bigwig,H3K4me3:bed"


def test_a_user_may_have_so_many_jobs_at_once(tmp_path: Path) -> None:
    from epigex.app.services.access import ADMIN, Principal
    from epigex.store.errors import QuotaError

    store = Store(tmp_path / "home")
    runner = JobRunner(store, max_per_user=2, max_queued=10)
    gate = threading.Event()
    ana, bob = Principal("ana", "labA", "writer"), Principal("bob", "labB", "writer")

    def blocked(report: Report) -> dict[str, Any]:
        gate.wait(10)
        return {}

    first = runner.submit("x", {}, blocked, by=ana)
    runner.submit("x", {}, blocked, by=ana)
    with pytest.raises(QuotaError, match="ana has 2 jobs unfinished already") as err:
        runner.submit("x", {}, blocked, by=ana)
    assert err.value.status_code == 429
    assert err.value.retry_after == 30
    runner.submit("x", {}, blocked, by=bob)  # another user's quota is its own
    runner.submit("x", {}, blocked, by=ADMIN)  # admins have none
    runner.submit("x", {}, blocked, by=ADMIN)
    row = get_job(store, first.id)
    assert (row.actor, row.project) == ("ana", "labA")
    gate.set()
    wait(runner, first.id)
    deadline = time.monotonic() + 10
    while runner.get(first.id).status != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.05)
    runner.shutdown(wait=True)
