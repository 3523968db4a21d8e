"""Fits side by side: results in task order, progress in the calling thread, the first error stops the run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from epigex.models.parallel import run_concurrently


def _sleeper(value: int, seconds: float, ran: list[int]) -> Callable[[], int]:
    def task() -> int:
        time.sleep(seconds)
        ran.append(value)
        return value

    return task


@pytest.mark.parametrize("width", [1, 2, 4])
def test_results_come_back_in_task_order(width: int) -> None:
    ran: list[int] = []
    done: list[tuple[int, str]] = []
    tasks = [_sleeper(i, 0.02 * (5 - i), ran) for i in range(5)]  # later tasks finish first
    out = run_concurrently(tasks, width, lambda i: done.append((i, threading.current_thread().name)))
    assert out == [0, 1, 2, 3, 4]
    assert sorted(i for i, _ in done) == [0, 1, 2, 3, 4]
    assert {name for _, name in done} == {threading.current_thread().name}  # progress in the caller's thread
    if width == 1:
        assert ran == [0, 1, 2, 3, 4]


def test_tasks_run_side_by_side() -> None:
    inside, peak, lock = [0], [0], threading.Lock()

    def task() -> None:
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        time.sleep(0.05)
        with lock:
            inside[0] -= 1

    run_concurrently([task] * 6, 3)
    assert peak[0] == 3


def test_a_failing_task_stops_the_run_and_cancels_the_rest() -> None:
    ran: list[int] = []

    def boom() -> int:
        raise ValueError("bad fit")

    tasks = [boom, *[_sleeper(i, 0.05, ran) for i in range(1, 20)]]
    with pytest.raises(ValueError, match="bad fit"):
        run_concurrently(tasks, 2)
    assert len(ran) < 19  # the queued tasks were cancelled, not run


def test_an_error_from_progress_stops_the_run() -> None:
    # The job's time budget is enforced by its progress callback.
    ran: list[int] = []

    def over_budget(i: int) -> None:
        raise TimeoutError("over budget")

    with pytest.raises(TimeoutError, match="over budget"):
        run_concurrently([_sleeper(i, 0.05, ran) for i in range(20)], 2, over_budget)
    assert len(ran) < 20
