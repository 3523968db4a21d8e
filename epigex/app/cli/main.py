"""The ``epigex`` command line (docs/CONTRACTS.md §2). Errors: exit code 2 and one readable line on stderr."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from epigex.app.cli import access_commands, model_commands  # noqa: F401  (registers their commands)
from epigex.app.cli.base import app, console, err_console, friendly, how_to_run, open_store, split_names
from epigex.app.cli.progress import single_bar, task_bars
from epigex.app.cli.render import (
    qc_table,
    qc_verdict_table,
    reference_table,
    score_table,
    timing_line,
    validation_table,
)
from epigex.app.services.demo import build_demo_store, finish_demo
from epigex.app.services.ingesting import ingest_folder
from epigex.app.services.qc import cell_qc
from epigex.app.settings import get_settings
from epigex.demo.dataset import write_demo
from epigex.ingest.catalogue import catalogue
from epigex.ingest.catalogue import markdown as to_markdown
from epigex.ingest.featureset import ASSAYS, default_feature_set
from epigex.ingest.layout import layout_notes
from epigex.store.access import Owner, check_name, record
from epigex.store.catalog import Store
from epigex.store.tracksets import describe


@app.command("demo-data")
@friendly
def demo_data(
    out: Annotated[Path, typer.Argument(metavar="DIR", help="Folder to write the dataset to (must be new or empty).")],
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed; the same seed gives the same files.")] = 0,
    n_cells: Annotated[
        int, typer.Option("--n-cells", metavar="N", help="Extra simulated cells C1..CN (first half labelled).")
    ] = 0,
    cells: Annotated[
        int | None,
        typer.Option("--cells", metavar="N", help="Labelled cell types in all (X1, X2, C1..; at least 2)."),
    ] = None,
    reference_labels: Annotated[
        bool,
        typer.Option("--reference-labels", help="Label the labelled cells on X3's test genes too (references)."),
    ] = False,
) -> None:
    """Write the demo dataset in the course layout; X3's hidden truth goes to OUT.truth/."""
    with console.status("simulating tracks…") as status:
        manifest = write_demo(
            out,
            seed=seed,
            n_cells=n_cells,
            workers=get_settings().threads,
            progress=lambda msg: status.update(msg),
            n_labelled=cells,
            reference_labels=reference_labels,
        )
    console.print(
        f"wrote {len(manifest['tracks'])} tracks × (bigWig + BED) for cells "  # type: ignore[arg-type]
        f"{', '.join(manifest['cells'])} to {out} in {manifest['seconds']} s; "  # type: ignore[arg-type]
        f"hidden truth in {manifest['truth']}"
    )


@app.command()
@friendly
def ingest(
    data_dir: Annotated[Path, typer.Argument(metavar="DATA_DIR", help="Dataset in the course layout.")],
    cells: Annotated[
        str | None, typer.Option(metavar="X1,X2", help="Comma-separated cells (default: all found).")
    ] = None,
    force_build: Annotated[bool, typer.Option("--force-build", help="Accept tracks of another genome build.")] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask", metavar="ADDRESS", help="Dask scheduler (tcp://host:8786); default $EPIGEX_DASK_SCHEDULER."
        ),
    ] = None,
    require_all: Annotated[
        bool, typer.Option("--require-all", help="Refuse a cell that lacks any of the seven assays' files.")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Replace a cell the store holds from other files (else: refused, nothing done)."
        ),
    ] = False,
    project: Annotated[
        str | None,
        typer.Option(metavar="LAB", help="The cells belong to this project (private to it unless --public)."),
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="With --project: every user may read the cells (its project owns them).")
    ] = False,
) -> None:
    """Read tracks and gene tables into the store; prints a per-cell QC summary.

    A cell may bring some of the assays, each as a bigWig, a BED file or both: the tracks it lacks are listed,
    and its predictions come from a model trained on the tracks it has. Ingesting identical files again does
    nothing; a cell the store holds from other files is replaced only with --replace (as replace=true over HTTP).
    Cells belong to no project and are public, unless --project names one (see `epigex users`).
    """
    # long by design: prints the ingest's results in the order a user reads them
    t0 = time.perf_counter()
    store = open_store()
    address = dask or get_settings().dask_scheduler
    if address:
        console.print(f"track jobs run on the Dask cluster at {address}")
    for note in layout_notes(data_dir):  # before the work, so a misspelled folder can be fixed at once
        err_console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    with task_bars(console) as bar:
        outcomes = ingest_folder(
            store,
            get_settings(),
            data_dir,
            split_names(cells),
            force_build=force_build,
            progress=bar,
            dask=dask,
            require_all=require_all,
            replace=replace,
            owner=None if project is None else Owner(check_name(project, "project"), public),
        )
    console.print(qc_table(outcomes))
    for o in outcomes:
        if o.qc.get("missing_tracks"):
            console.print(
                f"{o.cell}: without {describe(o.qc['missing_tracks'])}; its predictions will come from a model "
                "trained on the tracks it has",
                markup=False,
                highlight=False,
            )
    for o in outcomes:
        for track, out in o.qc.get("outside_genome", {}).items():
            console.print(
                f"{o.cell} {track.replace('/', ' ')}: {out['peaks']:,} of {out['of']:,} peaks lie on "
                f"{out['contigs']} contig(s) outside hg38's chromosomes ({', '.join(out['named'])}); not used",
                markup=False,
                highlight=False,
            )
    for o in outcomes:
        verdict = cell_qc(store, o.cell)
        if verdict["references"] or verdict["verdict"] != "pass":
            bad = [f"{t['assay']} {t['kind']}: {t['verdict']}" for t in verdict["tracks"] if t["verdict"] != "pass"]
            console.print(
                f"{o.cell}: track QC {verdict['verdict'].upper()}" + (f" ({'; '.join(bad)})" if bad else ""),
                markup=False,
                highlight=False,
            )
    for o in outcomes:
        if o.status == "ingested":
            record(store, "cli", project, "ingest", o.cell, detail=str(data_dir))
    console.print(f"ingested {len(outcomes)} cell line(s) into {store.home} in {time.perf_counter() - t0:.1f} s")


@app.command()
@friendly
def qc(
    cell: Annotated[str, typer.Argument(metavar="CELL", help="Cell line to check.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="The machine-readable form (as GET /cell-lines/NAME/qc).")
    ] = False,
    model: Annotated[
        str | None, typer.Option(metavar="MODEL_ID", help="Model whose features the drift is over.")
    ] = None,
) -> None:
    """Track QC verdicts (pass, warn, fail) of a cell line's tracks against the labelled cells, and its drift."""
    result = cell_qc(open_store(), cell, model)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    console.print(qc_verdict_table(result))


@app.command()
@friendly
def features(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/FEATURES.md.")] = False,
) -> None:
    """The feature catalogue of the default feature set: name, family, window, formula."""
    fs = default_feature_set()
    if markdown:
        sys.stdout.write(to_markdown(fs))
        return
    table = Table(title=f"feature set {fs.id}")
    for col in ("name", "family", "window", "formula"):
        table.add_column(col)
    for row in catalogue(fs):
        table.add_row(row.name, row.family, row.window, row.formula)
    console.print(table)


@app.command()
@friendly
def demo(
    out: Annotated[
        Path, typer.Option(metavar="DIR", help="Folder for the demo (and the store unless EPIGEX_HOME is set).")
    ] = Path("epigex-demo"),
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed of the demo data and the training.")] = 0,
    cells: Annotated[
        int | None,
        typer.Option("--cells", metavar="N", help="Labelled cell types in all (X1, X2, C1..; at least 2)."),
    ] = None,
    reference_labels: Annotated[
        bool,
        typer.Option(
            "--reference-labels", help="Label the labelled cells on X3's genes too: predictions use the references."
        ),
    ] = False,
) -> None:
    """The main job on a fresh machine: demo data, ingest, train (quick), predict X3, ZIP, report, X3's score."""
    # long by design: prints the demo's results in the order a user reads them
    t0 = time.perf_counter()
    settings = get_settings()
    threads = settings.threads
    data = out / "data"
    truth = data.with_name(data.name + ".truth")
    store = Store(settings.home if "home" in settings.model_fields_set else out / "store")
    with single_bar(console, "demo") as bar:
        tracks: dict[str, float] = {}

        def ingesting(label: str, fraction: float) -> None:
            tracks[label] = fraction
            bar(
                f"ingesting {label}",
                0.5 * sum(tracks.values()) / max(len(tracks), 2 * len(ASSAYS) * (1 + max(2, cells or 2))),
            )

        outcomes, record = build_demo_store(
            store,
            settings,
            data,
            seed=seed,
            status=lambda message: bar(message, 0.0),
            ingest_progress=ingesting,
            train_progress=lambda label, fraction: bar(f"training (quick): {label}", 0.5 + 0.5 * fraction),
            n_labelled=cells,
            reference_labels=reference_labels,
        )
    console.print(f"demo data: {data} (hidden truth: {truth})")
    console.print(qc_table(outcomes))
    console.print(validation_table(record))
    refs = reference_table(record)
    if refs is not None:
        console.print(refs)
    console.print(timing_line(record))
    with console.status("predicting X3, writing the ZIP and the report, training the baselines…"):
        done = finish_demo(store, out, truth / "X3_test_y.tsv", seed=seed, threads=threads)
    console.print(score_table(done.scores))
    console.print(f"store:       {store.home} (model {record.id}, active)")
    console.print(f"predictions: {done.predictions}")
    console.print(f"submission:  {done.submission}")
    console.print(f"report:      {done.report}")
    console.print(f"done in {time.perf_counter() - t0:.1f} s")
    activate, cmd = how_to_run()
    lines = [
        "",
        "next — point the CLI and the service at this store, then look around:",
        *([f"  {activate}"] if activate else []),
        f"  export EPIGEX_HOME={store.home.resolve()}",
        "  # the model just trained (ids: whole, a prefix, or latest)",
        f"  {cmd} models",
        "  # predictions as TSV",
        f"  {cmd} predict X3 | head",
        "  # why: SHAP contributions of both stages",
        f"  {cmd} explain CAPN9 --cell-line X3",
        f"  # the service: http://127.0.0.1:8000/ui (web UI), /docs (API); the data: {data.resolve()}",
        f"  {cmd} serve",
    ]
    # soft_wrap: a long path stays on its line, so every line pastes as it reads
    console.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
