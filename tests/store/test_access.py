"""Users, owners and the audit trail in the catalog: tokens kept only as hashes, owner defaults, quotas' sums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from epigex.store.access import (
    PUBLIC,
    Owner,
    active_tokens,
    add_user,
    audit_rows,
    bytes_uploaded_since,
    claim,
    has_users,
    list_users,
    may_inform,
    owner_of,
    owners,
    public_labelled_cells,
    record,
    revoke_user,
    rotate_user,
    set_owner,
    token_hash,
)
from epigex.store.catalog import Store
from epigex.store.errors import ConflictError, InputError, NotFoundError


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "home")


def test_a_token_is_shown_once_and_only_its_hash_is_kept(store: Store) -> None:
    assert not has_users(store)
    token = add_user(store, "ana", "labA", "writer")
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert has_users(store)
    raw = b"".join(f.read_bytes() for f in store.home.glob("catalog.duckdb*"))
    assert raw
    assert token.encode() not in raw
    assert [(u.name, u.project, u.role) for u in list_users(store)] == [("ana", "labA", "writer")]
    assert active_tokens(store)[token_hash(token)].name == "ana"


def test_rotate_kills_the_old_token_and_revoke_kills_every_token(store: Store) -> None:
    old = add_user(store, "ana", "labA")
    new = rotate_user(store, "ana")
    assert new != old
    assert set(active_tokens(store)) == {token_hash(new)}
    revoke_user(store, "ana")
    assert active_tokens(store) == {}
    assert list_users(store)[0].revoked_at is not None
    assert has_users(store)  # a revoked user keeps the store in users mode: reads never fall back to open
    back = rotate_user(store, "ana")
    assert set(active_tokens(store)) == {token_hash(back)}


@pytest.mark.parametrize(
    ("name", "project", "role", "error"),
    [
        ("ana", "labA", "writer", ConflictError),  # a second user of the same name
        ("", "labA", "writer", InputError),
        ("ana b", "labA", "writer", InputError),
        ("bob", "lab/A", "writer", InputError),
        ("bob", "labA", "owner", InputError),
    ],
)
def test_bad_users_are_refused(store: Store, name: str, project: str, role: str, error: type[Exception]) -> None:
    add_user(store, "ana", "labA")
    with pytest.raises(error):
        add_user(store, name, project, role)
    assert [u.name for u in list_users(store)] == ["ana"]


def test_unknown_users_cannot_be_rotated_or_revoked(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no user named 'zed'"):
        rotate_user(store, "zed")
    with pytest.raises(NotFoundError):
        revoke_user(store, "zed")


def test_owners_default_to_public_and_claim_keeps_the_first(store: Store) -> None:
    assert owner_of(store, "cell", "X1") == PUBLIC
    set_owner(store, "cell", "X1", Owner("labA", False))
    assert owner_of(store, "cell", "X1") == Owner("labA", False)
    claim(store, "model", "m1", Owner("labA", False))
    claim(store, "model", "m1", Owner("labB", False))
    assert owners(store) == {("cell", "X1"): Owner("labA", False), ("model", "m1"): Owner("labA", False)}


def test_references_must_be_readable_by_whoever_reads_the_target(store: Store) -> None:
    set_owner(store, "cell", "A1", Owner("labA", False))
    set_owner(store, "cell", "A2", Owner("labA", False))
    set_owner(store, "cell", "B1", Owner("labB", False))
    set_owner(store, "cell", "P1", Owner("labA", True))
    ok = may_inform(store, "A1")  # a private target of labA: public references and labA's own
    assert [ok(c) for c in ("A2", "B1", "P1", "X1")] == [True, False, True, True]
    ok = may_inform(store, "P1")  # a public target: only public references (its readers are everyone)
    assert [ok(c) for c in ("A2", "B1", "X1")] == [False, False, True]


def test_the_public_pool_is_every_labelled_cell_without_users(store: Store) -> None:
    with store.write() as con:
        for name, labelled in (("X1", True), ("X2", True), ("X3", False)):
            con.execute("INSERT INTO cell_lines (name, labelled) VALUES (?, ?)", [name, labelled])
    assert public_labelled_cells(store) is None
    add_user(store, "ana", "labA")
    set_owner(store, "cell", "X2", Owner("labA", False))
    assert public_labelled_cells(store) == {"X1"}
    set_owner(store, "cell", "X2", Owner("labA", True))
    assert public_labelled_cells(store) == {"X1", "X2"}


def test_the_audit_trail_sums_uploads_per_user_and_day(store: Store) -> None:
    record(store, "ana", "labA", "upload", "C1", nbytes=100)
    record(store, "ana", "labA", "upload", "C2", nbytes=50)
    record(store, "ana", "labA", "train", "C1")
    record(store, "bob", "labB", "upload", "C3", nbytes=7)
    midnight = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    assert bytes_uploaded_since(store, "ana", midnight) == 150
    assert bytes_uploaded_since(store, "ana", midnight + timedelta(days=1)) == 0
    assert bytes_uploaded_since(store, "carl", midnight) == 0
    rows = audit_rows(store, limit=3)
    assert [r["target"] for r in rows] == ["C3", "C1", "C2"]  # newest first
    assert [r["action"] for r in audit_rows(store, actor="ana")] == ["train", "upload", "upload"]
