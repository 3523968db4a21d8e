"""Settings read from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from epigex.app.settings import Settings


@pytest.mark.parametrize("blank", ["", "  "])
def test_blank_optional_settings_mean_unset(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    # docker compose passes an unset variable as "" (EPIGEX_DASK_SCHEDULER: ${EPIGEX_DASK_SCHEDULER:-}).
    for name in ("EPIGEX_DASK_SCHEDULER", "EPIGEX_API_TOKEN", "EPIGEX_DEMO_DIR"):
        monkeypatch.setenv(name, blank)
    settings = Settings()
    assert settings.dask_scheduler is None
    assert settings.api_token is None
    assert settings.demo_dir is None


def test_set_optional_settings_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPIGEX_DASK_SCHEDULER", "tcp://scheduler:8786")
    monkeypatch.setenv("EPIGEX_DEMO_DIR", "/srv/demo")
    settings = Settings()
    assert settings.dask_scheduler == "tcp://scheduler:8786"
    assert settings.demo_dir == Path("/srv/demo")


def test_a_tilde_in_the_store_path_is_the_users_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from epigex.store.catalog import Store

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("EPIGEX_HOME", "~/x")
    monkeypatch.setenv("EPIGEX_DEMO_DIR", "~/demo")
    settings = Settings()
    assert settings.home == tmp_path / "x"
    assert settings.demo_dir == tmp_path / "demo"
    assert Store("~/y").home == tmp_path / "y"
    assert (tmp_path / "y" / "catalog.duckdb").is_file()
