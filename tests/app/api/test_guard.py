"""Who may write: the bearer token compared byte for byte, one Authorization header, HEAD answered as GET."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from epigex.app.api.guard import authorization, token_ok
from tests.app.api.conftest import TOKEN


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),  # the scheme is case-insensitive
        (f"Bearer {TOKEN} \t", True),  # spaces and tabs around a value are HTTP's, not the token's
        (f"Bearer {TOKEN}\x1f", False),  # what str.strip() would also have dropped: other bytes, another token
        (f"Bearer {TOKEN}\x85", False),
        (f"Bearer {TOKEN}\xa0", False),
        (f"Bearer \xa0{TOKEN}", False),
        (f"Bearer {TOKEN}x", False),
        (f"Basic {TOKEN}", False),
        ("Bearer", False),
        ("", False),
        (None, False),
        ("Bearer s3cret-t\u20acken", False),  # not a latin-1 decoded header at all
    ],
)
def test_the_token_is_compared_byte_for_byte(header: str | None, ok: bool) -> None:
    assert token_ok(header, TOKEN) is ok


def test_a_non_ascii_token_matches_its_utf8_bytes() -> None:
    token = "tök€n"
    sent = token.encode().decode("latin-1")  # how a server sees the UTF-8 bytes of the header
    assert token_ok(f"Bearer {sent}", token)
    assert not token_ok(f"Bearer {token}", token)


def test_one_authorization_header_or_none() -> None:
    one = {"headers": [(b"authorization", b"Bearer a")]}
    two = {"headers": [(b"authorization", b"Bearer a"), (b"authorization", b"Bearer b")]}
    assert authorization(one) == "Bearer a"
    assert authorization(two) is None
    assert authorization({"headers": []}) is None


def test_invisible_bytes_around_the_token_do_not_write(client: TestClient) -> None:
    for extra in (b"\x1f", b"\x85", b"\xa0"):
        r = client.delete("/cell-lines/X3", headers={"Authorization": b"Bearer " + TOKEN.encode() + extra})
        assert r.status_code == 401, extra
    twice = client.delete(
        "/cell-lines/X3", headers=[("Authorization", f"Bearer {TOKEN}"), ("Authorization", f"Bearer {TOKEN}")]
    )
    assert twice.status_code == 401
    assert client.get("/cell-lines/X3").status_code == 200


def test_head_is_get_without_a_body(client: TestClient) -> None:
    r = client.head("/healthz")
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["content-length"]) > 0
    assert client.head("/cell-lines").status_code == 200
    allow = client.options("/cell-lines").headers["allow"]
    assert allow == "GET, HEAD, OPTIONS, POST"
