"""How easy the house is to change, measured: long functions, untested modules, duplicated blocks, the road of a read.

- **long functions**: every function of 60 lines or more in the package (tests and benchmarks aside);
- **untested modules**: package modules that no test module imports (directly, by ``epigex.`` name);
- **duplicated blocks**: the ``duplicates`` tool's pair count over the repository, when the tool is installed;
- **the road of a read**: the package modules whose functions run while ``GET /predict/{cell}`` answers a cell
  whose predictions are in memory and while it answers the first time (traced with ``sys.setprofile`` on a real
  app over a demo store), and the calls on it from a lower layer up into a higher one (``ingest`` code calling
  ``app`` code, say); layers: ``store`` < ``ingest``, ``models``, ``demo`` < ``app`` < ``epigex`` (the API).

Run: ``python -m bench.house [--store DIR]`` (``--store``: a trained store to trace the read on; default: none,
the trace is skipped). Prints Markdown.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("epigex",)
LAYER = {"store": 0, "ingest": 1, "models": 1, "demo": 1, "app": 2, "epigex": 3}


def package_files() -> list[Path]:
    """Every Python module of the package (no tests, no benchmarks)."""
    out: list[Path] = []
    for top in PACKAGES:
        base = ROOT / top
        if base.is_dir():
            out += [p for p in sorted(base.rglob("*.py")) if not p.is_symlink() and "__pycache__" not in p.parts]
    return [p for p in out if not any(part.is_symlink() for part in p.parents)]


def module_name(path: Path) -> str:
    """The dotted name a module is imported by (``epigex.app.api.app``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def long_functions(files: list[Path], limit: int = 60) -> list[tuple[str, int, bool]]:
    """``(module:function, lines, has a written reason)`` for every function of ``limit`` lines or more."""
    out = []
    for f in files:
        text = f.read_text()
        lines = text.splitlines()
        for n in ast.walk(ast.parse(text)):
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.end_lineno:
                size = n.end_lineno - n.lineno + 1
                if size >= limit:
                    head_end = n.body[1].lineno if len(n.body) > 1 else n.end_lineno  # the docstring and the line after
                    reason = any("# long by design:" in x for x in lines[n.lineno : head_end])
                    out.append((f"{f.relative_to(ROOT)}:{n.name}", size, reason))
    return sorted(out, key=lambda x: -x[1])


def untested(files: list[Path]) -> list[str]:
    """Modules no test imports by name (``from epigex.x.y import`` or ``import epigex.x.y``)."""
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    imported = set(re.findall(r"(?:from|import)\s+(epigex(?:\.\w+)*)", tests))
    mods = [module_name(f) for f in files]
    return sorted(m for m in mods if m not in imported and not m.endswith(("__init__", ".py")) and m != "epigex")


def duplicate_pairs() -> str:
    """The duplicates tool's first line (pairs and files read), or why it is not there."""
    tool = shutil.which("duplicates")
    if tool is None:
        return "(the duplicates tool is not installed here)"
    out = subprocess.run([tool, "--seconds", "60"], capture_output=True, text=True, cwd=ROOT, timeout=120).stdout
    return out.splitlines()[0] if out else "(no output)"


def trace_read(store: Path, cell: str) -> tuple[list[str], list[str], list[str]]:
    """Modules on the road of ``GET /predict/{cell}`` (first answer, then from memory) and the climbs back up."""
    import threading

    from fastapi.testclient import TestClient

    from epigex.app.api.app import create_app
    from epigex.app.settings import Settings

    seen: list[str] = []
    recording = threading.Event()
    lock = threading.Lock()

    up: set[tuple[str, str]] = set()

    def layer(mod: str) -> int:
        return LAYER.get(mod.split(".")[1], 3)

    def profiler(frame, event, arg) -> None:  # type: ignore[no-untyped-def]
        if event == "call" and recording.is_set():
            mod = frame.f_globals.get("__name__", "")
            if mod.startswith("epigex."):
                caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back is not None else ""
                with lock:
                    if not seen or seen[-1] != mod:
                        seen.append(mod)
                    if caller.startswith("epigex.") and layer(mod) > layer(caller):
                        up.add((caller, mod))  # a lower layer calling a higher one

    threading.setprofile(profiler)  # every thread started from here on: the app's portal and worker threads
    sys.setprofile(profiler)
    try:
        with TestClient(create_app(Settings(home=store, api_token="t0ken-for-tracing"))) as client:
            runs = []
            for _ in range(2):
                seen.clear()
                recording.set()
                assert client.get(f"/predict/{cell}").status_code == 200
                recording.clear()
                runs.append(list(seen))
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]
        sys.setprofile(None)

    plumbing = tuple(f"epigex.app.api.{m}" for m in ("metrics", "streams", "guard", "deps", "errors"))

    def road(path: list[str]) -> list[str]:  # from the route on, the middleware every request passes aside
        start = next((i for i, m in enumerate(path) if m.startswith("epigex.app.api.routes.predict")), 0)
        return [m for m in dict.fromkeys(path[start:]) if not m.startswith(plumbing)]

    first, warm = road(runs[0]), road(runs[1])

    return first, warm, sorted(f"{a} → {b}" for a, b in up)


def main() -> None:
    """Print every measure."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", type=Path, default=None)
    ap.add_argument("--cell", default="X3")
    args = ap.parse_args()
    files = package_files()
    longs = long_functions(files)
    bare = sum(1 for *_, why in longs if not why)
    print(f"modules: {len(files)}\n\n## Functions of 60+ lines: {len(longs)} ({bare} without a written reason)\n")
    for name, n, why in longs:
        print(f"- {name} ({n}){'' if why else ' — no reason written'}")
    miss = untested(files)
    print(f"\n## Modules no test imports: {len(miss)} of {len(files)}\n")
    print(", ".join(miss))
    print(f"\n## Duplicated blocks\n\n{duplicate_pairs()}")
    if args.store is not None:
        first, warm, climbs = trace_read(args.store, args.cell)
        print(f"\n## GET /predict/{args.cell}: {len(first)} modules the first time, {len(warm)} from memory")
        print(f"\nfirst: {' → '.join(first)}\n\nwarm: {' → '.join(warm)}")
        print(f"\ncalls from a lower layer up into a higher one: {len(climbs)}" + "".join(f"\n- {c}" for c in climbs))


if __name__ == "__main__":
    main()
