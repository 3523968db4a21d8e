"""The demo's carried course files resolve from the installed package, whatever the working folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_course_files_resolve_outside_the_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = "from epigex.demo.dataset import course_file; print(course_file('global_track_stats.json').is_file())"
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "True"
