"""Serving benchmark: latency and throughput of the read endpoints against a running server on loopback.

Each read endpoint is measured beside the floor of the same stack — ``/bench/floor``, which returns a fixed bytes
object of the same size from memory through the same app, middleware and server — in the same run, at 1 and 32
concurrent clients: all-gene predictions (JSON), one-gene predictions, and one gene's explanation.

Run: ``python -m bench.serve [--data DIR] [--requests N]``. It ingests the demo into a temporary store, trains a
quick model, starts ``epigex serve`` on a free port with ``EPIGEX_BENCH_ENDPOINTS=1`` and drives it with httpx.
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(home: Path, data: Path) -> None:
    from ingest.pipeline import ingest_dataset
    from models.pipeline import train_from_store
    from store.catalog import Store

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
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home
        if home is None:
            if not (args.data / "CAGE-train").is_dir():
                from demo.dataset import write_demo

                write_demo(args.data, seed=0)
            home = Path(tmp) / "home"
            _prepare(home, args.data)
        port = _free_port()
        env = {**os.environ, "EPIGEX_HOME": str(home), "EPIGEX_BENCH_ENDPOINTS": "1", "EPIGEX_LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen([sys.executable, "-m", "app.cli.main", "serve", "--port", str(port)], env=env)
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
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
