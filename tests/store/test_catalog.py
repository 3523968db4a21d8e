"""Store housekeeping: schema, garbage collection of files no committed row references."""

from __future__ import annotations

from pathlib import Path

from store.catalog import Store


def test_orphans_and_temporaries_are_removed_on_open(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    orphan = store.home / "features" / "feature_set=x" / "cell_line=Y" / "part-1.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x")
    tmp = store.new_tmp_path(".parquet")
    tmp.write_bytes(b"y")
    Store(store.home)
    assert not orphan.exists()
    assert not tmp.exists()
    assert not (store.home / "features" / "feature_set=x").exists()


def test_write_rolls_back_on_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    try:
        with store.write() as con:
            con.execute("INSERT INTO meta VALUES ('k', 'v')")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.query("SELECT value FROM meta WHERE key = 'k'") == []
