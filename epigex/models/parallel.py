"""Running independent booster fits side by side: one thread per fit, as many fits at once as threads allowed.

Each LightGBM booster is fitted single-threaded (:func:`models.params.lgb_params`), and a training's many small
fits (folds × setups × stages) run concurrently in a thread pool instead. On small data LightGBM's OpenMP team
spends much of each round synchronising (two threads fit a fold's booster about 1.5× faster than one; two
single-threaded fits side by side, about 1.9×), ctypes releases the GIL while a round runs, and a model's bytes
no longer depend on how many threads trained it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")


def run_concurrently(
    tasks: Sequence[Callable[[], T]], width: int, on_done: Callable[[int], None] | None = None
) -> list[T]:
    """Run ``tasks`` with at most ``width`` at once; their results in task order.

    ``on_done(i)`` is called in the calling thread as each task ends (progress, and the job's time budget: an
    exception it raises stops the run). The first exception, from a task or from ``on_done``, cancels the tasks
    not yet started, waits for the running ones and is raised.
    """
    if width <= 1 or len(tasks) <= 1:
        out = []
        for i, task in enumerate(tasks):
            out.append(task())
            if on_done is not None:
                on_done(i)
        return out
    with ThreadPoolExecutor(max_workers=min(width, len(tasks)), thread_name_prefix="epigex-fit") as pool:
        futures: dict[Future[T], int] = {pool.submit(task): i for i, task in enumerate(tasks)}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=futures.__getitem__):
                    fut.result()  # a task's exception is raised here
                    if on_done is not None:
                        on_done(futures[fut])
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
        return [fut.result() for fut in futures]
