"""Store housekeeping: schema, garbage collection of files no committed row references."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from epigex.store.catalog import Store


def test_orphans_and_temporaries_are_removed_on_open(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    orphan = store.home / "features" / "feature_set=x" / "cell_line=Y" / "part-1.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x")
    tmp = store.new_tmp_path(".parquet")
    tmp.write_bytes(b"y")
    store.close()
    Store(store.home)
    assert not orphan.exists()
    assert not tmp.exists()
    assert not (store.home / "features" / "feature_set=x").exists()


def test_clean_up_waits_until_no_other_process_has_the_store_open(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Store(home).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys, time; from epigex.store.catalog import Store; s = Store({str(home)!r}); "
            "print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        in_flight = home / "tmp" / "in-flight.parquet"  # e.g. a running ingest's table, not yet committed
        in_flight.write_bytes(b"y")
        Store(home)  # another user: must not delete the holder's files
        assert in_flight.exists()
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    Store(home)  # the holder died (the kernel released its lock): now the clean-up runs
    assert not in_flight.exists()


def test_write_rolls_back_on_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    try:
        with store.write() as con:
            con.execute("INSERT INTO meta VALUES ('k', 'v')")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.query("SELECT value FROM meta WHERE key = 'k'") == []
