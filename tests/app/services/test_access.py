"""The access rules, by hand: who may read, change and use what (no store, no server)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from epigex.app.services.access import ADMIN, ANONYMOUS, ANYONE, Principal, View
from epigex.store.access import Owner, User, token_hash

A_WRITER = Principal("ana", "labA", "writer")
A_READER = Principal("amy", "labA", "reader")
B_WRITER = Principal("bob", "labB", "writer")
WHO = {"admin": ADMIN, "a-writer": A_WRITER, "a-reader": A_READER, "b-writer": B_WRITER, "anonymous": ANONYMOUS}

VIEW = View(
    users_mode=True,
    tokens={
        token_hash("tok-ana"): User("ana", "labA", "writer", datetime.now(UTC)),
        token_hash("tok-bob"): User("bob", "labB", "writer", datetime.now(UTC)),
    },
    owners={
        ("cell", "A-private"): Owner("labA", False),
        ("cell", "A-public"): Owner("labA", True),
        ("cell", "B-private"): Owner("labB", False),
        ("model", "m-shared"): Owner("labB", True),
        ("model", "m-A"): Owner("labA", False),
    },
    cells=frozenset({"A-private", "A-public", "B-private", "legacy"}),
    model_cells={"m-A": ["A-private", "legacy"], "m-shared": ["B-private"], "m-legacy": ["legacy"]},
)

# principal -> the expected answer for (A-private, A-public, B-private, legacy)
READ = {
    "admin": [True, True, True, True],
    "a-writer": [True, True, False, True],
    "a-reader": [True, True, False, True],
    "b-writer": [False, True, True, True],
    "anonymous": [False, True, False, True],
}
WRITE = {
    "admin": [True, True, True, True],
    "a-writer": [True, True, False, False],  # a public cell of no project: admins only
    "a-reader": [False, False, False, False],
    "b-writer": [False, False, True, False],
    "anonymous": [False, False, False, False],
}
CELLS = ("A-private", "A-public", "B-private", "legacy")


@pytest.mark.parametrize("who", list(WHO))
def test_who_reads_and_changes_which_cell(who: str) -> None:
    p = WHO[who]
    assert [VIEW.may_read_cell(p, c) for c in CELLS] == READ[who]
    assert [VIEW.may_write_cell(p, c) for c in CELLS] == WRITE[who]


@pytest.mark.parametrize(
    ("who", "use", "see"),
    [
        # models: m-A (labA's private cells), m-shared (shared by an admin, on labB's cells), m-legacy (public cells)
        ("admin", [True, True, True], [True, True, True]),
        ("a-writer", [True, True, True], [True, False, True]),
        ("b-writer", [False, True, True], [False, True, True]),
        ("anonymous", [False, True, True], [False, False, True]),
    ],
)
def test_who_uses_which_model(who: str, use: list[bool], see: list[bool]) -> None:
    p = WHO[who]
    models = ("m-A", "m-shared", "m-legacy")
    assert [VIEW.may_use_model(p, m) for m in models] == use
    assert [VIEW.may_see_training(p, m) for m in models] == see


def test_jobs_are_seen_by_their_project_and_admins() -> None:
    assert VIEW.may_see_job(A_READER, "labA", "ana")
    assert not VIEW.may_see_job(B_WRITER, "labA", "ana")
    assert not VIEW.may_see_job(ANONYMOUS, None, "anonymous")
    assert VIEW.may_see_job(ADMIN, "labB", "bob")


def test_tokens_name_their_user_and_nothing_else() -> None:
    assert VIEW.principal("tok-ana", "the-admin-token") == A_WRITER
    assert VIEW.principal("the-admin-token", "the-admin-token") == ADMIN
    assert VIEW.principal(None, "the-admin-token") == ANONYMOUS
    assert VIEW.principal("tok-ana ", "the-admin-token") is None  # another byte, another token
    assert VIEW.principal("tok-carl", None) is None
    assert VIEW.principal("", None) is None
    open_view = View(users_mode=False, tokens={}, owners={})
    assert open_view.principal(None, None) == ANYONE  # no users: today's rules
    assert all(open_view.may_read_cell(ANYONE, c) for c in CELLS)
