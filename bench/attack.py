"""An attack campaign against real ``epigex serve`` processes: hostile inputs, headers, paths, clients and kills.

Run: ``python -m bench.attack [--quick] [--only 2,3] [--seed 0]``. It builds the demo dataset and a trained quick
model in a temporary folder (as the test fixtures do), then runs nine attack families, each on its own copy of the
store and its own servers:

1. reader fuzz (``tests/ingest/fuzzing.py``): ~3,000 bigWig and ~1,000 BED mutants (``--quick``: ~300 / 100);
2. malformed ``Authorization`` headers on writes; 3. path traversal in every path and query parameter and in
uploads; 4. chunked uploads over the size limit and 999 slow bodies; 5. a read-only server; 6. ``kill -9`` at 9
points of an upload or a training; 7. two servers on one store; 8. 16 client threads of mixed reads;
9. schemathesis with every check, with and without the token.

It prints a Markdown table (one row per family: what was sent, how many, the outcome counts, whether every outcome
was acceptable), then the unacceptable outcomes with examples, and exits 1 if there was any. Server logs of a
family with unacceptable outcomes are kept (the folder is printed); everything else is removed.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.attack_families import (
    MP_AUTH,
    TOKEN_ENV,
    Ctx,
    Result,
    attack_auth,
    attack_traversal,
    attack_two_servers,
    send_raw,
    server_errors,
    table_counts,
    unfinished_jobs,
)
from epigex.store.catalog import Store
from tests.app.api.conftest import AUTH, cell_files, post_cell
from tests.app.api.serverproc import launch, running_server
from tests.app.api.test_boundary import BOUNDARY, _drip_until_closed, _slow_post, leftovers, multipart_headers, part
from tests.app.api.test_schemathesis import SERVER_ENV, inventory, schemathesis
from tests.ingest.fuzzing import make_jobs, run_jobs

# ---------------------------------------------------------------------------------------------- 1: reader fuzz


def attack_fuzz(ctx: Ctx) -> Result:
    """Family 1: seeded reader mutants, each read in a worker process; any "other" outcome is unacceptable."""
    res = Result("1 reader fuzz")
    per_seed = 25 if ctx.quick else 250  # 6 bigWig seeds, 4 BED seeds and a gene table, `per_seed` mutants each
    folder = ctx.work / "fuzz"
    jobs = make_jobs(folder / "a", per_seed, seed=ctx.seed)  # bigWig, BED and gene-table mutants
    extra = make_jobs(folder / "b", per_seed, seed=ctx.seed + 1)  # a second set of bigWig mutants only
    for j in extra:
        if j.kind != "bigwig" and j.path != j.reference:
            Path(j.path).unlink(missing_ok=True)
    jobs += [j for j in extra if j.kind == "bigwig"]
    t0 = time.perf_counter()
    outcomes = run_jobs(jobs)
    others: Counter[str] = Counter()
    for job, outcome in zip(jobs, outcomes, strict=True):
        cls = "other" if outcome.startswith("other") else outcome
        res.record(f"{job.kind} {cls}", cls != "other", f"{job.label} ({job.path}): {outcome}")
        if cls == "other":
            others[outcome] += 1
    kinds = Counter(j.kind for j in jobs)
    res.sent = "mutated files read by the epigex readers: " + ", ".join(f"{n:,} {k}" for k, n in kinds.items())
    res.notes.append(f"{len(jobs):,} reads in {time.perf_counter() - t0:.0f} s")
    res.notes += [f"{n} × {o}" for o, n in others.most_common(5)]
    return res


# ---------------------------------------------------------------------------------------------- 4: slow bodies


def attack_slow(ctx: Ctx) -> Result:
    """Family 4: chunked uploads over EPIGEX_MAX_UPLOAD_MB=1, and 999 bodies dripping a byte every 5 s."""
    res = Result("4 chunked + slow uploads")
    home = ctx.home("slow")
    log = ctx.log("slow")
    env = {**TOKEN_ENV, "EPIGEX_MAX_UPLOAD_MB": "1", "EPIGEX_BODY_GRACE_S": "4", "EPIGEX_LOG_LEVEL": "WARNING"}
    mb = 1 << 20

    def chunked(body: bytes) -> Iterator[bytes]:
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    def one(field_: str, size: int) -> bytes:
        return part("name", b"A1") + part(field_, b"\x01" * size, "f.bin") + f"--{BOUNDARY}--\r\n".encode()

    cases = [
        ("3 MB bigWig", one("DNase_bigwig", 3 * mb), 413),
        ("3 MB genes", one("genes", 3 * mb), 413),
        ("1 MB + 1 byte BED", one("DNase_bed", mb + 1), 413),
        ("exactly 1 MB bigWig", one("DNase_bigwig", mb), 415),  # at the limit: through, then refused by type
    ]
    with running_server(home, log, env=env) as s:
        for label, body, want in cases:
            r = httpx.post(f"{s.url}/cell-lines", content=chunked(body), headers=multipart_headers(), timeout=60)
            res.record(
                f"chunked {r.status_code}",
                r.status_code == want,
                f"{label}: want {want}, got {r.status_code} {r.text[:200]}",
            )
        ans = send_raw(s.port, "POST", "/cell-lines", [*MP_AUTH, (b"Content-Length", b"104857600")])
        res.record(f"Content-Length 100 MB {ans.status}", ans.status == 413, ans.short())
        httpx.get(f"{s.url}/predict/X3", params={"genes": "CAPN9"}, timeout=300)  # warm: computed before the attack
        socks = [_slow_post(s.port, auth=True) for _ in range(999)]
        reads: list[tuple[str, float]] = []

        def read_meanwhile() -> None:  # 20 reads, a quarter of a second apart, while the slow bodies drip
            with httpx.Client(base_url=s.url, timeout=10) as c:
                for _ in range(20):
                    t0 = time.perf_counter()
                    try:
                        got = str(c.get("/predict/X3", params={"genes": "CAPN9"}).status_code)
                    except httpx.HTTPError as err:
                        got = type(err).__name__
                    reads.append((got, time.perf_counter() - t0))
                    time.sleep(0.25)

        reader = threading.Thread(target=read_meanwhile)
        reader.start()
        closed = _drip_until_closed(socks, seconds=30)
        reader.join()
        for i in range(len(socks)):
            if i not in closed:
                res.record("slow: still open after 30 s", False, f"connection {i}")
                continue
            t, answer = closed[i]
            status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/1.1 ") else "no answer"
            ok = status in ("503", "408") and t < 15
            res.record(
                f"slow {status}" + ("" if t < 15 else " (>15 s)"), ok, f"closed after {t:.1f} s: {answer[:200]!r}"
            )
        for got, dt in reads:
            res.record(f"read meanwhile {got}", got == "200", f"GET /predict/X3?genes=CAPN9 ({dt:.1f} s)")
        res.notes.append("reads meanwhile took (s): " + " ".join(f"{dt:.2f}" for _, dt in reads))
        res.notes.append(
            f"slowest slow connection closed after {max((t for t, _ in closed.values()), default=0):.1f} s"
        )
        res.check("healthz after the attack", httpx.get(f"{s.url}/healthz").status_code == 200)
    res.check("nothing left in uploads/", leftovers(home) == [], leftovers(home)[:3])
    res.sent = (
        f"{len(cases)} chunked uploads + 1 Content-Length over the budget (limit 1 MB); "
        "999 slow bodies (a byte / 5 s, grace 4 s); reads meanwhile"
    )
    return res


# ---------------------------------------------------------------------------------------------- 5: read-only


def store_files(home: Path) -> set[str]:
    """The store's data files (not the catalog, locks, server presence, uploads or temporaries)."""
    skip = ("servers", "uploads", "tmp")
    out = set()
    for p in home.rglob("*"):
        rel = p.relative_to(home)
        if p.is_file() and rel.parts[0] not in skip and not rel.name.startswith(("catalog.", "presence.")):
            out.add(str(rel))
    return out


def read_plan(mid: str) -> list[tuple[str, str, set[int]]]:
    """Reads of every kind on the read-only server, each with the statuses it may answer."""
    plan = [("/healthz", {200}), ("/readyz", {200}), ("/metrics", {200}), ("/openapi.json", {200}), ("/docs", {200}),
            ("/cell-lines", {200}), ("/cell-lines/X3", {200}), ("/cell-lines/P1", {200}), ("/cell-lines/X3/qc", {200}),
            ("/cell-lines/P1/qc", {200, 409}), ("/cell-lines/NoSuch", {404}), ("/models", {200}),
            ("/models/latest", {200}), (f"/models/{mid}", {200}), (f"/models/{mid}/report", {200}),
            ("/predict/X3", {200}), ("/predict/X3?format=csv", {200}), ("/predict/X3?format=tsv", {200}),
            ("/predict/X3?genes=CAPN9,ILF2", {200}), (f"/predict/X3?model={mid}", {200}), ("/predict/X1", {200}),
            ("/predict/P1", {409}), ("/predict/P1?genes=CAPN9", {409}), ("/explain/CAPN9?cell_line=X3", {200}),
            ("/explain/CAPN9?cell_line=X3&top=5", {200}), ("/explain/CAPN9?cell_line=P1", {409}),
            ("/submission/X3?name=Doe_Jane", {200}), ("/submission/P1?name=Doe_Jane", {409}),
            ("/jobs/nosuchjob", {404})]  # fmt: skip
    return [("GET", p, ok) for p, ok in plan] + [("HEAD", "/cell-lines", {200, 405}), ("OPTIONS", "/predict/X3", {204})]


def attack_read_only(ctx: Ctx) -> Result:
    """Family 5: a server on 0.0.0.0 without a token: every write 403, reads never change the jobs/models tables."""
    from epigex.ingest.pipeline import ingest_dataset
    from tests.app.services.test_assaysets import partial_folder

    res = Result("5 read-only server")
    home = ctx.home("readonly")
    partial = partial_folder(ctx.demo_dir, ctx.work / "readonly" / "P1", {"P1": "X3"}, {"DNase": ("bigwig", "bed")})
    store = Store(home)
    ingest_dataset(store, partial)
    store.close()
    before, files_before = table_counts(home), store_files(home)
    log = ctx.log("readonly")
    with (
        running_server(home, log, host="0.0.0.0", env={"EPIGEX_API_TOKEN": None}) as s,
        httpx.Client(base_url=s.url, timeout=600) as c,
    ):
        mid = c.get("/models").json()[0]["id"]
        spec = c.get("/openapi.json").json()
        writes = [
            (m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m not in ("get", "head", "options")
        ]
        fill = {"{name}": "X3", "{model_id}": mid, "{cell_line}": "X3", "{job_id}": "x"}
        files = {k: (p.name, p.read_bytes()) for k, p in cell_files(ctx.demo_dir).items()}
        for method, path in writes:
            for key, value in fill.items():
                path = path.replace(key, value)
            bodies: list[tuple[str, dict[str, object]]] = [("bare", {}), ("with a token", {"headers": AUTH})]
            if path == "/models":
                bodies += [("quick", {"json": {"profile": "quick"}}), ("for_cell", {"json": {"for_cell": "P1"}})]
            if path == "/cell-lines":
                bodies += [("14 files", {"data": {"name": "X3w"}, "files": files})]
            for label, kw in bodies:
                r = c.request(method, path, **kw)  # type: ignore[arg-type]
                ok = r.status_code == 403 and "read-only" in r.text
                res.record(f"write {r.status_code}", ok, f"{method} {path} ({label}) -> {r.text[:200]}")
        plan = read_plan(mid)
        for _ in range(2):  # cold, then from memory
            for method, path, want in plan:
                r = c.request(method, path)
                res.record(
                    f"read {r.status_code}", r.status_code in want, f"{method} {path}: want {want} -> {r.text[:200]}"
                )
                if r.status_code == 405 and not any("405" in n for n in res.notes):
                    res.notes.append(f"observation: {method} {path} answers 405 with Allow: {r.headers.get('allow')}")
        after, files_after = table_counts(home), store_files(home)
    for table in ("jobs", "models"):
        res.check(f"{table} table unchanged by reads", after[table] == before[table], f"{before} -> {after}")
    res.check("no unhandled error in the log", not server_errors(log), server_errors(log)[:3])
    if after["predictions"] != before["predictions"] or files_after != files_before:
        new = sorted(files_after - files_before)
        res.notes.append(
            f"observation: reads on the read-only server added {after['predictions'] - before['predictions']} "
            f"predictions rows and {len(new)} store files (e.g. {', '.join(new[:3])})"
        )
    res.sent = f"{len(writes)} write routes (from /openapi.json) × bare / token / real body; {len(plan)} reads × 2"
    return res


# ---------------------------------------------------------------------------------------------- 6: kill -9


def _wait_healthz(url: str, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not start")


def _killed_round(ctx: Ctx, res: Result, home: Path, i: int, delay: float, train: bool) -> None:
    """Upload a cell (and queue a training), SIGKILL the server after ``delay`` s, restart it, check the store."""
    cell = f"K{i}"
    proc, port = launch(home, ctx.log("kill", f"round{i}-killed"), env=TOKEN_ENV)
    url = f"http://127.0.0.1:{port}"
    jobs: list[str] = []
    try:
        _wait_healthz(url)

        def client_side() -> None:
            with httpx.Client(base_url=url, timeout=120) as c:
                r = post_cell(c, cell, cell_files(ctx.demo_dir))  # type: ignore[arg-type]
                jobs.append(r.json()["job_id"])
                if train:
                    jobs.append(
                        c.post("/models", json={"profile": "quick", "cells": ["X1"]}, headers=AUTH).json()["job_id"]
                    )

        t = threading.Thread(target=lambda: _quiet(client_side), daemon=True)
        t0 = time.monotonic()
        t.start()
        time.sleep(max(0.0, delay - (time.monotonic() - t0)))
    finally:
        proc.kill()
        proc.wait()
    t.join(30)
    log = ctx.log("kill", f"round{i}-restarted")
    where = f"round {i} (kill at {delay:g} s{', training queued' if train else ''})"
    try:
        with running_server(home, log, env=TOKEN_ENV, timeout=120) as s, httpx.Client(base_url=s.url, timeout=300) as c:
            res.record("restarted", True)
            left = leftovers(home) + [p for p in (home / "tmp").rglob("*") if p.is_file()]
            res.check(f"{where}: no upload or tmp leftovers after restart", not left, left[:3])
            for path in ("/cell-lines", "/models"):
                st = c.get(path).status_code
                res.record(f"GET {path} {st}", st == 200, where)
            states = []
            for job_id in jobs:
                job = c.get(f"/jobs/{job_id}").json()
                states.append(f"{job.get('kind')} {job.get('status')} at {job.get('progress', 0):.2f}")
                res.record(f"job {job.get('status')}", job.get("status") in ("succeeded", "failed"), f"{where}: {job}")
            open_jobs = unfinished_jobs(home)
            res.check(f"{where}: no job queued or running in the catalog", not open_jobs, open_jobs)
            got = c.get(f"/cell-lines/{cell}")
            if got.status_code == 200:
                n_tracks = len(got.json().get("tracks", []))
                pred = c.get(f"/predict/{cell}", params={"genes": "CAPN9"}).status_code
                ok = n_tracks == 14 and pred == 200
                state = "cell present" if ok else "cell partial"
                res.record(state, ok, f"{where}: {n_tracks} tracks, predict {pred}")
            else:
                pred = c.get(f"/predict/{cell}").status_code
                ok = got.status_code == 404 and pred == 404
                state = "cell absent" if ok else f"cell {got.status_code}"
                res.record(state, ok, f"{where}: predict {pred}")
            res.notes.append(f"{where}: {'; '.join(states) or 'no job accepted before the kill'}; {state}")
    except AssertionError as err:
        res.record("restart failed", False, f"{where}: {err}"[:1500])
    res.check(f"{where}: no unhandled error after restart", not server_errors(log), server_errors(log)[:3])


def _quiet(fn: Any) -> None:
    try:
        fn()
    except (httpx.HTTPError, KeyError, ValueError):
        pass  # the server was killed under the client


# (delay in s, also queue a training): the first kills land in the upload, then in the ingest, then in the training
# (a quick training on X1 reports progress 0 for its first ~7 s, then 0.25 … 1 over the next ~5 s on 2 cores)
KILL_ROUNDS = [(0.2, False), (0.5, True), (1.0, False), (2.0, True), (3.5, False), (6.0, True), (10.0, True),
               (14.0, True), (20.0, False)]  # fmt: skip


def attack_kill(ctx: Ctx) -> Result:
    """Family 6: SIGKILL a token server at 9 points of an upload (and of a training), restart, check the store."""
    res = Result("6 kill -9")
    home = ctx.home("kill")
    rounds = [(0.3, False), (2.0, True), (12.0, True), (20.0, False)] if ctx.quick else KILL_ROUNDS
    for i, (delay, train) in enumerate(rounds):
        _killed_round(ctx, res, home, i, delay, train)
    at = ", ".join(f"{d:g}{'+T' if train else ''}" for d, train in rounds)
    res.sent = f"{len(rounds)} rounds: upload X3's 14 files (+T: and POST /models), SIGKILL at {at} s, restart"
    return res


# ---------------------------------------------------------------------------------------------- 8: load


def attack_load(ctx: Ctx) -> Result:
    """Family 8: 16 client threads of mixed reads for 60 s (15 s with --quick); any error is unacceptable."""
    res = Result("8 load, 16 threads")
    seconds = 15.0 if ctx.quick else 60.0
    home = ctx.home("load")
    env = {**TOKEN_ENV, "EPIGEX_LOG_LEVEL": "WARNING"}
    samples: dict[str, list[float]] = {}
    lock = threading.Lock()
    with running_server(home, ctx.log("load"), env=env) as s:
        genes = [p["gene_name"] for p in httpx.get(f"{s.url}/predict/X3", timeout=600).json()["predictions"]]
        httpx.get(f"{s.url}/explain/CAPN9", params={"cell_line": "X3"}, timeout=600)
        routes: dict[str, Callable[[random.Random], str]] = {
            "GET /predict/X3": lambda r: "/predict/X3",
            "GET /predict/X3?genes=": lambda r: "/predict/X3?genes=" + ",".join(r.sample(genes, r.randint(1, 20))),
            "GET /explain/CAPN9": lambda r: "/explain/CAPN9?cell_line=X3",
            "GET /models": lambda r: "/models",
            "GET /cell-lines": lambda r: "/cell-lines",
        }
        deadline = time.monotonic() + seconds

        def client(i: int) -> None:
            rng = random.Random(ctx.seed * 1000 + i)
            mine: list[tuple[str, str, float, str]] = []
            with httpx.Client(base_url=s.url, timeout=60) as c:
                while time.monotonic() < deadline:
                    name = rng.choice(list(routes))
                    url = routes[name](rng)
                    t0 = time.perf_counter()
                    try:
                        status = str(c.get(url).status_code)
                    except httpx.HTTPError as err:
                        status = type(err).__name__
                    mine.append((name, status, time.perf_counter() - t0, url))
            with lock:
                for name, status, dt, url in mine:
                    samples.setdefault(name, []).append(dt)
                    res.record(status, status == "200", f"{name}: {url[:100]}")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    res.check("no unhandled error in the log", not server_errors(ctx.log("load")), server_errors(ctx.log("load"))[:3])
    res.notes.append(f"{res.n:,} requests in {seconds:.0f} s ({res.n / seconds:,.0f}/s)")
    for name, dts in samples.items():
        p50, p99 = np.percentile(np.array(dts) * 1000, [50, 99])
        res.notes.append(f"{name}: {len(dts):,} requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    res.sent = f"16 threads × {seconds:.0f} s of {', '.join(routes)}"
    return res


# ---------------------------------------------------------------------------------------------- 9: schemathesis


def attack_schemathesis(ctx: Ctx) -> Result:
    """Family 9: schemathesis with every check (tests/app/api/test_schemathesis.py), without and with the token."""
    res = Result("9 schemathesis")
    home = ctx.home("schemathesis")
    log = ctx.log("schemathesis")
    with running_server(home, log, env=SERVER_ENV) as s:
        before = inventory(s.url)
        for label, extra in (("anonymous", ()), ("token", ("-H", f"Authorization: {AUTH['Authorization']}"))):
            run = schemathesis(s.url, *extra)
            (ctx.work / "schemathesis" / f"{label}.out").write_text(run.stdout + run.stderr)
            summary = [line for line in run.stdout.splitlines() if " generated" in line]
            counts = re.findall(r"(\d+) (passed|failed|skipped|errored)", summary[-1] if summary else "")
            for n, what in counts:  # one outcome per generated test case
                res.outcomes[f"{label} case {what}"] += int(n)
            res.record(f"{label} run: exit {run.returncode}", run.returncode == 0, run.stdout[-3000:])
            res.notes.append(f"{label}: {summary[-1].strip() if summary else run.stdout[-300:]}")
            if label == "anonymous":
                res.check("no fuzzed write got through without the token", inventory(s.url) == before)
    res.check("no 'Server error' in the log", "Server error" not in log.read_text(), "")
    res.check("no unhandled error in the log", not server_errors(log), server_errors(log)[:3])
    res.sent = "schemathesis --checks all (schemathesis.toml), without and with the token: test cases, then the 2 runs"
    return res


# ---------------------------------------------------------------------------------------------- the campaign

FAMILIES: dict[int, Callable[[Ctx], Result]] = {
    1: attack_fuzz,
    2: attack_auth,
    3: attack_traversal,
    4: attack_slow,
    5: attack_read_only,
    6: attack_kill,
    7: attack_two_servers,
    8: attack_load,
    9: attack_schemathesis,
}


def build_fixtures(root: Path) -> tuple[Path, Path]:
    """The demo dataset and a store with it ingested and a quick model trained (as tests/conftest.py does)."""
    from epigex.demo.dataset import write_demo
    from epigex.ingest.pipeline import ingest_dataset
    from epigex.models.pipeline import train_from_store

    demo = root / "data"
    write_demo(demo, seed=0, workers=2)
    store = Store(root / "store")
    ingest_dataset(store, demo)
    store.close()
    trained = root / "trained"
    shutil.copytree(root / "store", trained)
    store = Store(trained)
    train_from_store(store, None, "quick", seed=0, threads=2)
    store.close()
    return demo, trained


def run_family(k: int, ctx: Ctx, keep: Path) -> Result:
    """One family, timed; a crash of the campaign's own code is an unacceptable outcome too (with its traceback)."""
    t0 = time.perf_counter()
    fn = FAMILIES[k]
    try:
        res = fn(ctx)
    except Exception:
        res = Result(f"{k} {fn.__name__.removeprefix('attack_')}", sent="(the family crashed)")
        res.fail(traceback.format_exc()[-1500:])
    res.seconds = time.perf_counter() - t0
    for sub in ctx.work.iterdir():
        if sub.name != "fixtures":
            if not res.ok:
                for f in sub.rglob("*"):
                    if f.suffix in (".log", ".out") and f.is_file():
                        (keep / sub.name).mkdir(parents=True, exist_ok=True)
                        shutil.copy(f, keep / sub.name / f.name)
            shutil.rmtree(sub, ignore_errors=True)
    return res


def cells(res: Result) -> str:
    return ", ".join(f"{k} ×{v:,}" for k, v in sorted(res.outcomes.items(), key=lambda kv: (-kv[1], kv[0])))


def report(results: list[Result], wall: float, keep: Path) -> str:
    """The Markdown table, then notes and the unacceptable outcomes."""
    out = ["| family | what was sent | requests / files | outcomes | acceptable |", "| --- | --- | ---: | --- | --- |"]
    for r in results:
        verdict = "yes" if r.ok else f"**NO** ({r.bad:,} unacceptable)"
        out.append(f"| {r.family} | {r.sent} | {r.n:,} | {cells(r)} | {verdict} |".replace("\n", " "))
    out.append(f"\nTotal wall time: {wall:.0f} s ({wall / 60:.1f} min)")
    for r in results:
        out.append(f"\n### {r.family} ({r.seconds:.0f} s)")
        out += [f"- {n}" for n in r.notes]
        if r.ok:
            out.append("- every outcome acceptable")
        else:
            out.append(f"- **{r.bad:,} unacceptable outcomes**; examples:")
            out += ["  - " + e.replace("\n", "\n    ") for e in r.examples]
    if any(not r.ok for r in results):
        out.append(f"\nLogs of the failing families: {keep}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller fuzz, load and kill campaigns (a few minutes)")
    ap.add_argument("--only", default="", help="comma-separated family numbers (default: all nine)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    chosen = [int(x) for x in args.only.split(",") if x.strip()] or list(FAMILIES)
    t0 = time.perf_counter()
    keep = Path(tempfile.gettempdir()) / f"epigex-attack-logs-{time.strftime('%Y%m%d-%H%M%S')}"
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="epigex-attack-") as tmp:
        work = Path(tmp)
        print("building the demo dataset and a trained store …", file=sys.stderr, flush=True)
        demo, trained = build_fixtures(work / "fixtures")
        ctx = Ctx(demo, trained, work, args.quick, args.seed)
        for k in chosen:
            doc = (FAMILIES[k].__doc__ or "").splitlines()[0]
            print(f"family {k}: {doc.split(': ', 1)[-1]}", file=sys.stderr, flush=True)
            res = run_family(k, ctx, keep)
            results.append(res)
            print(
                f"  {res.n:,} sent, {'ok' if res.ok else f'{res.bad} UNACCEPTABLE'} ({res.seconds:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    print(report(results, time.perf_counter() - t0, keep))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
