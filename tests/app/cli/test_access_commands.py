"""``epigex users``, ``publish``, ``share`` and ``audit`` as a user meets them (a real process on a real store)."""

from __future__ import annotations

from pathlib import Path

from epigex.store.access import active_tokens, list_users, token_hash
from epigex.store.catalog import Store
from tests.app.test_cli import run


def test_a_token_is_printed_once_alone_on_the_last_line_and_works_until_rotated(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = run(["users"], home)
    assert r.returncode == 0
    assert "no users" in r.stdout
    r = run(["users", "add", "ana", "--project", "labA"], home)
    assert r.returncode == 0, r.stderr
    token = r.stdout.splitlines()[-1]
    assert len(token) >= 43
    assert " " not in token
    assert active_tokens(Store(home))[token_hash(token)].name == "ana"
    listed = run(["users"], home).stdout
    assert "ana" in listed
    assert "writer" in listed
    assert token not in listed

    r = run(["users", "rotate", "ana"], home)
    new = r.stdout.splitlines()[-1]
    assert new != token
    assert set(active_tokens(Store(home))) == {token_hash(new)}
    assert run(["users", "revoke", "ana"], home).returncode == 0
    assert active_tokens(Store(home)) == {}
    assert "revoked" in run(["users"], home).stdout
    assert list_users(Store(home))[0].revoked_at is not None

    trail = run(["audit", "--limit", "10"], home, columns=200).stdout
    for action in ("user add", "user rotate", "user revoke"):
        assert action in trail


def test_refusals_are_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for args, words in (
        (["users", "add", "ana", "--project", "lab A"], "project 'lab A' is not allowed"),
        (["users", "add", "ana", "--project", "labA", "--role", "owner"], "role 'owner' is not one of"),
        (["users", "rotate", "nobody"], "no user named 'nobody'"),
        (["publish", "X9"], "unknown cell line 'X9'"),
        (["share", "nope"], "no model yet"),
    ):
        r = run(args, home)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.strip().count("\n") == 0, r.stderr
        assert words in r.stderr, (args, r.stderr)
    run(["users", "add", "ana", "--project", "labA"], home)
    r = run(["users", "add", "ana", "--project", "labB"], home)
    assert r.returncode == 2
    assert "exists already" in r.stderr
