"""Settings of the CLI and the service, read from the environment (``EPIGEX_*``) once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from epigex.app.runtime import default_threads
from epigex.ingest.limits import ReadLimits
from epigex.store.catalog import default_home


class Settings(BaseSettings):
    """Every ``EPIGEX_*`` setting.

    ``HOME`` (the store), ``API_TOKEN`` (bearer token for writes; see :mod:`app.api.guard`), ``MAX_UPLOAD_MB``
    (per file), ``THREADS`` (booster fits run side by side, and ingest threads; default: the CPUs this process
    may use, by affinity and cgroup quota, at most 8; each booster is single-threaded, so models are the same
    whatever it is),
    ``LOG_LEVEL``, ``JOB_WORKERS`` (jobs run at once),
    ``BENCH_ENDPOINTS`` (serve ``/bench/floor`` for ``bench/serve.py``), ``SEED_DEMO`` (on first start with an
    empty store, generate the demo dataset, ingest it and train a quick model), ``DEMO_DIR`` (where; default
    ``$EPIGEX_HOME/demo``), ``DASK_SCHEDULER`` (``tcp://host:8786``: run ingest track jobs on that cluster),
    ``MAX_TRACK_SET_MODELS`` (models kept for cell lines with some of the tracks; the least recently used beyond it
    are dropped); the quotas of each user (not the admin) once the store has users, ``MAX_JOBS_PER_USER``
    (unfinished jobs at once) and ``UPLOAD_MB_PER_DAY`` (bytes uploaded per UTC day); the connection limits
    ``HEADER_TIMEOUT_S``, ``BODY_TIMEOUT_S`` (longest pause in a body),
    ``BODY_GRACE_S`` and ``BODY_MIN_RATE`` (a body must average this many bytes/s after the grace),
    ``MAX_BODY_STREAMS`` (requests with a body at once, at most half of ``MAX_CONNECTIONS``) — see
    :mod:`app.api.protocol` and :mod:`app.api.streams`.
    """

    model_config = SettingsConfigDict(env_prefix="EPIGEX_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    api_token: str | None = None
    max_upload_mb: int = 4096
    threads: int = Field(default_factory=default_threads, ge=1)
    log_level: str = "INFO"
    job_workers: int = 1
    bench_endpoints: bool = False
    seed_demo: bool = False
    demo_dir: Path | None = None
    dask_scheduler: str | None = None
    max_track_memory_mb: int = Field(default=2048, ge=16)
    max_track_seconds: float = Field(default=900.0, gt=0)
    max_inflate_ratio: float = Field(default=200.0, ge=1)
    job_timeout_s: float = Field(default=3600.0, gt=0)
    max_queued_jobs: int = Field(default=8, ge=1)
    allow_open_writes: bool = False
    read_only: bool = False
    bind_host: str = "127.0.0.1"
    header_timeout_s: float = Field(default=10.0, gt=0)
    body_timeout_s: float = Field(default=60.0, gt=0)
    body_grace_s: float = Field(default=10.0, gt=0)
    body_min_rate: float = Field(default=1024.0, gt=0)
    max_body_streams: int = Field(default=64, ge=1)
    keep_alive_s: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=1000, ge=1)
    max_track_set_models: int = Field(default=8, ge=1)
    max_jobs_per_user: int = Field(default=2, ge=1)
    upload_mb_per_day: int = Field(default=51200, ge=1)

    @field_validator("api_token", "dask_scheduler", "demo_dir", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """A blank value (``EPIGEX_DASK_SCHEDULER=`` as compose passes an unset variable) means not set."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("home", "demo_dir", mode="after")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        """``~`` is the user's home, as a shell would read it (``EPIGEX_HOME='~/x'`` is not a folder named ``~``)."""
        return value.expanduser() if value is not None else None

    def read_limits(self) -> ReadLimits:
        """The resource budget of one track read."""
        return ReadLimits(self.max_track_memory_mb, self.max_track_seconds, self.max_inflate_ratio)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached; tests clear the cache after changing the environment)."""
    return Settings()
