"""Which server processes use a store right now: each holds a lock file under ``servers/`` for its lifetime.

The kernel drops a process's ``flock`` when it dies, so a lock file that nobody holds belongs to a dead server:
its upload folders and unfinished jobs may be cleaned up; those of a live server are never touched. Several
servers (or a server and the CLI) can therefore share one store without deleting each other's work.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from pathlib import Path
from typing import IO

from epigex.store.catalog import Store

SERVERS_DIR = "servers"


class Instance:
    """This process's presence as a server of ``store`` (released by :meth:`close` or by the process ending)."""

    def __init__(self, store: Store) -> None:
        self.id = uuid.uuid4().hex[:12]
        folder = store.home / SERVERS_DIR
        folder.mkdir(exist_ok=True)
        self.path = folder / f"{self.id}.lock"
        # Locked under a temporary name, then renamed: no other process can see the file unlocked.
        tmp = folder / f".{self.id}.tmp"
        self._fh: IO[str] | None = open(tmp, "a+")
        fcntl.flock(self._fh, fcntl.LOCK_EX)
        self._fh.write(f"{os.getpid()}\n")
        self._fh.flush()
        os.rename(tmp, self.path)

    def close(self) -> None:
        """Release the presence lock and remove its file."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self._fh.close()
            self._fh = None


def alive(store: Store, instance_id: str | None) -> bool:
    """Whether the server ``instance_id`` still runs (None, or an unknown id: no)."""
    if not instance_id:
        return False
    path = store.home / SERVERS_DIR / f"{instance_id}.lock"
    try:
        fh = open(path)
    except OSError:
        return False
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def live_instances(store: Store) -> set[str]:
    """The ids of every server of ``store`` that runs now (stale lock files are removed on the way)."""
    folder = store.home / SERVERS_DIR
    out: set[str] = set()
    for path in folder.glob("*.lock") if folder.is_dir() else []:
        iid = path.stem
        if alive(store, iid):
            out.add(iid)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return out


def stale_upload_folders(store: Store, me: str) -> list[Path]:
    """Upload folders of servers that no longer run (each server writes under ``uploads/<its id>/``)."""
    root = store.home / "uploads"
    if not root.is_dir():
        return []
    live = live_instances(store) | {me}
    return [p for p in root.iterdir() if p.name not in live]
