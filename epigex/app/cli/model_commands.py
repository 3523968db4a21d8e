"""Model commands: train, models, predict, submission, explain, report."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich import box
from rich.table import Table

from epigex.app.cli.base import app, console, err_console, friendly, open_store, split_names
from epigex.app.cli.progress import single_bar
from epigex.app.cli.render import ablation_tables, explanation_tables, reference_table, timing_line, validation_table
from epigex.app.services.ablate import run_ablation
from epigex.app.services.access import CLI
from epigex.app.services.inventory import models
from epigex.app.services.reports import report as report_file
from epigex.app.services.serving import local_reads
from epigex.app.services.training import train as train_model
from epigex.app.settings import get_settings
from epigex.models.submission import zip_name
from epigex.store.access import record as record_audit
from epigex.store.errors import InputError
from epigex.store.predictions import references_summary
from epigex.store.tracksets import describe

TRAINING_ON_DEMAND = "a model for this cell's tracks (once)"

MODEL_HELP = "Model id, a unique prefix of one, or latest (default: the active model)."


@app.command()
@friendly
def train(
    cells: Annotated[
        str | None, typer.Option(metavar="X1,X2", help="Comma-separated labelled cells (default: every one).")
    ] = None,
    profile: Annotated[
        str, typer.Option(metavar="quick|full", help="quick (train/val split) or full (leave-one-chromosome-out).")
    ] = "full",
    seed: Annotated[
        int, typer.Option(metavar="N", help="Random seed; the same seed and data give the same model.")
    ] = 0,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask", metavar="ADDRESS", help="Dask scheduler (tcp://host:8786); default $EPIGEX_DASK_SCHEDULER."
        ),
    ] = None,
) -> None:
    """Train the stacked two-stage ensemble; the new model becomes the active one."""
    store = open_store()
    t0 = time.perf_counter()
    with single_bar(console, f"training ({profile})") as bar:
        record = train_model(
            store, get_settings(), cells=split_names(cells), profile=profile, seed=seed, progress=bar, dask=dask
        )
    record_audit(store, CLI.name, None, "train", ",".join(record.cells), detail=f"model {record.id}")
    console.print(validation_table(record))
    refs = reference_table(record)
    if refs is not None:
        console.print(refs)
    console.print(timing_line(record))
    if record.reused:
        console.print(
            f"identical to model [bold]{record.id}[/bold] (same data, parameters and seed): nothing new was "
            f"registered; it is the active model ({time.perf_counter() - t0:.1f} s)"
        )
    else:
        console.print(f"model [bold]{record.id}[/bold] is now active ({time.perf_counter() - t0:.1f} s)")


models_app = typer.Typer(
    help="List the models (the active one starred), or activate one.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(models_app, name="models")


@models_app.callback()
@friendly
def models_list(ctx: typer.Context) -> None:
    """List the models, newest first; the active one is starred. Ids may be given whole, as a prefix, or latest."""
    if ctx.invoked_subcommand is not None:
        return
    store = open_store()
    # fits 80 columns: the id holds the creation time (UTC), so no column repeats it; headers never wrap, only the
    # track list folds; the feature count and each validation's score are in the report
    table = Table(
        title=f"models in {store.home}", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True
    )
    table.add_column("", no_wrap=True)
    table.add_column("id (created UTC)", no_wrap=True)
    table.add_column("profile", no_wrap=True)
    table.add_column("cells", overflow="fold", min_width=8)
    table.add_column("tracks", overflow="fold", min_width=6)
    table.add_column("mask", no_wrap=True)
    table.add_column("Spearman", no_wrap=True)
    for m in models(store):
        table.add_row(
            "*" if m["active"] else "",
            m["id"],
            m["profile"],
            _cells(m["cells"]),
            describe(m["tracks"]),
            f"{m['mask_rule']}≥{m['threshold']:.2f}",
            _mean_spearman(m["stack_spearman_masked"]),
        )
    console.print(table)
    console.print(
        "Spearman: the stack's masked Spearman, the mean over its validations (val chromosomes or "
        "leave-one-chromosome-out, per cell); `epigex report ID` has each",
        highlight=False,
        markup=False,
    )


def _cells(cells: list[str]) -> str:
    """The cells as a list while short (``X1,X2``), else their count (``16 cells``; the report lists them)."""
    listed = ",".join(cells)
    return listed if len(listed) <= 8 else f"{len(cells)} cells"


def _mean_spearman(scores: dict[str, float]) -> str:
    values = [v for v in scores.values() if v == v]  # NaN for a validation without genes
    return f"{sum(values) / len(values):.3f}" if values else "—"


@models_app.command("activate")
@friendly
def models_activate(
    model_id: Annotated[str, typer.Argument(metavar="MODEL_ID", help="Model id: whole, a unique prefix, or latest.")],
) -> None:
    """Make a model the active one (the one predict, submission, explain and the service use)."""
    record = local_reads(open_store(), get_settings()).activate(model_id, by=CLI)
    console.print(f"model {record.id} is now active")


@app.command()
@friendly
def predict(
    cell: Annotated[str, typer.Argument(metavar="CELL", help="Cell line to predict.")],
    model: Annotated[str | None, typer.Option(metavar="MODEL_ID", help=MODEL_HELP)] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="TSV file (default: stdout).")
    ] = None,
) -> None:
    """Predictions as TSV: gene_name, gex_predicted, p_expressed, rank_predicted (computed once, then stored)."""
    reads = local_reads(open_store(), get_settings())
    with single_bar(err_console, TRAINING_ON_DEMAND) as bar:
        ps = reads.predictions(cell, model, progress=bar)
    frame, verdict = ps.frame, ps.qc_verdict
    if verdict not in (None, "pass"):
        err_console.print(
            f"warning: {cell}'s track QC says {verdict.upper()}: these predictions may not be trustworthy "
            f"(epigex qc {cell})",
            markup=False,
            highlight=False,
        )
    refs = references_summary(frame)
    if refs["informed_genes"]:
        cells = ", ".join(f"{c} ({n:,})" for c, n in refs["cells"].items())
        err_console.print(
            f"{refs['informed_genes']:,} of {refs['genes']:,} genes informed by the references' measured expression: "
            f"{cells}; the others by the marks alone",
            markup=False,
            highlight=False,
        )
    text = ps.bodies["tsv"].decode()  # byte for byte what the service answers
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        console.print(f"wrote {text.count(chr(10)) - 1:,} predictions of model {ps.model_id} to {output}")


@app.command()
@friendly
def submission(
    cell: Annotated[str, typer.Argument(metavar="CELL", help="Cell line whose test genes to submit.")],
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help="Last_First_Project1.zip")],
    model: Annotated[str | None, typer.Option(metavar="MODEL_ID", help=MODEL_HELP)] = None,
) -> None:
    """Write the course submission ZIP (gex_predicted.csv over the cell's test genes, in their order)."""
    wanted = zip_name(output.name)  # validates Last_First before any work
    if output.name != wanted:
        raise InputError(f"name the submission file {wanted} (the course's rule), not {output.name}")
    with single_bar(err_console, TRAINING_ON_DEMAND) as bar:
        model_id, data = local_reads(open_store(), get_settings()).submission(cell, model, progress=bar)
    output.write_bytes(data)
    console.print(f"wrote {output} (model {model_id}, cell line {cell})")


@app.command()
@friendly
def explain(
    gene: Annotated[str, typer.Argument(metavar="GENE", help="Gene name.")],
    cell_line: Annotated[str, typer.Option("--cell-line", metavar="CELL", help="Cell line.")],
    model: Annotated[str | None, typer.Option(metavar="MODEL_ID", help=MODEL_HELP)] = None,
    top: Annotated[int, typer.Option(metavar="N", help="Contributions to show per stage.")] = 10,
) -> None:
    """SHAP contributions of both stages for one gene (raw-score units: log-odds, rank)."""
    with single_bar(err_console, TRAINING_ON_DEMAND) as bar:
        result = local_reads(open_store(), get_settings()).explanation(cell_line, gene, model, top, progress=bar)
    console.print(explanation_tables(result))


@app.command()
@friendly
def report(
    model_id: Annotated[str | None, typer.Argument(metavar="MODEL_ID", help=MODEL_HELP)] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE", help="HTML file.")] = None,
) -> None:
    """Write the model's HTML report (default: $EPIGEX_HOME/reports/<model>.html)."""
    with console.status("rendering the report…"):
        path = report_file(open_store(), model_id, output)
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


@app.command()
@friendly
def ablate(
    data_dir: Annotated[
        Path, typer.Argument(metavar="DATA_DIR", help="The dataset the store was ingested from (raw tracks).")
    ],
    cells: Annotated[
        str | None, typer.Option(metavar="X1,X2", help="Comma-separated labelled cells (default: X1,X2).")
    ] = "X1,X2",
    sizes: Annotated[
        str, typer.Option(metavar="50,100,…", help="TSS window sizes in bp (50-5000).")
    ] = "50,100,200,500,1000,2000,5000",
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed of the trainings.")] = 0,
) -> None:
    """Ablations: bigWig vs BED vs both, and the TSS window (one-sided vs symmetric, 50-5000 bp)."""
    try:
        size_list = tuple(int(s) for s in sizes.split(","))
    except ValueError:
        raise InputError(f"--sizes must be comma-separated integers, got {sizes!r}") from None
    store = open_store()
    with single_bar(console, "ablations") as bar:
        result = run_ablation(
            store,
            data_dir,
            split_names(cells) or [],
            sizes=size_list,
            seed=seed,
            threads=get_settings().threads,
            step=bar,
        )
    console.print(ablation_tables(result))
    console.print(f"ablation {result['id']} recorded ({result['seconds']} s); `epigex report` shows it with plots")


@app.command()
@friendly
def serve(
    host: Annotated[
        str, typer.Option(metavar="HOST", help="Interface to listen on (non-loopback: see EPIGEX_API_TOKEN).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port.")] = 8000,
) -> None:
    """Run the HTTP service (OpenAPI at /docs) over the store at $EPIGEX_HOME.

    On a loopback address writes are open unless EPIGEX_API_TOKEN is set; on any other address they need the
    token, and without one the service runs read-only (EPIGEX_ALLOW_OPEN_WRITES=1 opens them on purpose).
    """
    from epigex.app.api.app import create_app  # the web stack loads only for this command
    from epigex.app.api.guard import describe, write_mode
    from epigex.app.api.protocol import guarded_protocol

    settings = get_settings().model_copy(update={"bind_host": host})
    mode = write_mode(settings)  # an example token stops here, before anything listens
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    err_console.print(f"epigex serve on {host}:{port}, store {settings.home}: {describe(mode, settings)}")
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
        http=guarded_protocol(
            settings.header_timeout_s,
            settings.body_timeout_s,
            body_grace=settings.body_grace_s,
            body_min_rate=settings.body_min_rate,
        ),
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=int(max(1, settings.keep_alive_s)),
    )
    uvicorn.Server(config).run()
