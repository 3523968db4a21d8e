"""The process's CPU use: a job thread yields the cores to the request handlers, once, and only itself."""

from __future__ import annotations

import os
import threading

import pytest

from epigex.app.runtime import JOB_NICENESS, lower_thread_priority


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no per-thread priorities on this system")
def test_a_job_thread_lowers_its_own_priority_once() -> None:
    seen: dict[str, int] = {}

    def job() -> None:
        tid = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, tid)
        lower_thread_priority()
        lower_thread_priority()  # a worker thread runs many jobs: the second call changes nothing
        seen["before"], seen["after"] = before, os.getpriority(os.PRIO_PROCESS, tid)
        child: dict[str, int] = {}
        t = threading.Thread(
            target=lambda: child.update(nice=os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        )
        t.start()
        t.join()
        seen["child"] = child["nice"]

    main_before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    t = threading.Thread(target=job)
    t.start()
    t.join()
    assert seen["after"] == min(19, seen["before"] + JOB_NICENESS)
    assert seen["child"] == seen["after"]  # threads it starts (LightGBM's OpenMP team) inherit it
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_before  # the server's threads keep theirs
