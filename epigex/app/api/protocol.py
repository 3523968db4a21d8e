"""uvicorn's HTTP/1.1 protocol with the limits it lacks: request headers in time, request bodies at a minimum rate.

uvicorn closes idle keep-alive connections, but a client that sends its request headers one byte at a time, or a
request body one byte every few seconds, holds a connection for ever — and enough such clients hold every
connection the server allows. Here:

- every connection must complete its request headers within ``header_timeout`` seconds of starting them;
- a request body must keep up a minimum rate: after ``body_grace`` seconds it must have sent ``body_min_rate``
  bytes per second since its headers (the deadline moves as bytes arrive, like Apache's ``mod_reqtimeout``),
  and may never pause longer than ``body_timeout`` seconds between two chunks;
- the same clock runs for a body the server no longer reads because it has already answered (a refused upload
  whose client keeps sending).

A body cut off before the response started is answered ``408`` (JSON ``detail``) and the connection closed.
Time while the server itself has stopped reading (flow control) does not count against the client. How many
bodies may arrive at once is the app's rule (:class:`app.api.streams.BodyStreams`).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

TICK_S = 1.0  # how often a streaming body's rate is checked


class GuardedH11Protocol(H11Protocol):
    """:class:`H11Protocol` plus header and body limits (set by :func:`guarded_protocol`)."""

    header_timeout: float = 10.0
    body_timeout: float = 60.0
    body_grace: float = 10.0
    body_min_rate: float = 1024.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._ticker: asyncio.TimerHandle | None = None
        self._body_start = 0.0
        self._body_bytes = 0
        self._last_data = 0.0
        self._paused_s = 0.0
        self._streaming = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._end_body()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        streaming = self._streaming
        super().data_received(data)
        if streaming:
            self._body_bytes += len(data)
            self._last_data = time.monotonic()
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm()  # idle now: uvicorn's keep-alive timeout takes over until the next byte arrives
        if self.conn.their_state is not h11.SEND_BODY:
            self._end_body()

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _end_body(self) -> None:
        self._streaming = False
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def _arm(self) -> None:
        """Start the clock that fits the request's state: headers pending, a body streaming, or none."""
        if self.transport is None or self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._disarm()
            if not self._streaming:
                self._begin_body()
            return
        self._end_body()
        if state is h11.IDLE and (self.cycle is None or self.cycle.response_complete):
            if self._deadline is None:  # headers pending: one deadline for all of them, not reset per byte
                self._deadline = self.loop.call_later(self.header_timeout, self._expire, "headers")
            return
        self._disarm()

    def _begin_body(self) -> None:
        self._streaming = True
        self._body_start = self._last_data = time.monotonic()
        self._body_bytes = 0
        self._paused_s = 0.0
        self._ticker = self.loop.call_later(TICK_S, self._tick)

    def _tick(self) -> None:
        """Check a streaming body's pace; cut it off when it falls behind the minimum rate or pauses too long."""
        self._ticker = None
        if self.transport is None or self.transport.is_closing() or not self._streaming:
            return
        now = time.monotonic()
        if self.flow.read_paused:  # the server is not reading: the client is not behind
            self._paused_s += TICK_S
            self._last_data = now
        elapsed = now - self._body_start - self._paused_s
        if elapsed > self.body_grace + self._body_bytes / self.body_min_rate:
            self._expire("body", f"arrived slower than {self.body_min_rate:,.0f} bytes/s (EPIGEX_BODY_MIN_RATE)")
            return
        if now - self._last_data > self.body_timeout:
            self._expire("body", f"paused for more than {self.body_timeout:g} s (EPIGEX_BODY_TIMEOUT_S)")
            return
        self._ticker = self.loop.call_later(TICK_S, self._tick)

    def _expire(self, what: str, why: str = "") -> None:
        self._deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        self.logger.info("closing a connection whose request %s did not arrive in time %s", what, why)
        if what == "body":
            self._refuse(408, f"the request body {why}; send it again")
        else:
            self._end_body()
            self.transport.close()

    def _refuse(self, status: int, detail: str) -> None:
        """Answer ``status`` with a JSON detail if no response has started, then close the connection."""
        self._end_body()
        cycle = self.cycle
        if cycle is not None and not cycle.response_started and self.conn.our_state is h11.SEND_RESPONSE:
            body = json.dumps({"detail": detail}).encode()
            hdrs = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ]
            cycle.response_started = True
            cycle.disconnected = True  # the app's own answer, if it still comes, is dropped
            try:
                out = self.conn.send(h11.Response(status_code=status, headers=hdrs))
                out += self.conn.send(h11.Data(data=body))
                out += self.conn.send(h11.EndOfMessage())
                self.transport.write(out)
            except h11.LocalProtocolError:
                pass
            cycle.message_event.set()
        self.transport.close()


def guarded_protocol(
    header_timeout: float, body_timeout: float, *, body_grace: float = 10.0, body_min_rate: float = 1024.0
) -> type[GuardedH11Protocol]:
    """A protocol class with these limits, for ``uvicorn.Config(http=...)``."""
    return type(
        "EpigexH11Protocol",
        (GuardedH11Protocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "body_grace": body_grace,
            "body_min_rate": body_min_rate,
        },
    )
