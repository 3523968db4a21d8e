"""Speed on a busy machine: training and the demo idle and beside CPU-bound processes, and reads during training.

Each case runs as a fresh ``epigex`` process (as a user runs it), timed by wall clock, idle and then with one and
with two competing CPU-bound processes (``while True: pass``) started just before it and stopped just after. On
a 2-core machine the fair share beside one competitor is 2× the idle time and beside two 3×; the targets are
≤ 2.5× and ≤ 4×. ``--compare-active`` adds the quick training with OpenMP's active (spinning) wait policy, which
is what epigex ran with before it set passive waiting. Then the service: mixed reads (one gene, all genes) from 8
clients, idle and while a training job runs in the same server; target p99 ≤ 3× idle.

Run: ``python -m bench.contention [--data DIR] [--cases quick,full,demo] [--compare-active] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.serve import _mixed

SPIN = "while True: pass"


@contextmanager
def competitors(n: int) -> Iterator[None]:
    """``n`` CPU-bound processes for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(n)]
    try:
        time.sleep(0.5 if n else 0)
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def timed_cli(args: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one ``epigex`` command (it must succeed)."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "epigex.app.cli.main", *args], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"epigex {' '.join(args)} failed:\n{r.stderr[-3000:]}")
    return time.perf_counter() - t0


def run_case(case: str, data: Path, store: Path, tmp: Path, env: dict[str, str]) -> float:
    """One run of a case on a private copy of the ingested store."""
    if case == "demo":
        out = tmp / f"demo-{time.monotonic_ns()}"
        e = {k: v for k, v in env.items() if k != "EPIGEX_HOME"}
        return timed_cli(["demo", "--out", str(out)], e)
    home = tmp / f"home-{time.monotonic_ns()}"
    shutil.copytree(store, home)
    profile = "quick" if case.startswith("quick") else "full"
    try:
        return timed_cli(["train", "--profile", profile, "--cells", "X1,X2"], {**env, "EPIGEX_HOME": str(home)})
    finally:
        shutil.rmtree(home, ignore_errors=True)


def reads_during_training(store: Path, tmp: Path, env: dict[str, str], requests: int) -> dict[str, dict[str, float]]:
    """Mixed reads from 8 clients, idle and while a quick training job runs in the same server."""
    from tests.app.api.serverproc import running_server

    home = tmp / "serve-home"
    shutil.copytree(store, home)
    token = "contention-bench-token"
    out: dict[str, dict[str, float]] = {}
    senv: dict[str, str | None] = {**env, "EPIGEX_API_TOKEN": token, "EPIGEX_LOG_LEVEL": "WARNING"}
    with running_server(home, tmp / "serve.log", env=senv) as s:
        paths = ["/predict/X3?genes=CAPN9", "/predict/X3"]
        for p in paths:
            httpx.get(s.url + p, timeout=300).raise_for_status()  # computed once, then served from memory
        out["idle"] = asyncio.run(_mixed(s.url, paths, 8, lambda n: n >= requests))
        r = httpx.post(
            f"{s.url}/models", json={"profile": "quick"}, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        r.raise_for_status()
        job = r.json()["job_id"]
        state = {"t": 0.0, "done": False}

        def stop(_n: int) -> bool:
            if time.monotonic() - state["t"] > 0.5:
                state["t"] = time.monotonic()
                state["done"] = httpx.get(f"{s.url}/jobs/{job}", timeout=60).json()["status"] not in (
                    "queued",
                    "running",
                )
            return bool(state["done"])

        out["during a training job"] = asyncio.run(_mixed(s.url, paths, 8, stop))
    return out


def prepare(data: Path, tmp: Path, env: dict[str, str]) -> Path:
    """The demo data (made if missing) ingested into a store of its own."""
    if not (data / "CAGE-train").is_dir():
        from epigex.demo.dataset import write_demo

        write_demo(data, seed=0)
    store = tmp / "store"
    timed_cli(["ingest", str(data)], {**env, "EPIGEX_HOME": str(store)})
    timed_cli(["train", "--profile", "quick", "--cells", "X1,X2"], {**env, "EPIGEX_HOME": str(store)})
    return store


def main() -> None:
    """Run every case idle and beside 1 and 2 competitors; print times and ratios."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("epigex-demo/data"))
    ap.add_argument("--cases", default="quick,full,demo")
    ap.add_argument("--compare-active", action="store_true")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--requests", type=int, default=3000)
    args = ap.parse_args()
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env = {**base, "EPIGEX_THREADS": args.threads}
    cases = [c for c in args.cases.split(",") if c]
    if args.compare_active:
        cases.insert(1 if cases and cases[0] == "quick" else 0, "quick (OMP_WAIT_POLICY=ACTIVE)")
    print(f"{os.cpu_count()} CPUs; EPIGEX_THREADS={args.threads}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        store = prepare(args.data, tmp, env)
        for case in cases:
            cenv = {**env, "OMP_WAIT_POLICY": "ACTIVE"} if "ACTIVE" in case else env
            times = []
            for n in (0, 1, 2):
                with competitors(n):
                    times.append(run_case(case, args.data, store, tmp, cenv))
                print(f"  {case}: {n} competitor(s) {times[-1]:.1f} s", flush=True)
            rows.append((case, times))
        reads = reads_during_training(store, tmp, env, args.requests)
    print("\n| case | idle s | + 1 busy process | + 2 busy processes |\n| --- | ---: | ---: | ---: |")
    for case, (t0, t1, t2) in rows:
        print(f"| {case} | {t0:.1f} | {t1:.1f} ({t1 / t0:.2f}×) | {t2:.1f} ({t2 / t0:.2f}×) |")
    idle = reads["idle"]
    print("\n| reads from 8 clients | requests | p50 ms | p99 ms | p99 vs idle | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in reads.items():
        print(
            f"| {name} | {int(r['n'])} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['p99_ms'] / idle['p99_ms']:.2f}× | "
            f"{int(r['errors'])} |"
        )


if __name__ == "__main__":
    main()
