"""Settings of the CLI and the service, read from the environment (``EPIGEX_*``) once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.catalog import default_home


class Settings(BaseSettings):
    """``EPIGEX_HOME``, ``EPIGEX_API_TOKEN``, ``EPIGEX_MAX_UPLOAD_MB``, ``EPIGEX_THREADS``, ``EPIGEX_LOG_LEVEL``."""

    model_config = SettingsConfigDict(env_prefix="EPIGEX_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    api_token: str | None = None
    max_upload_mb: int = 4096
    threads: int = 2
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached; tests clear the cache after changing the environment)."""
    return Settings()
