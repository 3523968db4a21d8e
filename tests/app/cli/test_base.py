"""How the CLI tells a user to run it: the command that works from where they stand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from epigex.app.cli import base


def _script(folder: Path, with_activate: bool) -> Path:
    folder.mkdir(parents=True)
    script = folder / "epigex"
    script.write_text("#!/bin/sh\n")
    if with_activate:
        (folder / "activate").write_text("# venv\n")
    return script


def test_a_venv_script_off_path_says_activate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _script(tmp_path / ".venv" / "bin", with_activate=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.setattr(base.shutil, "which", lambda name: None)
    assert base.how_to_run() == ("source .venv/bin/activate", "epigex")


def test_a_script_on_path_is_bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _script(tmp_path / "bin", with_activate=True)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.setattr(base.shutil, "which", lambda name: str(script))
    assert base.how_to_run() == (None, "epigex")


def test_another_epigex_on_path_does_not_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _script(tmp_path / "mine", with_activate=False)
    other = _script(tmp_path / "other", with_activate=False)
    monkeypatch.chdir(tmp_path / "other")
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.setattr(base.shutil, "which", lambda name: str(other))
    assert base.how_to_run() == (None, str(script))  # outside the working folder: absolute


def test_python_dash_m(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(Path(base.__file__).with_name("main.py")), "demo"])
    activate, cmd = base.how_to_run()
    assert activate is None
    assert cmd == f"{Path(sys.executable).absolute()} -m epigex"
