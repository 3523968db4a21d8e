"""Who may do what: the principal behind a request, and the rules that say what it may read and change.

With no user in the store the service behaves as it always did (reads open, writes by the write mode of
:mod:`app.api.guard`). Once a user exists (``epigex users add``), every request has a principal: the
``EPIGEX_API_TOKEN`` is the admin, a user's token is that user, no token is anonymous. The rules:

- a cell line is readable by everyone when public, else by its project's members and admins;
- a cell line is changed (replaced, deleted, published) by its project's writers and admins; a public cell that
  belongs to no project (the demo, a CLI ingest without ``--project``) only by admins;
- a model is usable (predictions, explanations, listing) when it is shared by an admin or when the principal may
  read every one of its training cells; its details and report also need the latter (they name the cells);
- activating or sharing a model changes what every project reads: admins only;
- a job is visible to its project's members and admins.

What a principal may not read answers exactly as what does not exist (the same 404 and message), so a name never
leaks through a status code.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from epigex.store.access import (
    PUBLIC,
    Owner,
    User,
    active_tokens,
    cell_names,
    has_users,
    model_training_cells,
    owners,
    token_hash,
)
from epigex.store.catalog import Store
from epigex.store.errors import EpigexError, NotFoundError

UNSHARED = Owner(None, False)
T = TypeVar("T")
PrincipalRole = Literal["anonymous", "reader", "writer", "admin"]


class ForbiddenError(EpigexError):
    """A principal that may see a thing but not do this to it."""

    status_code = 403


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a user, the admin token, anyone (no users configured) or anonymous."""

    name: str
    project: str | None
    role: PrincipalRole

    @property
    def admin(self) -> bool:
        """Whether it may do everything."""
        return self.role == "admin"

    @property
    def writes(self) -> bool:
        """Whether its role writes at all (within its project, unless admin)."""
        return self.role in ("writer", "admin")


ANYONE = Principal("anyone", None, "admin")  # no user configured: today's rules (the write mode decides writes)
ADMIN = Principal("admin", None, "admin")  # EPIGEX_API_TOKEN, or the CLI on the store's own machine
ANONYMOUS = Principal("anonymous", None, "anonymous")
CLI = Principal("cli", None, "admin")  # the command line works on the store's own files: it may read them all


def of_user(user: User) -> Principal:
    """The principal of a user's token."""
    return Principal(user.name, user.project, user.role)


@dataclass
class View:
    """What the rules need from the catalog, read once per catalog change."""

    users_mode: bool
    tokens: dict[str, User]
    owners: dict[tuple[str, str], Owner]
    cells: frozenset[str] = frozenset()
    model_cells: dict[str, list[str]] = field(default_factory=dict)  # every model, newest first

    def owner(self, kind: str, name: str) -> Owner:
        """Who owns a cell line or model. Without an owner row a cell is public, and a model is nobody's and not
        shared (usable by whoever may read its training cells)."""
        return self.owners.get((kind, name), PUBLIC if kind == "cell" else UNSHARED)

    def may_read_cell(self, p: Principal, cell: str) -> bool:
        """Whether ``p`` may see that ``cell`` exists and read everything about it."""
        o = self.owner("cell", cell)
        return p.admin or o.public or (o.project is not None and o.project == p.project)

    def may_write_cell(self, p: Principal, cell: str) -> bool:
        """Whether ``p`` may replace, delete or publish ``cell``."""
        o = self.owner("cell", cell)
        return p.admin or (p.writes and o.project is not None and o.project == p.project)

    def may_see_training(self, p: Principal, model_id: str) -> bool:
        """Whether ``p`` may read every training cell of the model (its details and report name them)."""
        return p.admin or all(self.may_read_cell(p, c) for c in self.model_cells.get(model_id, []))

    def may_use_model(self, p: Principal, model_id: str) -> bool:
        """Whether ``p`` may get predictions or explanations from the model."""
        return p.admin or self.owner("model", model_id).public or self.may_see_training(p, model_id)

    def may_see_job(self, p: Principal, project: str | None, actor: str | None) -> bool:
        """Whether ``p`` may see a job submitted by ``actor`` of ``project``."""
        return p.admin or (
            p.role != "anonymous" and ((project is not None and project == p.project) or actor == p.name)
        )

    def principal(self, token: str | None, admin_token: str | None) -> Principal | None:
        """The principal a bearer token stands for (None: no such token); no token is anonymous.

        Every known token hash is compared, in constant time, whatever matches first.
        """
        if not self.users_mode:
            return ANYONE
        if token is None:
            return ANONYMOUS
        found: Principal | None = None
        if admin_token and secrets.compare_digest(token.encode("utf-8"), admin_token.encode("utf-8")):
            found = ADMIN
        given = token_hash(token)
        for h, user in self.tokens.items():
            if secrets.compare_digest(h, given):
                found = of_user(user)
        return found


class Access:
    """The process's view of users and owners over one store, re-read only after the catalog changed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._view: tuple[object, View] | None = None

    def view(self) -> View:
        """The current :class:`View` (one ``stat`` per call while the catalog is unchanged)."""
        stamp = self.store.catalog_stamp()
        with self._lock:
            if self._view is not None and self._view[0] == stamp:
                return self._view[1]
        users_mode = has_users(self.store)
        view = View(users_mode, {}, {})
        if users_mode:
            view = View(
                users_mode,
                active_tokens(self.store),
                owners(self.store),
                cell_names(self.store),
                model_training_cells(self.store),
            )
        with self._lock:
            self._view = (stamp, view)
        return view

    def read_cell(self, p: Principal, cell: str) -> None:
        """With users: the same 404 for a cell that does not exist and one ``p`` may not read (no names listed)."""
        view = self.view()
        if view.users_mode and (cell not in view.cells or not view.may_read_cell(p, cell)):
            raise NotFoundError(unknown_cell(cell))

    def write_cell(self, p: Principal, cell: str) -> None:
        """404 when ``p`` may not read ``cell``; 403 when it may read but not change it."""
        self.read_cell(p, cell)
        view = self.view()
        if view.users_mode and not view.may_write_cell(p, cell):
            raise ForbiddenError(
                f"cell line {cell!r} belongs to another project (or to none): {p.name} may not change it"
            )

    def use_model(self, p: Principal, ref: str) -> str | None:
        """With users: the id of the model ``ref`` names among those ``p`` may use (an id, a unique prefix or
        ``latest``), else the same 404 as an unknown model. Without users: None (the store resolves it)."""
        view = self.view()
        if not view.users_mode:
            return None
        usable = [m for m in view.model_cells if view.may_use_model(p, m)]
        if ref == "latest" and usable:
            return usable[0]
        hits = [m for m in usable if m == ref] or [m for m in usable if m.startswith(ref)]
        if len(hits) != 1 or not ref:
            raise NotFoundError(unknown_model(ref))
        return hits[0]

    def see_training(self, p: Principal, ref: str) -> str | None:
        """:meth:`use_model`, and 403 when ``p`` may use the model but not read its training cells."""
        model_id = self.use_model(p, ref)
        if model_id is not None and not self.view().may_see_training(p, model_id):
            raise ForbiddenError(
                f"model {model_id} is shared for predictions; its training cell lines belong to other projects, "
                "so its details and report are not shown"
            )
        return model_id

    def model_gate(self, p: Principal) -> Callable[[str], bool] | None:
        """Whether ``p`` may read a model's predictions, as a function of its id (None: any model)."""
        if p.admin or not self.view().users_mode:
            return None
        return lambda model_id: self.view().may_use_model(p, model_id)

    def cell_rows(self, p: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The cell-line rows ``p`` may read, each with its project and whether it is public."""
        view = self.view()
        out = []
        for r in rows:
            if view.may_read_cell(p, r["name"]):
                o = view.owner("cell", r["name"])
                out.append({**r, "project": o.project, "public": o.public})
        return out

    def model_rows(self, p: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The model rows ``p`` may use; a shared model's training cells are left out unless ``p`` may read them."""
        view = self.view()
        out = []
        for r in rows:
            if not view.may_use_model(p, r["id"]):
                continue
            o = view.owner("model", r["id"])
            row = {**r, "project": o.project, "shared": o.public}
            if not view.may_see_training(p, r["id"]):
                row |= {"cells": [], "stack_spearman_masked": {}}
            out.append(row)
        return out

    def redact(self, p: Principal, value: T) -> T:
        """``value`` (JSON-like) with the name of every cell line ``p`` may not read replaced, wherever it appears as
        a word (QC reasons and references name the cells a track was compared with)."""
        view = self.view()
        if not view.users_mode or p.admin:
            return value
        hidden = sorted((c for c in view.cells if not view.may_read_cell(p, c)), key=len, reverse=True)
        if not hidden:
            return value
        pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, hidden)) + r")(?![\w.-])")
        return _replace_strings(value, lambda s: pattern.sub(HIDDEN, s))  # type: ignore[return-value]

    def readable_cells(self, p: Principal, names: list[str]) -> list[str]:
        """The names ``p`` may read, in their order."""
        view = self.view()
        return [n for n in names if view.may_read_cell(p, n)]


HIDDEN = "(a cell line of another project)"


def _replace_strings(value: object, fn: Callable[[str], str]) -> object:
    """``value`` with ``fn`` applied to every string in it (keys included), through dicts, lists and tuples."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {_replace_strings(k, fn): _replace_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_replace_strings(v, fn) for v in value)
    return value


def unknown_cell(cell: str) -> str:
    """The message for a cell line that does not exist (or may not be read: the same words)."""
    return f"unknown cell line {cell!r}"


def unknown_model(model_id: str) -> str:
    """The message for a model that does not exist (or may not be used: the same words)."""
    return f"unknown model {model_id!r}"
