"""Serving benchmark: latency and throughput of the read endpoints against a running server on loopback.

Each read endpoint is measured beside the floor of the same stack — ``/bench/floor``, which returns a fixed bytes
object of the same size from memory through the same app, middleware and server — in the same run, at 1 and 32
concurrent clients: all-gene predictions (JSON), one-gene predictions, and one gene's explanation.

Then a mixed read workload (one gene, all genes, an explanation, the cell-line list) from 32 clients, idle
and in two hostile conditions: while an upload's ingest job and a training job run in the server, and while 200
slow clients hold connections open by sending request headers a byte a second (reconnecting whenever the
server cuts them off). Errors and p99 against the idle p99 of the same run.

Run: ``python -m bench.serve [--data DIR] [--requests N] [--skip-busy]``. It ingests the demo into a temporary
store, trains a quick model, starts ``epigex serve`` on a free port with ``EPIGEX_BENCH_ENDPOINTS=1`` and drives
it with httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np


async def _drive(url: str, path: str, floor: str, clients: int, n: int) -> tuple[dict[str, float], dict[str, float]]:
    """``n`` GETs of ``path`` and ``n`` of ``floor``, interleaved, from ``clients`` concurrent clients.

    Interleaving puts the endpoint and its floor under the same load and the same machine noise.
    """
    lat: dict[str, list[float]] = {path: [], floor: []}
    errors = {path: 0, floor: 0}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        for _ in range(min(clients, 8)):  # warm the connections
            await client.get(path)
            await client.get(floor)
        counter = iter(range(2 * n))

        async def worker() -> None:
            for i in counter:
                target = path if i % 2 == 0 else floor
                t0 = time.perf_counter()
                r = await client.get(target)
                lat[target].append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors[target] += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0

    def summary(key: str) -> dict[str, float]:
        ms = np.array(lat[key]) * 1000
        return {
            "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)),
            "rps": len(ms) / wall,  # each side's share of the interleaved run
            "errors": errors[key],
        }

    return summary(path), summary(floor)


MIXED = ("/predict/{cell}?genes={gene}", "/predict/{cell}", "/explain/{gene}?cell_line={cell}&top=20", "/cell-lines")


async def _mixed(url: str, paths: list[str], clients: int, stop: Any) -> dict[str, float]:
    """Round-robin GETs of ``paths`` from ``clients`` clients until ``stop()`` says so; p50, p99, errors."""
    lat: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        counter = iter(range(10**9))

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                if stop(len(lat)):
                    return
                t0 = time.perf_counter()
                try:
                    r = await client.get(paths[i % len(paths)])
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                lat.append(time.perf_counter() - t0)
                errors += 0 if ok else 1

        await asyncio.gather(*(worker() for _ in range(clients)))
    ms = np.array(lat) * 1000
    return {
        "n": len(ms),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "errors": errors,
    }


async def _slow_clients(port: int, n: int, done: asyncio.Event) -> int:
    """``n`` connections that send request headers a byte a second, reconnecting when cut; returns cuts seen."""
    cuts = 0

    async def one() -> None:
        nonlocal cuts
        while not done.is_set():
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000:
                    if done.is_set():
                        break
                    writer.write(bytes([b]))
                    await writer.drain()
                    await asyncio.sleep(1.0)
                writer.close()
            except OSError:
                cuts += 1
                await asyncio.sleep(0.2)

    tasks = [asyncio.create_task(one()) for _ in range(n)]
    await done.wait()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return cuts


def _busy(url: str, port: int, data: Path, cell: str, gene: str, requests: int) -> dict[str, dict[str, float]]:
    """The mixed workload idle, during an ingest and a training job, and beside 200 slow connections."""
    paths = [p.format(cell=cell, gene=gene) for p in MIXED]
    out = {"idle": asyncio.run(_mixed(url, paths, 32, lambda n: n >= requests))}
    from contextlib import ExitStack

    from epigex.ingest.featureset import ASSAYS

    auth = {"Authorization": f"Bearer {BENCH_TOKEN}"}
    with ExitStack() as stack:
        files = [
            (f"{a}_{k}", (f"{cell}.{ext}", stack.enter_context(open(data / f"{a}-{k}" / f"{cell}.{ext}", "rb"))))
            for a in ASSAYS
            for k, ext in (("bigwig", "bw"), ("bed", "bed"))
        ]
        files.append(
            ("genes", ("info.tsv", stack.enter_context(open(data / "CAGE-train" / f"{cell}_test_info.tsv", "rb"))))
        )
        up = httpx.post(f"{url}/cell-lines", data={"name": "BenchCell"}, files=files, headers=auth, timeout=300)
    up.raise_for_status()
    train = httpx.post(f"{url}/models", json={"profile": "quick"}, headers=auth, timeout=60)
    train.raise_for_status()
    jobs = [up.json()["job_id"], train.json()["job_id"]]

    def jobs_done(_n: int) -> bool:
        states = [httpx.get(f"{url}/jobs/{j}", timeout=60).json()["status"] for j in jobs]
        return not any(s in ("queued", "running") for s in states)

    checks = {"last": 0.0, "done": False}

    def stop_when_jobs_end(n: int) -> bool:
        if time.monotonic() - checks["last"] > 1.0:
            checks["last"], checks["done"] = time.monotonic(), jobs_done(n)
        return bool(checks["done"])

    out["during ingest + training jobs"] = asyncio.run(_mixed(url, paths, 32, stop_when_jobs_end))

    async def with_slow() -> dict[str, float]:
        done = asyncio.Event()
        slow = asyncio.create_task(_slow_clients(port, 200, done))
        await asyncio.sleep(3.0)  # let them connect
        res = await _mixed(url, paths, 32, lambda n: n >= requests)
        done.set()
        res["slow_cuts"] = await slow
        return res

    out["beside 200 slow connections"] = asyncio.run(with_slow())
    return out


BENCH_TOKEN = "bench-token-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(home: Path, data: Path) -> None:
    from epigex.ingest.pipeline import ingest_dataset
    from epigex.models.pipeline import train_from_store
    from epigex.store.catalog import Store

    store = Store(home)
    ingest_dataset(store, data)
    train_from_store(store, None, "quick")


def main() -> None:
    """Run the benchmark and print a table of ratios against the floor."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("epigex-demo/data"))
    ap.add_argument("--home", type=Path, default=None, help="an existing store with a model (skips preparation)")
    ap.add_argument("--cell", default="X3")
    ap.add_argument("--gene", default="CAPN9")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--skip-busy", action="store_true", help="skip the mixed workload under jobs and slow clients")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home
        if home is None:
            if not (args.data / "CAGE-train").is_dir():
                from epigex.demo.dataset import write_demo

                write_demo(args.data, seed=0)
            home = Path(tmp) / "home"
            _prepare(home, args.data)
        port = _free_port()
        env = {
            **os.environ,
            "EPIGEX_HOME": str(home),
            "EPIGEX_BENCH_ENDPOINTS": "1",
            "EPIGEX_LOG_LEVEL": "WARNING",
            "EPIGEX_API_TOKEN": BENCH_TOKEN,
        }
        proc = subprocess.Popen([sys.executable, "-m", "epigex.app.cli.main", "serve", "--port", str(port)], env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            cases = {
                "predict all genes (JSON)": f"/predict/{args.cell}",
                "predict one gene": f"/predict/{args.cell}?genes={args.gene}",
                "explain one gene": f"/explain/{args.gene}?cell_line={args.cell}&top=20",
            }
            sizes = {}
            for name, path in cases.items():
                r = httpx.get(url + path, timeout=300)  # computes and caches on first use
                r.raise_for_status()
                sizes[name] = len(r.content)
            results: dict[str, Any] = {}
            for clients in (1, 32):
                for name, path in cases.items():
                    floor = f"/bench/floor?size={sizes[name]}"
                    res, base = asyncio.run(_drive(url, path, floor, clients, args.requests))
                    results[f"{name} @ {clients}"] = {"endpoint": res, "floor": base, "bytes": sizes[name]}
            busy = {} if args.skip_busy else _busy(url, port, args.data, args.cell, args.gene, args.requests)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"{'case':<36} {'bytes':>8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'floor p99':>10} {'p99 ratio':>10} err")
    for case, r in results.items():
        e, f = r["endpoint"], r["floor"]
        print(
            f"{case:<36} {r['bytes']:>8} {e['p50_ms']:>8.2f} {e['p99_ms']:>8.2f} {e['rps']:>8.0f} "
            f"{f['p99_ms']:>10.2f} {e['p99_ms'] / f['p99_ms']:>9.2f}× {e['errors'] + f['errors']}"
        )
    if busy:
        idle = busy["idle"]["p99_ms"]
        print(f"\nmixed reads @ 32 clients      {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs idle p99':>12} errors")
        for case, r in busy.items():
            print(
                f"{case:<30} {int(r['n']):>9} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['p99_ms'] / idle:>11.2f}× "
                f"{int(r['errors'])}" + (f" (slow connections cut: {int(r['slow_cuts'])})" if "slow_cuts" in r else "")
            )
    if args.json:
        args.json.write_text(json.dumps({"reads": results, "busy": busy}, indent=2))


if __name__ == "__main__":
    main()
