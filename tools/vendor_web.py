"""Vendor the web UI's third-party assets from pinned npm releases: the file, its licence and its checksum.

Run: ``python tools/vendor_web.py`` (needs ``npm`` and the npm registry; nothing is fetched at install or run
time). For each pinned package it runs ``npm pack NAME@VERSION``, checks the tarball against the registry's
``dist.integrity`` (SHA-512), copies the files the UI uses and the package's licence into
``epigex/app/web/static/vendor/<name>/``, and writes ``SOURCE.md`` there with the version and each file's SHA-256,
which ``tests/app/web/test_assets.py`` holds the vendored files to.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "epigex" / "app" / "web" / "static" / "vendor"
PINNED = {"igv": ("3.8.10", ["dist/igv.min.js"], "LICENSE")}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendor(name: str, version: str, files: list[str], licence: str) -> None:
    meta = json.loads(subprocess.check_output(["npm", "view", f"{name}@{version}", "dist", "--json"], text=True))
    algo, _, digest = meta["integrity"].partition("-")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"{name}@{version}", "--silent"], cwd=tmp, check=True, capture_output=True)
        (tarball,) = Path(tmp).glob("*.tgz")
        got = base64.b64encode(hashlib.new(algo, tarball.read_bytes()).digest()).decode()
        if got != digest:
            raise SystemExit(f"{tarball.name}: {algo} {got} is not the registry's {digest}")
        out = VENDOR / name
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as tf:
            for member in [*files, licence]:
                data = tf.extractfile(f"package/{member}")
                assert data is not None
                (out / Path(member).name).write_bytes(data.read())
    lines = [
        f"# {name} {version}",
        "",
        f"From the npm registry: `npm pack {name}@{version}` (tarball {meta['integrity']}), by `tools/vendor_web.py`.",
        f"Licence: {licence} (beside this file).",
        "",
        "| file | sha256 |",
        "| --- | --- |",
        *(f"| {Path(f).name} | {sha256(out / Path(f).name)} |" for f in [*files, licence]),
        "",
    ]
    (out / "SOURCE.md").write_text("\n".join(lines))
    print(f"vendored {name} {version} into {out.relative_to(ROOT)}")


if __name__ == "__main__":
    for pkg, (ver, wanted, lic) in PINNED.items():
        vendor(pkg, ver, wanted, lic)
