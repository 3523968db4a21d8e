"""A real ``epigex serve`` process for tests: started on a free port, waited for, stopped, its log kept."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running server: its URL, process and log file."""

    url: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        """What the server printed so far."""
        return self.log.read_text()


def launch(
    home: Path, log: Path, *, host: str = "127.0.0.1", env: dict[str, str | None] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``epigex serve`` (not waiting for it); an ``env`` value of None removes that variable."""
    port = free_port()
    merged: dict[str, str | None] = {**os.environ, "EPIGEX_HOME": str(home), "EPIGEX_LOG_LEVEL": "INFO", **(env or {})}
    full_env = {k: v for k, v in merged.items() if v is not None}
    fh = open(log, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "epigex.app.cli.main", "serve", "--host", host, "--port", str(port)],
        env=full_env,
        stdout=fh,
        stderr=fh,
    )
    fh.close()
    return proc, port


@contextmanager
def running_server(
    home: Path,
    log: Path,
    *,
    host: str = "127.0.0.1",
    env: dict[str, str | None] | None = None,
    timeout: float = 60.0,
) -> Iterator[Server]:
    """A server on ``home``, ready (``/healthz`` answers) inside the block, stopped after it."""
    proc, port = launch(home, log, host=host, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"the server did not start:\n{log.read_text()}")
        yield Server(url, port, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
