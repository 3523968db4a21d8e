"""What this process may use of the machine: the CPUs it is allowed to run on, whatever else is running.

``os.cpu_count()`` counts the machine's cores; a process may be confined to fewer by its CPU affinity (taskset,
a batch scheduler) or by a cgroup quota (a container's ``--cpus``). Threads beyond what the process may use only
wait for each other.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path


def _cgroup_quota() -> float | None:
    """CPUs granted by the cgroup's quota (v2 ``cpu.max`` or v1 ``cfs_quota_us``), or None without a quota."""
    v2 = Path("/sys/fs/cgroup/cpu.max")
    try:
        if v2.is_file():
            quota, period = v2.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        q = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
        p = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
        if q.is_file() and p.is_file():
            quota_us = int(q.read_text())
            return None if quota_us <= 0 else quota_us / int(p.read_text())
    except (OSError, ValueError):
        return None
    return None


def available_cpus() -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup quota (at least 1)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        n = min(n, max(1, math.floor(quota)))
    return max(1, n)


def default_threads(cap: int = 8) -> int:
    """Threads for LightGBM and ingest when ``EPIGEX_THREADS`` is not set: the CPUs available, at most ``cap``."""
    return min(available_cpus(), cap)


JOB_NICENESS = 10
_lowered = threading.local()


def lower_thread_priority(step: int = JOB_NICENESS) -> None:
    """Make the calling thread (and the threads it starts, e.g. LightGBM's OpenMP team) yield the CPU to others.

    On Linux a thread's nice value is its own and new threads inherit it: a service's job threads niced by
    ``step`` leave the cores to the request handlers when both want them, and take them all when nobody reads.
    Elsewhere, or when not allowed, nothing changes.
    """
    if getattr(_lowered, "done", False):  # once per thread: a worker thread runs many jobs
        return
    _lowered.done = True
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
    except (AttributeError, OSError):
        pass
