"""Users, sharing and the audit trail on the command line: ``epigex users …``, ``publish``, ``share``, ``audit``.

The command line works on the store's own files, so it acts as the admin (whoever may open the store's folder
may read everything in it anyway); what it changes is recorded in the audit trail as ``cli``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from epigex.app.cli.base import app, console, friendly, open_store
from epigex.app.services.access import CLI
from epigex.app.services.inventory import share_model
from epigex.store.access import (
    ROLES,
    Owner,
    add_user,
    audit_rows,
    list_users,
    owner_of,
    record,
    revoke_user,
    rotate_user,
    set_owner,
)
from epigex.store.cells import cell_info

users_app = typer.Typer(
    help="Users of a shared service: each has a project (a lab) and a role; only its token's hash is kept.",
    no_args_is_help=False,
)
app.add_typer(users_app, name="users")


def _token_line(token: str) -> None:
    """The token alone on stdout's last line (plain, never wrapped), so ``| tail -1`` captures it."""
    typer.echo(token)


@users_app.callback(invoke_without_command=True)
@friendly
def users_list(ctx: typer.Context) -> None:
    """List the users: name, project, role, since when, revoked or not."""
    if ctx.invoked_subcommand is not None:
        return
    store = open_store()
    users = list_users(store)
    if not users:
        console.print(
            f"no users in {store.home}: the service runs without per-user permissions (epigex users add NAME "
            "--project LAB to start)",
            markup=False,
            highlight=False,
        )
        return
    table = Table(title=f"users of {store.home}", box=box.SIMPLE_HEAD, show_edge=False)
    for col in ("name", "project", "role", "created (UTC)", "token"):
        table.add_column(col, no_wrap=True)
    for u in users:
        state = f"revoked {u.revoked_at:%Y-%m-%d %H:%M}" if u.revoked_at else "active"
        table.add_row(u.name, u.project, u.role, f"{u.created_at:%Y-%m-%d %H:%M}", state)
    console.print(table)


@users_app.command("add")
@friendly
def users_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name (letters, digits, . _ -).")],
    project: Annotated[str, typer.Option(metavar="LAB", help="The user's project (its lab).")],
    role: Annotated[
        str, typer.Option(metavar="ROLE", help=f"One of {', '.join(ROLES)} (readers never write).")
    ] = "writer",
) -> None:
    """Add a user; its token is printed once, alone on the last line (only its hash is kept)."""
    store = open_store()
    token = add_user(store, name, project, role)
    record(store, CLI.name, None, "user add", name, detail=f"project {project}, role {role}")
    console.print(
        f"user {name} ({role} of project {project}) added; its token, shown this once "
        "(send it as 'Authorization: Bearer <token>'):",
        markup=False,
        highlight=False,
    )
    _token_line(token)


@users_app.command("rotate")
@friendly
def users_rotate(name: Annotated[str, typer.Argument(metavar="NAME")]) -> None:
    """Give a user a new token; the old one stops working at once (a revoked user is restored)."""
    store = open_store()
    token = rotate_user(store, name)
    record(store, CLI.name, None, "user rotate", name)
    console.print(f"user {name}: new token (the old one no longer works):", markup=False, highlight=False)
    _token_line(token)


@users_app.command("revoke")
@friendly
def users_revoke(name: Annotated[str, typer.Argument(metavar="NAME")]) -> None:
    """Make a user's token stop working (the user stays in the audit trail; `users rotate` restores it)."""
    store = open_store()
    revoke_user(store, name)
    record(store, CLI.name, None, "user revoke", name)
    console.print(f"user {name}: token revoked", markup=False, highlight=False)


@app.command()
@friendly
def publish(cell: Annotated[str, typer.Argument(metavar="CELL", help="A cell line in the store.")]) -> None:
    """Make a cell line readable by every user (its project keeps it: only its writers change or delete it)."""
    store = open_store()
    cell_info(store, cell)
    old = owner_of(store, "cell", cell)
    set_owner(store, "cell", cell, Owner(old.project, True))
    record(store, CLI.name, None, "publish", cell)
    console.print(f"cell line {cell} is public (project: {old.project or 'none'})", markup=False, highlight=False)


@app.command()
@friendly
def share(model: Annotated[str, typer.Argument(metavar="MODEL_ID", help="Whole, a unique prefix, or latest.")]) -> None:
    """Let every user get predictions from a model (its training cells stay hidden from who may not read them)."""
    out = share_model(open_store(), CLI, model)
    console.print(f"model {out['name']} is shared with every user", markup=False, highlight=False)


@app.command()
@friendly
def audit(
    limit: Annotated[int, typer.Option(metavar="N", min=1, help="Lines, newest first.")] = 50,
    user: Annotated[str | None, typer.Option(metavar="NAME", help="Only this user's lines.")] = None,
) -> None:
    """Who uploaded, trained, activated, shared, published and deleted what, and when (newest first)."""
    store = open_store()
    table = Table(title=f"audit trail of {store.home}", box=box.SIMPLE_HEAD, show_edge=False)
    for col in ("at (UTC)", "who", "project", "action", "what", "detail"):
        table.add_column(col, overflow="fold")
    for r in audit_rows(store, limit, user):
        table.add_row(
            f"{r['at']:%Y-%m-%d %H:%M:%S}", r["actor"], r["project"] or "", r["action"], r["target"], r["detail"]
        )
    console.print(table)
