"""The web UI in a real browser: how fast a biologist's pages become usable, idle and beside busy processes.

Two pages, each against a baseline measured in the same browser, the same run and the same load:

- a cell line's predictions (X1: all 16,284 genes): from navigation to a sortable, searchable table
  (``performance.mark("epigex:table-ready")`` in ``cell.js``), beside the bare ``fetch`` + ``JSON.parse`` of the
  same ``GET /predict`` from that page; then one sort over every gene and one search keystroke (click or input to
  the redrawn table, synchronous in the page). Target: interactive ≤ 1 s.
- a gene's page (X3, CAPN9): from navigation to igv.js having drawn its tracks (``epigex:tracks-drawn`` after
  ``igv.createBrowser`` resolves, which waits for every track's first load), beside the page's own
  DOMContentLoaded. Target: tracks drawn ≤ 2 s.

Each is loaded once to warm the server's caches, then ``--repeats`` times (median, max); then again beside
``--busy`` CPU-bound processes. Headless Chromium (Debian's ``chromium`` + ``chromium-driver``), the server a real
``epigex serve`` on loopback over a store prepared from the demo (ingest + quick model).

Run: ``python -m bench.ui [--data DIR] [--home STORE] [--repeats 5] [--busy 2]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.contention import competitors
from bench.serve import BENCH_TOKEN, _free_port, _prepare

TABLE_CELL = "X1"
GENE_CELL, GENE = "X3", "CAPN9"


def _browser(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        raise SystemExit(
            "bench.ui needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        )
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--window-size=1400,2200",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(flag)
    return webdriver.Chrome(options=opts, service=Service(driver))


def _mark(driver: Any, name: str, timeout: float = 120) -> float:
    """Milliseconds from navigation start to the page's performance mark ``name`` (waits for it)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        ms = driver.execute_script(
            f"const m = performance.getEntriesByName('{name}'); return m.length ? m[0].startTime : null"
        )
        if ms is not None:
            return float(ms)
        time.sleep(0.02)
    raise RuntimeError(f"the page never reached {name}")


def table_page(driver: Any, url: str) -> dict[str, float]:
    """One load of the predictions page: to interactive, the bare fetch baseline, a sort and a search."""
    driver.get(f"{url}/ui/cells/{TABLE_CELL}")
    ready = _mark(driver, "epigex:table-ready")
    fetch = driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; const t = performance.now();"
        f"fetch('/predict/{TABLE_CELL}').then(r => r.json())"
        ".then(d => done([performance.now() - t, d.predictions.length]));"
    )
    sort = driver.execute_script(
        "const b = document.querySelector('th button[data-col=\"p_expressed\"]'); const t = performance.now();"
        "b.click(); return performance.now() - t;"
    )
    search = driver.execute_script(
        "const s = document.getElementById('search'); s.value = 'CAP'; const t = performance.now();"
        "s.dispatchEvent(new Event('input')); return performance.now() - t;"
    )
    rows = driver.execute_script("return document.querySelectorAll('#predictions tbody tr').length")
    if fetch[1] < 16_000 or rows == 0:
        raise RuntimeError(f"the table is not the whole cell: {fetch[1]} genes fetched, {rows} rows shown")
    return {"ready_ms": ready, "fetch_ms": float(fetch[0]), "sort_ms": float(sort), "search_ms": float(search)}


def gene_page(driver: Any, url: str) -> dict[str, float]:
    """One load of a gene's page: to igv's tracks drawn, and the page's own DOMContentLoaded."""
    driver.get(f"{url}/ui/cells/{GENE_CELL}/genes/{GENE}")
    drawn = _mark(driver, "epigex:tracks-drawn")
    dom = driver.execute_script("return performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    tracks = driver.execute_script("return window.epigexBrowser.trackViews.length")
    if tracks < 7:
        raise RuntimeError(f"igv shows {tracks} tracks")
    return {"drawn_ms": drawn, "dom_ms": float(dom), "tracks": float(tracks)}


def measure(driver: Any, url: str, repeats: int) -> dict[str, dict[str, float]]:
    """Warm once, then median and max over ``repeats`` loads of each page."""
    table_page(driver, url)
    gene_page(driver, url)
    runs = {
        "table": [table_page(driver, url) for _ in range(repeats)],
        "gene": [gene_page(driver, url) for _ in range(repeats)],
    }
    out: dict[str, dict[str, float]] = {}
    for page, rs in runs.items():
        for key in rs[0]:
            values = [r[key] for r in rs]
            out[f"{page}.{key}"] = {"median": statistics.median(values), "max": max(values)}
    return out


def _row(what: str, m: dict[str, float], vs: str = "", target: float | None = None) -> str:
    verdict = "" if target is None else f"≤ {target:.0f} ms: {'met' if m['max'] <= target else 'NOT met'}"
    return f"| {what} | {m['median']:.0f} | {m['max']:.0f} | {vs} | {verdict} |"


def report(label: str, m: dict[str, dict[str, float]]) -> None:
    """Print one condition's lines: absolute times, ratios to the same-run baselines, and the targets."""
    t, f = m["table.ready_ms"], m["table.fetch_ms"]
    g, d = m["gene.drawn_ms"], m["gene.dom_ms"]
    tracks = m["gene.tracks"]["median"]
    print(f"\n{label}")
    print("| measure | median ms | max ms | vs baseline (median) | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    vs_fetch = f"{t['median'] / f['median']:.2f}× the bare fetch + parse ({f['median']:.0f} ms)"
    print(_row("16k-gene table interactive", t, vs_fetch, 1000))
    print(_row("sort 16k genes (click → redrawn)", m["table.sort_ms"]))
    print(_row("search keystroke (input → redrawn)", m["table.search_ms"]))
    vs_dom = f"{g['median'] / d['median']:.2f}× the page's DOMContentLoaded ({d['median']:.0f} ms)"
    print(_row(f"gene page: igv tracks drawn ({tracks:.0f} tracks)", g, vs_dom, 2000))


def main() -> None:
    """Prepare a store (unless given), start the server, and measure idle and busy."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("epigex-demo/data"))
    ap.add_argument("--home", type=Path, default=None, help="an existing store with a model (skips preparation)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--busy", type=int, default=2, help="CPU-bound processes beside the second measurement")
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
        env = {**os.environ, "EPIGEX_HOME": str(home), "EPIGEX_LOG_LEVEL": "WARNING", "EPIGEX_API_TOKEN": BENCH_TOKEN}
        proc = subprocess.Popen([sys.executable, "-m", "epigex.app.cli.main", "serve", "--port", str(port)], env=env)
        url = f"http://127.0.0.1:{port}"
        driver = None
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            driver = _browser(Path(tmp) / "profile")
            report(f"idle ({os.cpu_count()} CPUs)", measure(driver, url, args.repeats))
            with competitors(args.busy):
                report(f"beside {args.busy} busy processes", measure(driver, url, args.repeats))
        finally:
            if driver is not None:
                driver.quit()
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
