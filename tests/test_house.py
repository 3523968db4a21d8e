"""The house rules, checked on the source: the store owns every SQL statement, and the layers import downwards."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("app", "ingest", "models", "store", "demo")
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|CREATE\s+TABLE|ALTER\s+TABLE)\b", re.S
)
# who may import whom (besides itself): the store is the foundation, app the top
ALLOWED = {
    "store": set(),
    "ingest": {"store"},
    "models": {"store"},
    "demo": {"store", "ingest"},
    "app": {"store", "ingest", "models", "demo"},
}


def modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def test_no_sql_outside_the_store() -> None:
    found = []
    for layer in LAYERS:
        if layer == "store":
            continue
        for path in modules(layer):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}")
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("query", "execute", "sql")
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.func.attr}(...)")
    assert found == [], "SQL belongs in store/: " + "; ".join(found)


def test_the_sql_detector_sees_sql() -> None:
    assert SQL.search("SELECT name FROM cell_lines")
    assert SQL.search("INSERT INTO jobs VALUES (?)")
    assert not SQL.search("select a file from the list")


@pytest.mark.parametrize("layer", LAYERS)
def test_layers_import_downwards(layer: str) -> None:
    wrong = []
    for path in modules(layer):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                if parts[0] in LAYERS:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name} (import epigex.{name})")
                    continue
                top = parts[1] if parts[0] == "epigex" and len(parts) > 1 else ""
                if top in LAYERS and top != layer and top not in ALLOWED[layer]:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert wrong == []


def test_installs_only_the_epigex_package(tmp_path: Path) -> None:
    """A wheel of the project holds ``epigex`` and its metadata, nothing else at the top level."""
    import subprocess
    import sys
    import zipfile

    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    (wheel,) = tmp_path.glob("epigex-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        tops = {n.split("/")[0] for n in zf.namelist()}
        names = zf.namelist()
    assert tops == {"epigex", next(t for t in tops if t.endswith(".dist-info"))}
    for module in ("epigex/api.py", "epigex/store/catalog.py", "epigex/app/cli/main.py", "epigex/py.typed"):
        assert module in names
    assert any(n.startswith("epigex/demo/data/ml4g/") for n in names)
