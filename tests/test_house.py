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
    return sorted((ROOT / "epigex" / layer).rglob("*.py"))


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


def _build(kind: str, out: Path) -> Path:
    """Build the project's wheel or sdist into ``out`` (no isolation: the build backend of this environment)."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)]
    if kind == "sdist":
        code = "from setuptools.build_meta import build_sdist; print(build_sdist(__import__('sys').argv[1]))"
        cmd = [sys.executable, "-c", code, str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    (artifact,) = out.glob("epigex-*.whl" if kind == "wheel" else "epigex-*.tar.gz")
    return artifact


def test_the_wheel_holds_only_the_epigex_package(tmp_path: Path) -> None:
    """A wheel of the project holds ``epigex`` and its metadata, nothing else at the top level."""
    import zipfile

    wheel = _build("wheel", tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        tops = {n.split("/")[0] for n in zf.namelist()}
        names = zf.namelist()
    assert tops == {"epigex", next(t for t in tops if t.endswith(".dist-info"))}
    for module in ("epigex/api.py", "epigex/store/catalog.py", "epigex/app/cli/main.py", "epigex/py.typed"):
        assert module in names
    assert any(n.startswith("epigex/demo/data/ml4g/") for n in names)


def test_no_symlink_in_the_package() -> None:
    """The layers are real folders of ``epigex`` (no links: checkouts without symlinks work, nothing imports twice)."""
    links = [str(p.relative_to(ROOT)) for p in (ROOT / "epigex").rglob("*") if p.is_symlink()]
    assert links == []
    assert not [d for d in LAYERS if (ROOT / d).exists()], "a layer folder outside epigex/"


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_the_wheel_and_the_sdist_install_and_run(kind: str, tmp_path: Path) -> None:
    """Each artifact installs on its own (``pip install --target``) and its CLI runs from there, not the checkout."""
    import subprocess
    import sys

    artifact = _build(kind, tmp_path / "dist")
    target = tmp_path / "site"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--target",
            str(target),
            str(artifact),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    code = "import epigex, epigex.app.cli.main as m; print(epigex.__file__); m.main()"
    run = subprocess.run(
        [sys.executable, "-c", code, "features", "--markdown"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    first, _, rest = run.stdout.partition("\n")
    assert first.startswith(str(target / "epigex"))  # the installed copy ran, not the checkout
    assert rest == (ROOT / "docs" / "FEATURES.md").read_text()


def test_a_folder_named_epigex_does_not_shadow_the_install(tmp_path: Path) -> None:
    """From the clone's parent (where ``epigex/`` is the clone itself) ``import epigex`` is still the package."""
    import subprocess
    import sys

    (tmp_path / "epigex").mkdir()  # a namespace-package candidate, like a clone named epigex
    code = "import epigex; print(epigex.__file__); print(epigex.__version__); print('predict' in dir(epigex))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    where, ver, listed = r.stdout.split("\n")[:3]
    assert where == str(ROOT / "epigex" / "__init__.py"), "install with `make` (it adds epigex-source.pth)"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", ver)
    assert listed == "True"


def test_the_package_lists_its_api() -> None:
    import epigex

    assert {"predict", "train", "ingest", "open_store", "__version__"} <= set(dir(epigex))
    assert epigex.__version__ == __import__("importlib.metadata").metadata.version("epigex")
