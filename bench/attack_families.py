"""The shared parts of ``bench/attack.py`` (the result row, the context, a raw HTTP/1.1 client, store snapshots) and
three of its families: malformed auth headers (2), path traversal (3) and two servers on one store (7).

Each family starts its own ``epigex serve`` processes on a private copy of the trained store and stops them.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from epigex.store.catalog import Store
from tests.app.api.conftest import AUTH, TOKEN, cell_files, post_cell, wait_job
from tests.app.api.serverproc import running_server
from tests.app.api.test_boundary import BOUNDARY, leftovers, multipart_headers, part
from tests.app.api.test_schemathesis import inventory

MAX_EXAMPLES = 12
TOKEN_ENV: dict[str, str | None] = {"EPIGEX_API_TOKEN": TOKEN}


@dataclass
class Result:
    """One family's row: what was sent, how each request ended, and which outcomes were not acceptable."""

    family: str
    sent: str = ""
    outcomes: Counter[str] = field(default_factory=Counter)
    bad: int = 0
    examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def n(self) -> int:
        return sum(self.outcomes.values())

    @property
    def ok(self) -> bool:
        return self.bad == 0

    def record(self, outcome: str, ok: bool, example: str = "") -> None:
        """Count one request's outcome; keep an example of an unacceptable one."""
        self.outcomes[outcome] += 1
        if not ok:
            self.fail(f"{outcome}: {example}")

    def fail(self, example: str) -> None:
        """An unacceptable outcome (a request's, or a broken invariant of the store or the server)."""
        self.bad += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example[:1500])

    def check(self, what: str, ok: bool, detail: object = "") -> None:
        """An invariant after the requests (not counted as a request)."""
        if not ok:
            self.fail(f"check failed: {what}: {detail}")


@dataclass
class Ctx:
    """The inputs every family shares: the demo data, the trained store (never written) and a work folder."""

    demo_dir: Path
    trained: Path
    work: Path
    quick: bool
    seed: int

    def home(self, name: str, *under: str) -> Path:
        """A private copy of the trained store at ``work/name/.../home``."""
        dst = self.work.joinpath(name, *under, "home")
        shutil.copytree(self.trained, dst)
        return dst

    def log(self, name: str, what: str = "server") -> Path:
        (self.work / name).mkdir(parents=True, exist_ok=True)
        return self.work / name / f"{what}.log"


# ---------------------------------------------------------------------------------------------- raw HTTP


@dataclass
class Answer:
    """A raw HTTP answer (status 0: no answer at all)."""

    status: int
    head: bytes
    body: bytes

    def detail(self) -> str | None:
        try:
            got = json.loads(self.body)
        except ValueError:
            return None
        return got.get("detail") if isinstance(got, dict) and isinstance(got.get("detail"), str) else None

    def header(self, name: bytes) -> bytes | None:
        for line in self.head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == name:
                return v.strip()
        return None

    def short(self) -> str:
        return f"HTTP {self.status} {self.body[:200]!r}"


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, rest = data.partition(b"\r\n")
        n = int(size.split(b";")[0] or b"0", 16)
        if n == 0:
            break
        out, data = out + rest[:n], rest[n + 2 :]
    return out


def send_raw(
    port: int,
    method: str,
    target: str | bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    timeout: float = 120.0,
) -> Answer:
    """Send exactly these bytes (no normalisation of the target or the headers); read until the server closes."""
    tgt = target if isinstance(target, bytes) else target.encode()
    lines = [method.encode() + b" " + tgt + b" HTTP/1.1", f"Host: 127.0.0.1:{port}".encode(), b"Connection: close"]
    lines += [k + b": " + v for k, v in headers or []]
    if body:
        lines.append(f"Content-Length: {len(body)}".encode())
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        except OSError:
            pass  # answered (and closed) before the body was sent: read the answer
        try:
            while chunk := s.recv(65536):
                data += chunk
        except OSError:
            pass
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    answer = Answer(status, head, rest)
    if (answer.header(b"transfer-encoding") or b"").lower() == b"chunked":
        answer.body = _dechunk(rest)
    return answer


def multipart(fields: list[tuple[str, bytes, str | bytes | None]]) -> bytes:
    """A multipart body; a bytes file name is written as is (NUL, quotes, non-UTF-8)."""
    out = b""
    for name, data, filename in fields:
        if isinstance(filename, bytes):
            disp = f'form-data; name="{name}"; filename="'.encode() + filename + b'"'
            out += f"--{BOUNDARY}\r\nContent-Disposition: ".encode() + disp + b"\r\n\r\n" + data + b"\r\n"
        else:
            out += part(name, data, filename)
    return out + f"--{BOUNDARY}--\r\n".encode()


MP = [(k.encode(), v.encode()) for k, v in multipart_headers(auth=False).items()]
MP_AUTH = [*MP, (b"Authorization", f"Bearer {TOKEN}".encode())]


def table_counts(
    home: Path, tables: tuple[str, ...] = ("jobs", "models", "cell_lines", "predictions")
) -> dict[str, int]:
    """Rows per catalog table (a short-lived store handle: never left holding the store's presence lock)."""
    store = Store(home, gc=False)
    try:
        return {t: int(store.query(f"SELECT count(*) FROM {t}")[0][0]) for t in tables}
    finally:
        store.close()


def unfinished_jobs(home: Path) -> list[tuple[str, str, str]]:
    store = Store(home, gc=False)
    try:
        rows = store.query("SELECT id, kind, status FROM jobs WHERE status NOT IN ('succeeded', 'failed')")
        return [(str(a), str(b), str(c)) for a, b, c in rows]
    finally:
        store.close()


def files_outside(root: Path, home: Path) -> set[str]:
    """Every file under ``root`` but outside ``home``."""
    return {str(p) for p in root.rglob("*") if p.is_file() and home not in p.parents}


def server_errors(log: Path) -> list[str]:
    text = log.read_text(errors="replace") if log.exists() else ""
    return [line[:300] for line in text.splitlines() if "unhandled error" in line or "Traceback" in line]


# ---------------------------------------------------------------------------------------------- 2: auth


def auth_variants() -> list[tuple[str, list[tuple[bytes, bytes]]]]:
    """32 Authorization headers that must not authorise a write."""
    t, a = TOKEN.encode(), b"Authorization"

    def one(v: bytes) -> list[tuple[bytes, bytes]]:
        return [(a, v)]

    return [
        ("no header", []),
        ("empty value", one(b"")),
        ("'Bearer'", one(b"Bearer")),
        ("'Bearer '", one(b"Bearer ")),
        ("wrong token", one(b"Bearer wrong-token")),
        ("token minus its last char", one(b"Bearer " + t[:-1])),
        ("token plus 'x'", one(b"Bearer " + t + b"x")),
        ("token upper-cased", one(b"Bearer " + t.upper())),
        ("token twice", one(b"Bearer " + t + b" " + t)),
        ("token without scheme", one(t)),
        ("Basic user:token", one(b"Basic " + base64.b64encode(b"user:" + t))),
        ("Basic token", one(b"Basic " + t)),
        ("Token scheme", one(b"Token " + t)),
        ("'Bearer:token'", one(b"Bearer:" + t)),
        ("'Bearertoken'", one(b"Bearer" + t)),
        ("tab after scheme", one(b"Bearer\t" + t)),
        ("list: wrong, right", one(b"Bearer wrong, Bearer " + t)),
        ("token + 0x1f (unit separator)", one(b"Bearer " + t + b"\x1f")),
        ("token + 0x85 (latin-1 NEL)", one(b"Bearer " + t + b"\x85")),
        ("token + 0xa0 (latin-1 NBSP)", one(b"Bearer " + t + b"\xa0")),
        ("0xa0 + token", one(b"Bearer \xa0" + t)),
        ("latin-1 lookalike token", one("Bearer s3cret-tökén".encode("latin-1"))),
        ("UTF-8 homoglyph token", one("Bearer ѕ3cret-token".encode())),
        ("8 KB token", one(b"Bearer " + b"A" * 8192)),
        ("16 KB token", one(b"Bearer " + b"A" * 16384)),
        ("token + NUL", one(b"Bearer " + t + b"\x00")),
        ("two headers: wrong, right", [(a, b"Bearer wrong"), (a, b"Bearer " + t)]),
        ("two headers: right, wrong", [(a, b"Bearer " + t), (a, b"Bearer wrong")]),
        ("two headers: right, empty", [(a, b"Bearer " + t), (a, b"")]),
        ("header 'Authorisation'", [(b"Authorisation", b"Bearer " + t)]),
        ("space before the colon", [(b"Authorization ", b"Bearer " + t)]),
        ("Proxy-Authorization", [(b"Proxy-Authorization", b"Bearer " + t)]),
    ]


# RFC 9110/6750: the scheme is case-insensitive, 1*SP separates it, OWS around a field value is not part of it
# (h11 strips it). These carry the right token, so they are sent where passing the guard changes nothing.
EQUIVALENT = [
    ("lower-case scheme", b"bearer "),
    ("upper-case scheme", b"BEARER "),
    ("two spaces", b"Bearer  "),
]
EQUIVALENT_SUFFIX = [("trailing spaces", b"   "), ("trailing tab", b"\t")]


def attack_auth(ctx: Ctx) -> Result:
    """Family 2: malformed Authorization headers on POST /models and DELETE /cell-lines/X3."""
    res = Result("2 auth headers")
    home = ctx.home("auth")
    log = ctx.log("auth")
    env = {**TOKEN_ENV, "EPIGEX_JOB_TIMEOUT_S": "10"}  # a write that got through would train: keep it short
    variants = auth_variants()
    with running_server(home, log, env=env) as s:
        before, jobs_before = inventory(s.url), table_counts(home)["jobs"]
        body = json.dumps({"profile": "quick"}).encode()
        for method, target, payload in (("POST", "/models", body), ("DELETE", "/cell-lines/X3", b"")):
            for label, hdrs in variants:
                extra = [(b"Content-Type", b"application/json")] if payload else []
                ans = send_raw(s.port, method, target, [*hdrs, *extra], payload)
                ok = ans.status == 401 or (ans.status in (400, 431) and label in ("16 KB token", "token + NUL"))
                ok = ok or (ans.status == 400 and label == "space before the colon")
                www = ans.header(b"www-authenticate") if ans.status == 401 else b"Bearer"
                ok = ok and bool(www) and b"Bearer" in (www or b"")
                res.record(str(ans.status), ok, f"{method} {target} with {label} {hdrs[:1]!r} -> {ans.short()}")
        # Headers equal to the right one per the RFCs, on targets where passing the guard changes nothing.
        t = TOKEN.encode()
        equal = [(lbl, p + t) for lbl, p in EQUIVALENT] + [
            (lbl, b"Bearer " + t + sfx) for lbl, sfx in EQUIVALENT_SUFFIX
        ]
        harmless = json.dumps({"profile": "quick", "cells": ["NoSuchCell"]}).encode()
        for label, value in equal:
            for method, target, payload in (("POST", "/models", harmless), ("DELETE", "/cell-lines/NoSuchCell", b"")):
                extra = [(b"Content-Type", b"application/json")] if payload else []
                ans = send_raw(s.port, method, target, [(b"Authorization", value), *extra], payload)
                res.record(
                    f"RFC-equal {ans.status}", ans.status in (401, 404), f"{method} {target} {label} -> {ans.short()}"
                )
        after, jobs_after = inventory(s.url), table_counts(home)["jobs"]
        res.check("cell lines and models unchanged", after == before, f"{before} -> {after}")
        res.check("no job created", jobs_after == jobs_before, f"{jobs_before} -> {jobs_after} jobs")
    res.check("no unhandled error in the log", not server_errors(log), server_errors(log)[:3])
    res.sent = (
        f"{len(variants)} malformed Authorization headers × (POST /models, DELETE /cell-lines/X3); "
        f"{len(equal)} RFC-equal ones on harmless targets"
    )
    return res


# ---------------------------------------------------------------------------------------------- 3: traversal


def traversal_payloads(abs_dir: Path) -> list[str]:
    """Path and query values (written into the target as is when printable ASCII, else percent-encoded)."""
    return ["..", "../", "../../../../etc/passwd", "..%2f..%2f..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "%2e%2e", "%252e%252e%252fetc%252fpasswd", "..\\..\\..\\etc\\passwd", "..%5c..%5cetc%5cpasswd",
            "/etc/passwd", f"{abs_dir}/pwned", "X3%00", "X3%00.bw", "%c0%ae%c0%ae%c0%afetc%c0%afpasswd",
            "\u2025\u2215etc\u2215passwd", "\uff0e\uff0e\uff0fetc\uff0fpasswd", "....//....//etc/passwd", "X3/../X1",
            "A" * 4096, "catalog.duckdb"]  # fmt: skip


TRAVERSAL_TARGETS = [
    ("GET", "/predict/{}"),
    ("GET", "/predict/X3?genes=CAPN9&model={}"),
    ("GET", "/explain/{}?cell_line=X3"),
    ("GET", "/explain/CAPN9?cell_line={}"),
    ("GET", "/submission/X3?name={}"),
    ("GET", "/submission/{}"),
    ("GET", "/models/{}/report"),
    ("GET", "/models/{}"),
    ("GET", "/cell-lines/{}"),
    ("GET", "/cell-lines/{}/qc"),
    ("GET", "/jobs/{}"),
    ("DELETE", "/cell-lines/{}"),
    ("POST", "/models/{}/activate"),
]


def _enc(p: str) -> str:
    return p if all(32 < ord(c) < 127 and c not in "#?&" for c in p) else quote(p, safe="/%")


def _judge_leak(ans: Answer, secrets_: list[bytes]) -> str | None:
    if b"root:" in ans.body:
        return "body holds 'root:'"
    for s in secrets_:
        if s in ans.body or s in ans.head:
            return f"answer shows a server path {s!r}"
    return None


def attack_traversal(ctx: Ctx) -> Result:
    """Family 3: traversal in path parameters, query values, the upload's name field and client file names."""
    res = Result("3 traversal")
    root = ctx.work / "traversal"
    home = ctx.home("traversal", "out", "a", "b")
    abs_dir = root / "abs"
    abs_dir.mkdir(parents=True)
    log = ctx.log("traversal")
    leaks = [str(home).encode(), str(home.parent).encode()]  # the store path (payloads only hold abs_dir's)
    payloads = traversal_payloads(abs_dir)
    if ctx.quick:  # each payload on three targets, in turn
        pairs = [
            (p, TRAVERSAL_TARGETS[(i * 3 + k) % len(TRAVERSAL_TARGETS)])
            for i, p in enumerate(payloads)
            for k in range(3)
        ]
    else:
        pairs = [(p, t) for p in payloads for t in TRAVERSAL_TARGETS]
    bed = (ctx.demo_dir / "DNase-bed" / "X3.bed").read_bytes()
    names = ["../evil", "..", f"{abs_dir}/evil", "X3/../../evil", "%2e%2e%2fevil", "evil\x00", "..\\evil", "A" * 5000,
             "\u2024\u2024/evil", "\uff0e\uff0e\uff0fevil"]  # fmt: skip
    filenames: list[str | bytes] = ["../../../../../../evil.bw", f"{abs_dir}/evil.bw", "..\\..\\..\\evil.bw",
                                    b"evil\x00.bw", "%2e%2e%2fevil.bw", "\u2025/evil.bw", "A" * 9000 + ".bw",
                                    b'x.bw"; name="genes']  # fmt: skip
    uploads: list[tuple[str, bytes]] = [
        (f"name {n[:30]!r}", multipart([("name", n.encode(), None), ("DNase_bed", bed, "X3.bed")])) for n in names
    ]
    uploads += [
        (f"file name {f[:30]!r}", multipart([("name", b"TravF", None), ("DNase_bigwig", b"not a bigwig" * 100, f)]))
        for f in filenames
    ]
    uploads += [
        (f"field name {f!r}", multipart([("name", b"TravG", None), (f, bed, "X3.bed")]))
        for f in ("../DNase_bed", "DNase_bed/../../x")
    ]
    with running_server(home, log, env=TOKEN_ENV) as s:
        outside = files_outside(root, home)
        for p, (method, tmpl) in pairs:
            target = tmpl.format(_enc(p))
            auth = [(b"Authorization", f"Bearer {TOKEN}".encode())] if method != "GET" else []
            ans = send_raw(s.port, method, target, auth)
            label = str(ans.status)
            if 300 <= ans.status < 400:  # a redirect (trailing slash): follow it once, as a client would
                loc = (ans.header(b"location") or b"").decode("latin-1")
                if len(res.notes) < 3:
                    res.notes.append(f"redirect: {method} {target} -> {ans.status} Location: {loc}")
                follow = send_raw(s.port, method, "/" + loc.split("/", 3)[-1] if loc.startswith("http") else loc, auth)
                label, ans = f"{ans.status}→{follow.status}", follow
            leak = _judge_leak(ans, leaks)
            ok = 400 <= ans.status < 500 and ans.detail() is not None and leak is None
            res.record(label, ok, f"{method} {target[:120]} -> {ans.short()} {leak or ''}")
        for label, body in uploads:
            ans = send_raw(s.port, "POST", "/cell-lines", MP_AUTH, body)
            leak = _judge_leak(ans, leaks)
            ok = 400 <= ans.status < 500 and ans.detail() is not None and leak is None
            res.record(str(ans.status), ok, f"POST /cell-lines {label} -> {ans.short()} {leak or ''}")
        # A valid upload whose client file names are paths: accepted (202), the names kept as text only.
        hostile = f"../../../../../..{abs_dir}/"
        files = cell_files(ctx.demo_dir)
        body = multipart(
            [("name", b"TravOK", None)] + [(k, p.read_bytes(), hostile + p.name) for k, p in files.items()]
        )
        ans = send_raw(s.port, "POST", "/cell-lines", MP_AUTH, body)
        res.record(f"valid upload, path file names: {ans.status}", ans.status == 202, ans.short())
        if ans.status == 202:
            with httpx.Client(base_url=s.url, timeout=60) as c:
                job = wait_job(c, json.loads(ans.body)["job_id"], timeout=900)
                res.check(
                    "the upload with path file names was ingested", job["status"] == "succeeded", job.get("error")
                )
                tracks = c.get("/cell-lines/TravOK").json().get("tracks", [])
                kept = [t.get("original_name", "") for t in tracks]
                res.check(
                    "client file names kept without their path",
                    len(kept) == 14 and all("/" not in k and ".." not in k for k in kept),
                    kept[:3],
                )
    res.check(
        "no file created outside the store", files_outside(root, home) == outside, files_outside(root, home) - outside
    )
    res.check("nothing left in uploads/", leftovers(home) == [], leftovers(home)[:3])
    res.check("no unhandled error in the log", not server_errors(log), server_errors(log)[:3])
    each = " (3 routes each)" if ctx.quick else ""
    res.sent = (
        f"{len(payloads)} traversal values × {len(TRAVERSAL_TARGETS)} routes{each}; {len(uploads)} hostile "
        "uploads (name field, client file names, field names); 1 valid upload with path file names"
    )
    return res


# ---------------------------------------------------------------------------------------------- 7: two servers


def attack_two_servers(ctx: Ctx) -> Result:
    """Family 7: two servers on one store; uploads on one, reads and a delete on the other, reads all along."""
    res = Result("7 two servers, one store")
    home = ctx.home("two")
    stop = threading.Event()
    reads: Counter[str] = Counter()

    def read_loop(url: str) -> None:
        paths = ["/predict/X3?genes=CAPN9", "/cell-lines", "/models", "/healthz", "/readyz"]
        with httpx.Client(base_url=url, timeout=60) as c:
            k = 0
            while not stop.is_set():
                try:
                    reads[str(c.get(paths[k % len(paths)]).status_code)] += 1
                except httpx.HTTPError as err:
                    reads[type(err).__name__] += 1
                k += 1
                time.sleep(0.2)

    def upload(c: httpx.Client, name: str) -> str:
        r = post_cell(c, name, cell_files(ctx.demo_dir))  # type: ignore[arg-type]
        res.record(f"upload {r.status_code}", r.status_code == 202, f"{name}: {r.text[:200]}")
        return str(r.json().get("job_id", ""))

    def settled(c: httpx.Client, name: str, job_id: str) -> None:
        job = wait_job(c, job_id, timeout=900) if job_id else {"status": "none"}
        res.record(f"ingest {job['status']}", job["status"] == "succeeded", f"{name}: {job.get('error')}")

    def seen(c: httpx.Client, name: str, want: int) -> None:
        for path in (f"/cell-lines/{name}", f"/predict/{name}?genes=CAPN9"):
            st = c.get(path).status_code
            res.record(f"cross-read {st}", st == want, f"GET {path} on the other server: want {want}")

    with ExitStack() as stack:
        a = stack.enter_context(running_server(home, ctx.log("two", "a"), env=TOKEN_ENV))
        b = stack.enter_context(running_server(home, ctx.log("two", "b"), env=TOKEN_ENV))
        ca = stack.enter_context(httpx.Client(base_url=a.url, timeout=300, headers=AUTH))
        cb = stack.enter_context(httpx.Client(base_url=b.url, timeout=300, headers=AUTH))
        readers = [threading.Thread(target=read_loop, args=(u,)) for u in (a.url, b.url)]
        for t in readers:
            t.start()
        try:
            settled(ca, "Two1", upload(ca, "Two1"))
            seen(cb, "Two1", 200)
            settled(cb, "Two2", upload(cb, "Two2"))
            seen(ca, "Two2", 200)
            st = cb.delete("/cell-lines/Two1").status_code
            res.record(f"delete {st}", st == 204, "DELETE /cell-lines/Two1 on B")
            seen(ca, "Two1", 404)
            if not ctx.quick:  # two ingests at once, one per server
                j3, j4 = upload(ca, "Two3"), upload(cb, "Two4")
                settled(ca, "Two3", j3)
                settled(cb, "Two4", j4)
                seen(cb, "Two3", 200)
                seen(ca, "Two4", 200)
            res.check("both inventories agree", inventory(a.url) == inventory(b.url))
        finally:
            stop.set()
            for t in readers:
                t.join()
        for outcome, n in reads.items():
            for _ in range(n):
                res.record(f"read {outcome}", outcome == "200", "a read on either server while the other wrote")
    for name in ("a", "b"):
        errs = server_errors(ctx.log("two", name))
        res.check(f"no unhandled error on server {name}", not errs, errs[:3])
    res.sent = (
        "2 servers on one store: uploads on each, cross-reads, a delete"
        + ("" if ctx.quick else ", 2 ingests at once")
        + "; reads on both all along"
    )
    return res
