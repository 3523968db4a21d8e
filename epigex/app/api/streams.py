"""At most so many requests with a body at once: the rest answer 503 before a byte of their body is read.

Reads carry no body, so however many uploads arrive (slow or not), the connections and worker threads that reads
need stay free. A request is counted from its headers until its response is sent; one that would be over the
limit is answered ``503`` with ``Retry-After`` and ``Connection: close`` without running the route at all.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

RETRY_AFTER_S = 5


def has_body(scope: Scope) -> bool:
    """Whether a request announces a body (``Content-Length`` above 0, or chunked transfer encoding)."""
    headers = dict(scope.get("headers") or [])
    length = headers.get(b"content-length", b"").strip()
    if length and length != b"0":
        return True
    return b"chunked" in headers.get(b"transfer-encoding", b"").lower()


class BodyStreams:
    """Admit at most ``limit`` requests with a body at once (an asyncio counter: one event loop, no lock)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            body = json.dumps(
                {"detail": f"{self.limit} uploads are arriving already (EPIGEX_MAX_BODY_STREAMS); try again shortly"}
            ).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_S).encode()),
                (b"connection", b"close"),
            ]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
