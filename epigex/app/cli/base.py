"""The Typer application shared by every command module, and the error handling every command uses."""

from __future__ import annotations

import functools
import shutil
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from epigex.app.settings import get_settings
from epigex.store.catalog import Store
from epigex.store.errors import EpigexError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: flags show as flags, user text is never read as markup
    help="Predict CAGE expression (gene expression) of a cell line from its epigenome.",
)
console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _print_version(value: bool) -> None:
    if value:
        try:
            v = version("epigex")
        except PackageNotFoundError:  # run from a source tree that was never installed
            v = "unknown (not installed)"
        console.print(f"epigex {v}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Predict CAGE expression (gene expression) of a cell line from its epigenome."""


def friendly(fn: F) -> F:
    """Turn an :class:`EpigexError` (and missing files) into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EpigexError as err:
            err_console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except (FileNotFoundError, PermissionError, IsADirectoryError) as err:
            err_console.print(
                f"[red]error:[/red] {escape(str(err.filename))}: {err.strerror}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def split_names(names: str | None) -> list[str] | None:
    """``"X1, X2"`` → ``["X1", "X2"]``; None or empty → None (all)."""
    out = [n.strip() for n in names.split(",") if n.strip()] if names else []
    return out or None


def open_store() -> Store:
    """The store at ``$EPIGEX_HOME`` (settings)."""
    return Store(get_settings().home)


def how_to_run() -> tuple[str | None, str]:
    """How a user types this CLI from the current folder: an activation line to run first (or None), the command.

    ``make demo`` installs into ``.venv`` without putting it on PATH, so a bare ``epigex`` would be "command not
    found"; a virtual environment's script is reached by activating it, any other script by its path.
    """
    script = Path(sys.argv[0])
    on_path = shutil.which("epigex")
    if script.name != "epigex" or not script.is_file():  # python -m epigex, or an embedding program
        return None, f"{_short(Path(sys.executable))} -m epigex"
    if on_path and Path(on_path).resolve() == script.resolve():
        return None, "epigex"
    activate = script.parent / "activate"
    if activate.is_file():
        return f"source {_short(activate)}", "epigex"
    return None, str(_short(script))


def _short(path: Path) -> str:
    """``path`` relative to the working folder when it lies inside it (``.venv/bin/epigex``), else absolute."""
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)
