"""Users, their tokens, who owns what, and the audit trail, in the catalog.

A user has a name, a project (a lab) and a role (``reader``, ``writer`` or ``admin``). Only the SHA-256 of a
token is kept: the token itself is shown once, when it is made. A cell line or a model belongs to a project and
is private to it unless public (a cell) or shared (a model); a thing with no owner row is public (every store
made before projects existed, the demo, a CLI ingest without ``--project``). The audit trail is append-only.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb

from epigex.store.catalog import Store
from epigex.store.errors import ConflictError, InputError, NotFoundError

Role = Literal["reader", "writer", "admin"]
ROLES: tuple[Role, ...] = ("reader", "writer", "admin")
Kind = Literal["cell", "model"]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TOKEN_BYTES = 32


@dataclass(frozen=True)
class User:
    """One user as the catalog holds it (never the token)."""

    name: str
    project: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Owner:
    """Who owns a cell line or a model: a project (None: nobody's, i.e. public) and whether others may read it."""

    project: str | None
    public: bool


PUBLIC = Owner(None, True)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest of a token (what the catalog keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(value: str, what: str) -> str:
    """``value`` if it is a valid user or project name, else an :class:`InputError` that says what is allowed."""
    if not NAME.match(value):
        raise InputError(
            f"{what} {value!r} is not allowed: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def add_user(store: Store, name: str, project: str, role: str = "writer") -> str:
    """Add a user; return its token (shown once: only its hash is kept)."""
    check_name(name, "user name")
    check_name(project, "project")
    if role not in ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
    token = _new_token()
    with store.write() as con:
        if con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchall():
            raise ConflictError(f"user {name!r} exists already (epigex users rotate {name} gives it a new token)")
        con.execute("INSERT INTO users VALUES (?, ?, ?, ?, now(), NULL)", [name, project, role, token_hash(token)])
    return token


def rotate_user(store: Store, name: str) -> str:
    """Give a user a new token (the old one stops working at once); return it. A revoked user is restored."""
    token = _new_token()
    with store.write() as con:
        if not con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchall():
            raise NotFoundError(f"no user named {name!r} (epigex users list)")
        con.execute("UPDATE users SET token_sha256 = ?, revoked_at = NULL WHERE name = ?", [token_hash(token), name])
    return token


def revoke_user(store: Store, name: str) -> None:
    """Make a user's token stop working (the user stays in the audit trail)."""
    with store.write() as con:
        if not con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchall():
            raise NotFoundError(f"no user named {name!r} (epigex users list)")
        con.execute("UPDATE users SET revoked_at = now(), token_sha256 = NULL WHERE name = ?", [name])


def list_users(store: Store) -> list[User]:
    """Every user, by name."""
    rows = store.query("SELECT name, project, role, created_at, revoked_at FROM users ORDER BY name")
    return [User(*r) for r in rows]


def active_tokens(store: Store) -> dict[str, User]:
    """Token hash → user, for every user whose token works."""
    rows = store.query(
        "SELECT token_sha256, name, project, role, created_at FROM users WHERE revoked_at IS NULL "
        "AND token_sha256 IS NOT NULL"
    )
    return {r[0]: User(*r[1:]) for r in rows}


def has_users(store: Store) -> bool:
    """Whether any user was ever added (the service then runs with per-user permissions)."""
    return bool(store.query("SELECT 1 FROM users LIMIT 1"))


def write_owner(con: duckdb.DuckDBPyConnection, kind: Kind, name: str, owner: Owner) -> None:
    """Set who owns ``name`` inside the caller's transaction."""
    con.execute("DELETE FROM owners WHERE kind = ? AND name = ?", [kind, name])
    con.execute("INSERT INTO owners VALUES (?, ?, ?, ?)", [kind, name, owner.project, owner.public])


def set_owner(store: Store, kind: Kind, name: str, owner: Owner) -> None:
    """Set who owns ``name`` (its own transaction)."""
    with store.write() as con:
        write_owner(con, kind, name, owner)


def claim(store: Store, kind: Kind, name: str, owner: Owner) -> None:
    """Set who owns ``name`` unless it has an owner already (a model reused by another training keeps its own)."""
    with store.write() as con:
        con.execute(
            "INSERT INTO owners VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) DO NOTHING",
            [kind, name, owner.project, owner.public],
        )


def public_labelled_cells(store: Store) -> set[str] | None:
    """With users: the labelled cell lines every user may read (the pool shared models are trained on); None
    without users (every labelled cell)."""
    if not has_users(store):
        return None
    rows = store.query(
        "SELECT c.name FROM cell_lines c LEFT JOIN owners o ON o.kind = 'cell' AND o.name = c.name "
        "WHERE c.labelled AND (o.public IS NULL OR o.public)"
    )
    return {r[0] for r in rows}


def may_inform(store: Store, target: str) -> Callable[[str], bool]:
    """Whether a labelled cell may inform ``target``'s predictions as a reference: whoever reads ``target`` must
    be able to read it (a public target: public references; a private one: public or its project's)."""
    own = owners(store)
    t = own.get(("cell", target), PUBLIC)

    def ok(ref: str) -> bool:
        r = own.get(("cell", ref), PUBLIC)
        return r.public or (not t.public and r.project is not None and r.project == t.project)

    return ok


def model_training_cells(store: Store) -> dict[str, list[str]]:
    """Every model's training cells, newest model first."""
    rows = store.query("SELECT id, cells FROM models ORDER BY created_at DESC, id")
    return {mid: json.loads(c) if isinstance(c, str) else list(c or []) for mid, c in rows}


def cell_names(store: Store) -> frozenset[str]:
    """The names of every cell line in the store."""
    return frozenset(r[0] for r in store.query("SELECT name FROM cell_lines"))


def drop_owner(con: duckdb.DuckDBPyConnection, kind: Kind, name: str) -> None:
    """Forget who owned ``name`` (it was deleted), inside the caller's transaction."""
    con.execute("DELETE FROM owners WHERE kind = ? AND name = ?", [kind, name])


def owners(store: Store) -> dict[tuple[str, str], Owner]:
    """(kind, name) → owner, for everything that has an owner row (the rest is public)."""
    return {
        (k, n): Owner(p, bool(pub)) for k, n, p, pub in store.query("SELECT kind, name, project, public FROM owners")
    }


def owner_of(store: Store, kind: Kind, name: str) -> Owner:
    """Who owns one thing (public when it has no owner row)."""
    rows = store.query("SELECT project, public FROM owners WHERE kind = ? AND name = ?", [kind, name])
    return Owner(rows[0][0], bool(rows[0][1])) if rows else PUBLIC


def record(
    store: Store, actor: str, project: str | None, action: str, target: str, *, nbytes: int = 0, detail: str = ""
) -> None:
    """Append one line to the audit trail."""
    with store.write() as con:
        con.execute(
            "INSERT INTO audit VALUES (now(), ?, ?, ?, ?, ?, ?)", [actor, project, action, target, nbytes, detail]
        )


AUDIT_KEYS = ("at", "actor", "project", "action", "target", "bytes", "detail")


def audit_rows(store: Store, limit: int = 100, actor: str | None = None) -> list[dict[str, Any]]:
    """The newest audit lines first (``limit`` of them), optionally one actor's."""
    where, params = ("WHERE actor = ?", [actor]) if actor else ("", [])
    rows = store.query(f"SELECT * FROM audit {where} ORDER BY happened_at DESC, rowid DESC LIMIT ?", [*params, limit])
    return [dict(zip(AUDIT_KEYS, r, strict=True)) for r in rows]


def bytes_uploaded_since(store: Store, actor: str, since: datetime) -> int:
    """Bytes ``actor`` uploaded since ``since`` (UTC), from the audit trail."""
    rows = store.query(
        "SELECT coalesce(sum(bytes), 0) FROM audit WHERE actor = ? AND action = 'upload' AND happened_at >= ?",
        [actor, since],
    )
    return int(rows[0][0])
