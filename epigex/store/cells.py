"""Cell lines in the store: committing an ingested cell atomically, reading its genes, labels and features."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from epigex.store.access import Owner, drop_owner, write_owner
from epigex.store.catalog import Store
from epigex.store.errors import EpigexError, NotFoundError
from epigex.store.tracksets import TrackKey, track_key


@dataclass
class TrackRow:
    """Catalog row of one input track."""

    assay: str
    kind: str
    original_name: str
    sha256: str
    bytes: int
    qc: dict[str, Any]
    stored_path: str | None = None


@dataclass
class CellIngest:
    """Everything an ingest of one cell writes, committed in one transaction."""

    name: str
    source: str
    input_digest: str
    genes: pl.DataFrame  # gene_name chrom gene_start gene_end tss_start tss_end strand split
    labels: pl.DataFrame | None  # gene_name split gex
    tracks: list[TrackRow]
    feature_set_id: str
    feature_set_json: str
    catalogue: list[tuple[str, str, str, str, str, str, str]]  # name family assay window stat formula requires
    features: pl.DataFrame  # gene_name + feature columns, in gene order
    seconds: float
    qc: dict[str, Any] = field(default_factory=dict)
    features_parquet: bytes | None = None  # the table already serialised (assembled on a Dask worker)
    features_file: str | None = None  # or already written, as a finished Parquet file under the store's tmp/
    owner: Owner | None = None  # who owns the cell (None: whoever owned it before; a new cell is public)


def write_feature_table(table: pa.Table, where: str | Path | BinaryIO) -> None:
    """Write a feature table as Parquet (zstd; dictionary encoding only for the gene names).

    Dictionary encoding is tried per column by default; for hundreds of float columns that is wasted work (half
    the write time here) and the files come out larger than zstd alone makes them.
    """
    pq.write_table(table, where, compression="zstd", use_dictionary=["gene_name"])


# The catalog rows a cell line owns (table, key column); re-ingesting replaces them, deleting removes them.
CELL_TABLES = (
    ("cell_genes", "cell_line"),
    ("labels", "cell_line"),
    ("tracks", "cell_line"),
    ("feature_tables", "cell_line"),
    ("qc_verdicts", "cell_line"),
    ("cell_lines", "name"),
)


def feature_dir(feature_set_id: str, cell: str) -> str:
    """Store-relative, hive-partitioned folder of a cell's feature table."""
    return f"features/feature_set={feature_set_id}/cell_line={cell}"


def is_current(store: Store, cell: str, feature_set_id: str, input_digest: str) -> bool:
    """Whether the store already holds this cell's features from exactly these inputs."""
    rows = store.query(
        "SELECT 1 FROM feature_tables ft JOIN cell_lines c ON c.name = ft.cell_line "
        "WHERE ft.cell_line = ? AND ft.feature_set = ? AND ft.input_digest = ? AND c.input_digest = ?",
        [cell, feature_set_id, input_digest, input_digest],
    )
    return bool(rows)


def commit_cell(store: Store, ing: CellIngest, keep_files: dict[str, Path] | None = None) -> None:
    """Write the feature table and every catalog row of one cell; replace what the cell had before.

    ``keep_files`` (``"assay/kind"`` → file) are raw inputs to keep in the store: they are moved under
    ``tracks/cell_line=<name>/`` and their tracks rows point at them.
    """
    commit_cells(store, [(ing, keep_files)])


def commit_cells(store: Store, cells: list[tuple[CellIngest, dict[str, Path] | None]], *, link: bool = False) -> None:
    """Commit several cells (each with its ``keep_files``, see :func:`commit_cell`) in one transaction.

    All of them or none: one catalog connection, one transaction and one checkpoint for the batch, which is what
    a commit mostly costs. ``link``: the kept files stay the user's too (linked or copied, not moved).
    """
    placed: list[str] = []
    old: list[str] = []
    try:
        rels = []
        for ing, keep_files in cells:
            rels.append(_place_features(store, ing))
            placed.append(rels[-1])
            for t in ing.tracks:
                src = (keep_files or {}).get(TrackKey(t.assay, t.kind).path)
                if src is not None:
                    where, suffix = f"tracks/cell_line={ing.name}", f".{t.kind}"
                    t.stored_path = store.keep_copy(src, where, suffix) if link else store.place(src, where, suffix)
                    placed.append(t.stored_path)
        with store.write() as con:
            for (ing, _), rel in zip(cells, rels, strict=True):
                old += _replace_cell_rows(con, ing, rel)
                if ing.owner is not None:
                    write_owner(con, "cell", ing.name, ing.owner)
    except BaseException:
        store.remove_files(placed)
        raise
    store.remove_files([p for p in old if p not in placed])


def _place_features(store: Store, ing: CellIngest) -> str:
    """Move the cell's feature table (a finished file, bytes or a frame) into place; return its store path."""
    if ing.features_file is not None:
        tmp = Path(ing.features_file)
        if tmp.parent.resolve() != store.tmp.resolve() or not tmp.is_file():
            raise EpigexError(f"{tmp}: the assembled feature table is not a file in this store's tmp/ folder")
    else:
        tmp = store.new_tmp_path(".parquet")
        if ing.features_parquet is not None:
            tmp.write_bytes(ing.features_parquet)
        else:
            write_feature_table(ing.features.to_arrow(), tmp)
    return store.place(tmp, feature_dir(ing.feature_set_id, ing.name), ".parquet")


def _replace_cell_rows(con: duckdb.DuckDBPyConnection, ing: CellIngest, rel: str) -> list[str]:
    """Replace the cell's catalog rows inside the caller's transaction; return the store files it no longer uses."""
    # long by design: one transaction: every catalog row a cell owns is replaced together
    old = [r[0] for r in con.execute("SELECT path FROM feature_tables WHERE cell_line = ?", [ing.name]).fetchall()]
    old += [
        r[0]
        for r in con.execute(
            "SELECT stored_path FROM tracks WHERE cell_line = ? AND stored_path IS NOT NULL", [ing.name]
        ).fetchall()
    ]
    for table, col in CELL_TABLES:
        con.execute(f"DELETE FROM {table} WHERE {col} = ?", [ing.name])
    con.execute(
        "INSERT INTO feature_sets VALUES (?, ?, ?, now()) ON CONFLICT (id) DO NOTHING",
        [ing.feature_set_id, ing.feature_set_json, len(ing.catalogue)],
    )
    if not con.execute("SELECT 1 FROM features WHERE feature_set = ? LIMIT 1", [ing.feature_set_id]).fetchall():
        cat = pl.DataFrame(
            [(ing.feature_set_id, i, *row) for i, row in enumerate(ing.catalogue)],
            schema=["feature_set", "position", "name", "family", "assay", "window", "stat", "formula", "requires"],
            orient="row",
        )
        con.register("new_features", cat.to_arrow())  # one statement, not one per feature
        con.execute(
            'INSERT INTO features (feature_set, position, name, family, assay, "window", stat, formula, requires) '
            "SELECT * FROM new_features"
        )
        con.unregister("new_features")
    genes = ing.genes.with_columns(pl.lit(ing.name).alias("cell_line"), pl.int_range(pl.len()).alias("row_order"))
    con.register("new_genes", genes.to_arrow())
    con.execute(
        "INSERT INTO cell_genes SELECT cell_line, gene_name, split, row_order, chrom, gene_start, gene_end, "
        "tss_start, tss_end, strand FROM new_genes"
    )
    con.execute(
        "INSERT INTO genes SELECT gene_name, chrom, gene_start, gene_end, tss_start, tss_end, strand, "
        "cell_line FROM new_genes ON CONFLICT (gene_name) DO NOTHING"
    )
    con.unregister("new_genes")
    if ing.labels is not None:
        con.register("new_labels", ing.labels.with_columns(pl.lit(ing.name).alias("cell_line")).to_arrow())
        con.execute("INSERT INTO labels SELECT cell_line, gene_name, split, gex FROM new_labels")
        con.unregister("new_labels")
    con.executemany(
        "INSERT INTO tracks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                ing.name,
                t.assay,
                t.kind,
                t.original_name,
                t.stored_path,
                t.sha256,
                t.bytes,
                t.qc.get("naming"),
                t.qc.get("build"),
                t.qc.get("n_items"),
                t.qc.get("n_bases"),
                t.qc.get("log1p_mean"),
                t.qc.get("log1p_std"),
                t.qc.get("linear_mean"),
                t.qc.get("linear_std"),
                t.qc.get("genes_without_signal"),
                json.dumps(t.qc),
            ]
            for t in ing.tracks
        ],
    )
    con.execute(
        "INSERT INTO cell_lines VALUES (?, ?, ?, ?, ?, now(), ?, ?)",
        [
            ing.name,
            ing.labels is not None,
            ing.genes.height,
            ing.source,
            ing.input_digest,
            ing.seconds,
            json.dumps(ing.qc),
        ],
    )
    con.execute(
        "INSERT INTO feature_tables VALUES (?, ?, ?, ?, ?, ?, now())",
        [
            ing.feature_set_id,
            ing.name,
            rel,
            ing.genes.height,
            len(ing.features.columns) - 1,  # a cell with some of the tracks has fewer than the catalogue
            ing.input_digest,
        ],
    )
    return old


def feature_table(
    store: Store, cell: str, feature_set_id: str | None = None, columns: list[str] | None = None
) -> pl.DataFrame:
    """A cell's feature table (``gene_name`` + features, or only those of ``columns`` it has), from the latest
    feature set unless one is named."""
    sql = "SELECT path FROM feature_tables WHERE cell_line = ?"
    params: list[Any] = [cell]
    if feature_set_id is not None:
        sql += " AND feature_set = ?"
        params.append(feature_set_id)
    rows = store.query(sql + " ORDER BY created_at DESC LIMIT 1", params)
    if not rows:
        if feature_set_id is not None and store.query("SELECT 1 FROM cell_lines WHERE name = ?", [cell]):
            raise NotFoundError(
                f"cell line {cell!r} has no features of feature set {feature_set_id}; re-ingest its files with "
                "the feature set the model was trained on"
            )
        raise NotFoundError(f"no features for cell line {cell!r}; ingest it first (epigex ingest DATA_DIR)")
    return _read_features(Path(store.home) / rows[0][0], columns)


def _read_features(path: Path, columns: list[str] | None) -> pl.DataFrame:
    """A feature table file: every column, or ``gene_name`` and those of ``columns`` it has."""
    if columns is None:
        return pl.read_parquet(path)
    have = set(pl.read_parquet_schema(path))
    return pl.read_parquet(path, columns=["gene_name", *[c for c in dict.fromkeys(columns) if c in have]])


def cell_genes(store: Store, cell: str) -> pl.DataFrame:
    """A cell's genes with its own coordinates and split, in the order of its info files."""
    with store.read() as con:
        tbl: pa.Table = con.sql(
            "SELECT gene_name, split, chrom, gene_start, gene_end, tss_start, tss_end, strand FROM cell_genes "
            "WHERE cell_line = ? ORDER BY row_order",
            params=[cell],
        ).to_arrow_table()
    if tbl.num_rows == 0:
        raise NotFoundError(f"unknown cell line {cell!r} in the store at {store.home}")
    return pl.from_arrow(tbl)  # type: ignore[return-value]


def cell_labels(store: Store, cell: str) -> pl.DataFrame:
    """A labelled cell's ``gene_name``, ``split``, ``gex`` (empty for a predict-only cell)."""
    with store.read() as con:
        tbl: pa.Table = con.sql(
            "SELECT l.gene_name, l.split, l.gex FROM labels l JOIN cell_genes g "
            "ON g.cell_line = l.cell_line AND g.gene_name = l.gene_name WHERE l.cell_line = ? ORDER BY g.row_order",
            params=[cell],
        ).to_arrow_table()
    return pl.from_arrow(tbl)  # type: ignore[return-value]


def cell_info(store: Store, cell: str) -> dict[str, Any]:
    """A cell line's catalog row (name, labelled, n_genes, input_digest, qc), or a clear 404-style error."""
    rows = store.query(
        "SELECT name, labelled, n_genes, source, input_digest, created_at, seconds, qc FROM cell_lines WHERE name = ?",
        [cell],
    )
    if not rows:
        known = [r[0] for r in store.query("SELECT name FROM cell_lines ORDER BY name")]
        hint = f"known: {', '.join(known)}" if known else "it has none yet: ingest a dataset, or set EPIGEX_HOME"
        raise NotFoundError(f"unknown cell line {cell!r} in the store at {store.home} ({hint})")
    keys = ("name", "labelled", "n_genes", "source", "input_digest", "created_at", "seconds", "qc")
    out = dict(zip(keys, rows[0], strict=True))
    out["qc"] = json.loads(out["qc"]) if out["qc"] else {}
    return out


def cell_feature_sets(store: Store, cell: str) -> list[str]:
    """Feature sets a cell has a feature table for, newest first."""
    rows = store.query("SELECT feature_set FROM feature_tables WHERE cell_line = ? ORDER BY created_at DESC", [cell])
    return [r[0] for r in rows]


def feature_names(store: Store, feature_set_id: str) -> list[str]:
    """The feature names of a feature set, in catalogue order."""
    rows = store.query("SELECT name FROM features WHERE feature_set = ? ORDER BY position", [feature_set_id])
    return [r[0] for r in rows]


def feature_families(store: Store, feature_set_id: str) -> dict[str, str]:
    """``feature -> family`` of a feature set, in catalogue order."""
    rows = store.query("SELECT name, family FROM features WHERE feature_set = ? ORDER BY position", [feature_set_id])
    return {r[0]: r[1] for r in rows}


def delete_cell(store: Store, cell: str) -> list[str]:
    """Remove a cell line and everything it owns (rows, feature tables, kept tracks, predictions); return files."""
    cell_info(store, cell)
    with store.write() as con:
        files = [r[0] for r in con.execute("SELECT path FROM feature_tables WHERE cell_line = ?", [cell]).fetchall()]
        files += [
            r[0]
            for r in con.execute(
                "SELECT stored_path FROM tracks WHERE cell_line = ? AND stored_path IS NOT NULL", [cell]
            ).fetchall()
        ]
        for p, c in con.execute("SELECT path, contrib_path FROM predictions WHERE cell_line = ?", [cell]).fetchall():
            files += [p, *([c] if c else [])]
        for table, col in (("predictions", "cell_line"), *CELL_TABLES):
            con.execute(f"DELETE FROM {table} WHERE {col} = ?", [cell])
        drop_owner(con, "cell", cell)
    store.remove_files(files)
    return files


CELL_LINE_KEYS = ("name", "labelled", "genes", "source", "created_at", "seconds")
TRACK_KEYS = (
    "assay",
    "kind",
    "original_name",
    "sha256",
    "bytes",
    "naming",
    "build",
    "log1p_mean",
    "log1p_std",
    "genes_without_signal",
    "kept_in_store",
)


def list_cells(store: Store) -> list[dict[str, Any]]:
    """Every cell line, by name: ``name, labelled, genes, source, created_at, seconds``."""
    rows = store.query("SELECT name, labelled, n_genes, source, created_at, seconds FROM cell_lines ORDER BY name")
    return [dict(zip(CELL_LINE_KEYS, r, strict=True)) for r in rows]


def labelled_cells(store: Store) -> list[str]:
    """Every labelled cell line, by name."""
    return [r[0] for r in store.query("SELECT name FROM cell_lines WHERE labelled ORDER BY name")]


def has_cells(store: Store) -> bool:
    """Whether the store holds any cell line."""
    return bool(store.query("SELECT 1 FROM cell_lines LIMIT 1"))


def cell_digest(store: Store, cell: str) -> str | None:
    """The input digest of a cell line's ingest, or None when the store does not have it."""
    rows = store.query("SELECT input_digest FROM cell_lines WHERE name = ?", [cell])
    return str(rows[0][0]) if rows else None


def cell_gene_count(store: Store, cell: str) -> int:
    """How many genes a cell line has (0 when the store does not have it)."""
    rows = store.query("SELECT n_genes FROM cell_lines WHERE name = ?", [cell])
    return int(rows[0][0]) if rows else 0


def cell_tracks(store: Store, cell: str) -> list[dict[str, Any]]:
    """A cell line's tracks with their facts (see :data:`TRACK_KEYS`)."""
    rows = store.query(
        "SELECT assay, kind, original_name, sha256, bytes, naming, build, log1p_mean, log1p_std, "
        "genes_without_signal, stored_path IS NOT NULL FROM tracks WHERE cell_line = ? ORDER BY assay, kind",
        [cell],
    )
    return [dict(zip(TRACK_KEYS, r, strict=True)) for r in rows]


def predicted_by(store: Store, cell: str) -> list[str]:
    """The models whose predictions of a cell line the store keeps."""
    return [r[0] for r in store.query("SELECT model_id FROM predictions WHERE cell_line = ? ORDER BY 1", [cell])]


def reference_genes(store: Store) -> pl.DataFrame:
    """Every gene the store knows at its reference coordinates (``gene_name, chrom, … strand``), by name."""
    cols = ["gene_name", "chrom", "gene_start", "gene_end", "tss_start", "tss_end", "strand"]
    rows = store.query(f"SELECT {', '.join(cols)} FROM genes ORDER BY gene_name")
    return pl.DataFrame(rows, schema=cols, orient="row")


def feature_set_definition(store: Store, feature_set_id: str) -> str | None:
    """A registered feature set's definition (JSON), or None when the store has no such set."""
    rows = store.query("SELECT definition FROM feature_sets WHERE id = ?", [feature_set_id])
    return str(rows[0][0]) if rows else None


def feature_table_path(store: Store, cell: str, feature_set_id: str) -> Path | None:
    """The Parquet file of a cell line's features of one feature set, or None when it has none."""
    rows = store.query(
        "SELECT path FROM feature_tables WHERE cell_line = ? AND feature_set = ?", [cell, feature_set_id]
    )
    return store.home / rows[0][0] if rows else None


def cells_overview(store: Store) -> dict[str, dict[str, Any]]:
    """Every cell line's ``labelled`` flag, ``qc`` summary, ``tracks`` (``assay:kind``) and ``input_digest``, in one
    connection."""
    with store.read() as con:
        rows = con.execute("SELECT name, labelled, qc, input_digest FROM cell_lines ORDER BY name").fetchall()
        tracks = con.execute("SELECT cell_line, assay, kind FROM tracks ORDER BY cell_line, assay, kind").fetchall()
    out = {
        n: {"labelled": bool(lab), "qc": json.loads(qc) if qc else {}, "tracks": [], "input_digest": digest}
        for n, lab, qc, digest in rows
    }
    for cell, assay, kind in tracks:
        if cell in out:
            out[cell]["tracks"].append(track_key(assay, kind))
    return out


def feature_tables(store: Store, cells: list[str], feature_set_id: str, columns: list[str]) -> dict[str, pl.DataFrame]:
    """Several cells' feature tables of one feature set, only ``columns`` (those each has), paths read at once."""
    marks = ", ".join("?" * len(cells))
    rows = store.query(
        f"SELECT cell_line, path FROM feature_tables WHERE feature_set = ? AND cell_line IN ({marks})",
        [feature_set_id, *cells],
    )
    paths = {c: Path(store.home) / p for c, p in rows}
    missing = [c for c in cells if c not in paths]
    if missing:
        raise NotFoundError(f"cell line(s) {', '.join(missing)} have no features of feature set {feature_set_id}")
    return {c: _read_features(paths[c], columns) for c in cells}


def track_file(store: Store, cell: str, assay: str, kind: str) -> Path:
    """The track file the store keeps for (cell, assay, kind); 404 when it keeps none."""
    rows = store.query(
        "SELECT stored_path FROM tracks WHERE cell_line = ? AND assay = ? AND kind = ? AND stored_path IS NOT NULL",
        [cell, assay, kind],
    )
    if not rows or not (store.home / rows[0][0]).is_file():
        raise NotFoundError(f"the store keeps no {kind} file of {assay} for cell line {cell!r}")
    return Path(store.home) / rows[0][0]
