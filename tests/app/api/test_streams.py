"""At most so many requests with a body at once: the next is a 503 before its route runs; reads always pass."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from epigex.app.api.streams import RETRY_AFTER_S, BodyStreams, has_body


def scope(headers: dict[bytes, bytes] | None = None, kind: str = "http") -> dict[str, Any]:
    return {"type": kind, "method": "POST", "path": "/x", "headers": list((headers or {}).items())}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, False),
        ({b"content-length": b"0"}, False),
        ({b"content-length": b" 0 "}, False),
        ({b"content-length": b""}, False),
        ({b"content-length": b"12"}, True),
        ({b"transfer-encoding": b"chunked"}, True),
        ({b"transfer-encoding": b"gzip, Chunked"}, True),
        ({b"transfer-encoding": b"gzip"}, False),
    ],
)
def test_has_body(headers: dict[bytes, bytes], expected: bool) -> None:
    assert has_body(scope(headers)) is expected


def test_has_body_without_headers_key() -> None:
    assert has_body({"type": "http"}) is False


class Gate:
    """An inner app whose requests wait for ``release`` and record that they ran."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.ran: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.ran.append(scope["path"])
        if scope.get("wait"):
            await self.release.wait()
        if scope.get("fail"):
            raise RuntimeError("route failed")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(app: BodyStreams, sc: dict[str, Any]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(sc, receive, send)
    return sent


UPLOAD = {b"content-length": b"100"}


def test_over_the_limit_is_refused_and_reads_still_pass() -> None:
    async def scenario() -> None:
        gate = Gate()
        app = BodyStreams(gate, limit=2)
        slow = [asyncio.create_task(call(app, scope(UPLOAD) | {"wait": True, "path": f"/up{i}"})) for i in range(2)]
        await asyncio.sleep(0)
        assert app.active == 2
        refused = await call(app, scope(UPLOAD) | {"path": "/up3"})
        assert gate.ran == ["/up0", "/up1"]  # the third upload never reached the route
        start, body = refused
        assert start["status"] == 503
        headers = dict(start["headers"])
        assert headers[b"retry-after"] == str(RETRY_AFTER_S).encode()
        assert headers[b"connection"] == b"close"
        assert headers[b"content-type"] == b"application/json"
        assert int(headers[b"content-length"]) == len(body["body"])
        assert json.loads(body["body"]) == {
            "detail": "2 uploads are arriving already (EPIGEX_MAX_BODY_STREAMS); try again shortly"
        }
        read = await call(app, scope() | {"path": "/read"})  # no body: not counted, not refused
        assert read[0]["status"] == 200
        assert app.active == 2
        gate.release.set()
        done = await asyncio.gather(*slow)
        assert [d[0]["status"] for d in done] == [200, 200]
        assert app.active == 0
        again = await call(app, scope(UPLOAD) | {"path": "/up4"})
        assert again[0]["status"] == 200

    asyncio.run(scenario())


def test_a_failing_route_frees_its_slot() -> None:
    async def scenario() -> None:
        app = BodyStreams(Gate(), limit=1)
        with pytest.raises(RuntimeError, match="route failed"):
            await call(app, scope(UPLOAD) | {"fail": True})
        assert app.active == 0
        assert (await call(app, scope(UPLOAD)))[0]["status"] == 200

    asyncio.run(scenario())


def test_non_http_scopes_pass_through() -> None:
    async def scenario() -> None:
        gate = Gate()
        app = BodyStreams(gate, limit=0)  # no upload at all may pass
        assert (await call(app, scope(UPLOAD, kind="websocket") | {"path": "/ws"}))[0]["status"] == 200
        assert (await call(app, scope(UPLOAD)))[0]["status"] == 503
        assert gate.ran == ["/ws"]

    asyncio.run(scenario())
