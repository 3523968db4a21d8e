"""The store: a DuckDB catalog file plus Parquet feature tables under one home folder.

Concurrency: DuckDB lets one process at a time hold a database file open for writing. Every catalog access
here opens a short-lived connection under an exclusive file lock (``catalog.lock``), so the CLI and a running
service can share a store: long jobs compute outside the catalog and hold the lock only for their final commit,
so reads never wait on a long job. Atomicity: files are written under ``tmp/`` and renamed into place under a
fresh unique name; the catalog rows that point at them are written in one transaction; files that no committed
row references (left by a killed job) are removed when the store is next opened by its only user: every open
``Store`` holds a shared lock on ``presence.lock`` for its lifetime (the kernel drops it when a process dies), and
the clean-up runs only when it can take that lock exclusively, so it never deletes another process's files in
flight (a running ingest's temporaries, a placed file a moment before its commit).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from epigex.store.errors import EpigexError

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS genes (
    gene_name VARCHAR PRIMARY KEY, chrom VARCHAR, gene_start BIGINT, gene_end BIGINT,
    tss_start BIGINT, tss_end BIGINT, strand VARCHAR, first_cell VARCHAR);
CREATE TABLE IF NOT EXISTS cell_lines (
    name VARCHAR PRIMARY KEY, labelled BOOLEAN, n_genes INTEGER, source VARCHAR, input_digest VARCHAR,
    created_at TIMESTAMP, seconds DOUBLE, qc JSON);
CREATE TABLE IF NOT EXISTS cell_genes (
    cell_line VARCHAR, gene_name VARCHAR, split VARCHAR, row_order INTEGER, chrom VARCHAR,
    gene_start BIGINT, gene_end BIGINT, tss_start BIGINT, tss_end BIGINT, strand VARCHAR,
    PRIMARY KEY (cell_line, gene_name));
CREATE TABLE IF NOT EXISTS labels (
    cell_line VARCHAR, gene_name VARCHAR, split VARCHAR, gex DOUBLE, PRIMARY KEY (cell_line, gene_name));
CREATE TABLE IF NOT EXISTS tracks (
    cell_line VARCHAR, assay VARCHAR, kind VARCHAR, original_name VARCHAR, stored_path VARCHAR,
    sha256 VARCHAR, bytes BIGINT, naming VARCHAR, build VARCHAR, n_items BIGINT, n_bases BIGINT,
    log1p_mean DOUBLE, log1p_std DOUBLE, linear_mean DOUBLE, linear_std DOUBLE, genes_without_signal INTEGER,
    qc JSON, PRIMARY KEY (cell_line, assay, kind));
CREATE TABLE IF NOT EXISTS feature_sets (id VARCHAR PRIMARY KEY, definition JSON, n_features INTEGER,
    created_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS features (
    feature_set VARCHAR, position INTEGER, name VARCHAR, family VARCHAR, assay VARCHAR, "window" VARCHAR,
    stat VARCHAR, formula VARCHAR, PRIMARY KEY (feature_set, name));
CREATE TABLE IF NOT EXISTS feature_tables (
    feature_set VARCHAR, cell_line VARCHAR, path VARCHAR, n_genes INTEGER, n_features INTEGER,
    input_digest VARCHAR, created_at TIMESTAMP, PRIMARY KEY (feature_set, cell_line));
CREATE TABLE IF NOT EXISTS models (
    id VARCHAR PRIMARY KEY, created_at TIMESTAMP, profile VARCHAR, seed INTEGER, threads INTEGER,
    feature_set VARCHAR, cells JSON, setups JSON, lineage JSON, params JSON, features JSON, selection JSON,
    mask_rule VARCHAR, threshold DOUBLE, metrics JSON, timings JSON, n_boosters INTEGER, content_digest VARCHAR);
CREATE TABLE IF NOT EXISTS model_artifacts (
    model_id VARCHAR, setup VARCHAR, stage VARCHAR, path VARCHAR, sha256 VARCHAR, rounds INTEGER,
    PRIMARY KEY (model_id, setup, stage));
CREATE TABLE IF NOT EXISTS predictions (
    model_id VARCHAR, cell_line VARCHAR, input_digest VARCHAR, path VARCHAR, contrib_path VARCHAR,
    n_genes INTEGER, created_at TIMESTAMP, PRIMARY KEY (model_id, cell_line));
CREATE TABLE IF NOT EXISTS ablations (id VARCHAR PRIMARY KEY, created_at TIMESTAMP, cells JSON, results JSON);
CREATE TABLE IF NOT EXISTS served (cell_line VARCHAR PRIMARY KEY, model_id VARCHAR, via_active BOOLEAN);
CREATE TABLE IF NOT EXISTS qc_verdicts (
    cell_line VARCHAR, model_id VARCHAR, inputs VARCHAR, verdict JSON, created_at TIMESTAMP,
    PRIMARY KEY (cell_line, model_id));
CREATE TABLE IF NOT EXISTS jobs (
    id VARCHAR PRIMARY KEY, kind VARCHAR, status VARCHAR, progress DOUBLE, message VARCHAR, error VARCHAR,
    params JSON, result JSON, created_at TIMESTAMP, started_at TIMESTAMP, finished_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS users (
    name VARCHAR PRIMARY KEY, project VARCHAR, role VARCHAR, token_sha256 VARCHAR, created_at TIMESTAMP,
    revoked_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS owners (
    kind VARCHAR, name VARCHAR, project VARCHAR, public BOOLEAN, PRIMARY KEY (kind, name));
CREATE TABLE IF NOT EXISTS audit (
    happened_at TIMESTAMP, actor VARCHAR, project VARCHAR, action VARCHAR, target VARCHAR, bytes BIGINT,
    detail VARCHAR);
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS owner VARCHAR;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS actor VARCHAR;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS project VARCHAR;
ALTER TABLE models ADD COLUMN IF NOT EXISTS job_id VARCHAR;
ALTER TABLE models ADD COLUMN IF NOT EXISTS tracks JSON;
ALTER TABLE models ADD COLUMN IF NOT EXISTS last_used_at TIMESTAMP;
ALTER TABLE features ADD COLUMN IF NOT EXISTS requires VARCHAR;
"""
STORE_DIRS = ("features", "tracks", "models", "predictions")

_thread_lock = threading.RLock()


def default_home() -> Path:
    """``$EPIGEX_HOME``, else ``~/.local/share/epigex``."""
    env = os.environ.get("EPIGEX_HOME")
    return Path(env).expanduser() if env else Path.home() / ".local" / "share" / "epigex"


class Store:
    """A store rooted at ``home``: ``catalog.duckdb``, ``features/``, ``tracks/``, ``tmp/``."""

    def __init__(self, home: Path | str | None = None, *, gc: bool = True) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self.catalog_path = self.home / "catalog.duckdb"
        self.tmp = self.home / "tmp"
        self.tmp.mkdir(exist_ok=True)
        with self.write() as con:
            con.execute(SCHEMA)
            con.execute(
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING",
                [str(SCHEMA_VERSION)],
            )
        # Held for the Store's lifetime (not a ``with`` block): it says "in use" to other processes.
        self._presence = open(self.home / "presence.lock", "a+")
        if gc and self._alone():
            self.collect_garbage()
        fcntl.flock(self._presence, fcntl.LOCK_SH)

    def _alone(self) -> bool:
        """Whether no other open ``Store`` (in any process) uses this home; if so, hold it exclusively."""
        try:
            fcntl.flock(self._presence, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def close(self) -> None:
        """Release the store's presence lock (also done when the object is collected or the process ends)."""
        self._presence.close()

    def __del__(self) -> None:
        if hasattr(self, "_presence"):  # absent when __init__ failed before opening it
            self.close()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with _thread_lock, open(self.home / "catalog.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + 30.0
        while True:
            try:
                con = duckdb.connect(str(self.catalog_path))
                con.execute("SET TimeZone = 'UTC'")  # now() in TIMESTAMP columns: UTC, whatever the machine's zone
                return con
            except duckdb.IOException as err:  # another process outside our lock protocol holds the file
                if time.monotonic() > deadline:
                    raise EpigexError(f"the store at {self.home} is locked by another process ({err})") from None
                time.sleep(0.05)

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection for reading."""
        with self._locked():
            con = self._connect()
            try:
                yield con
            finally:
                con.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection inside one transaction: committed on success, rolled back on error."""
        with self._locked():
            con = self._connect()
            try:
                con.execute("BEGIN TRANSACTION")
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.close()

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read query and return its rows."""
        with self.read() as con:
            return con.execute(sql, params or []).fetchall()

    def new_tmp_path(self, suffix: str) -> Path:
        """A fresh path under ``tmp/`` for a file to be renamed into place."""
        return self.tmp / f"{uuid.uuid4().hex}{suffix}"

    def place(self, tmp_file: Path, relative_dir: str, suffix: str) -> str:
        """Move a finished temporary file to a fresh unique name under ``relative_dir``; return its store path."""
        target_dir = self.home / relative_dir
        target_dir.mkdir(parents=True, exist_ok=True)
        rel = f"{relative_dir}/part-{uuid.uuid4().hex}{suffix}"
        os.replace(tmp_file, self.home / rel)
        return rel

    def keep_copy(self, src: Path, relative_dir: str, suffix: str) -> str:
        """Keep a file the user still owns: a hard link when on this store's filesystem (no space), else a copy;
        return its store path."""
        tmp = self.new_tmp_path(suffix)
        try:
            os.link(src, tmp)
        except OSError:  # another filesystem, or links not allowed: a copy
            shutil.copyfile(src, tmp)
        return self.place(tmp, relative_dir, suffix)

    def referenced_files(self) -> set[str]:
        """Store-relative paths of every file a committed catalog row points at."""
        rows = self.query(
            "SELECT path FROM feature_tables UNION ALL SELECT stored_path FROM tracks WHERE stored_path IS NOT NULL "
            "UNION ALL SELECT path FROM model_artifacts UNION ALL SELECT path FROM predictions "
            "UNION ALL SELECT contrib_path FROM predictions WHERE contrib_path IS NOT NULL"
        )
        return {r[0] for r in rows}

    def collect_garbage(self) -> list[str]:
        """Remove files that no committed row references (left by a killed job) and stale temporaries.

        Only safe while no other process writes to the store; opening a ``Store`` calls it only then.
        """
        removed: list[str] = []
        referenced = self.referenced_files()
        for top in STORE_DIRS:
            root = self.home / top
            if not root.exists():
                continue
            for f in root.rglob("*"):
                if f.is_file() and str(f.relative_to(self.home)) not in referenced:
                    f.unlink()
                    removed.append(str(f.relative_to(self.home)))
        for f in self.tmp.iterdir():
            if f.is_dir():
                shutil.rmtree(f, ignore_errors=True)
            else:
                f.unlink(missing_ok=True)
            removed.append(str(f.relative_to(self.home)))
        for top in STORE_DIRS:
            root = self.home / top
            if root.exists():
                for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                    if not any(d.iterdir()):
                        d.rmdir()
        return removed

    def catalog_stamp(self) -> tuple[tuple[int, int], ...]:
        """Size and modification time of the catalog and its write-ahead log: it changes with every write, by any
        process (a read service re-reads what it keeps in memory only when it did)."""
        out = []
        for path in (self.catalog_path, self.catalog_path.with_name(self.catalog_path.name + ".wal")):
            try:
                st = os.stat(path)
                out.append((st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                out.append((0, 0))
        return tuple(out)

    def report_path(self, model_id: str) -> Path:
        """Where a model's HTML report is kept."""
        return self.home / "reports" / f"{model_id}.html"

    def remove_files(self, rel_paths: Sequence[str | None]) -> None:
        """Delete store files (after the catalog stopped referencing them); None entries are skipped."""
        for rel in rel_paths:
            if rel:
                (self.home / rel).unlink(missing_ok=True)
