"""The Typer application shared by every command module, and the error handling every command uses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from app.settings import get_settings
from store.errors import EpigexError

if TYPE_CHECKING:
    from store.catalog import Store

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Predict CAGE expression from the epigenome.")
console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


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


def open_store() -> Store:
    """The store at ``$EPIGEX_HOME`` (settings)."""
    from store.catalog import Store

    return Store(get_settings().home)
