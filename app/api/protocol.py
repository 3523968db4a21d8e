"""uvicorn's HTTP/1.1 protocol with the timeouts it lacks: a request's headers, and each pause in its body.

uvicorn closes idle keep-alive connections, but a client that sends its request headers one byte at a time (or
never finishes them) holds a connection for ever. Here every connection must complete its request headers within
``header_timeout`` seconds of starting them (or of connecting), and a body that is being streamed may pause at
most ``body_timeout`` seconds between two chunks; otherwise the connection is closed. Pauses while the server
itself has stopped reading (flow control) do not count.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class GuardedH11Protocol(H11Protocol):
    """:class:`H11Protocol` plus header and body timeouts (set by :func:`guarded_protocol`)."""

    header_timeout: float = 10.0
    body_timeout: float = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm()  # idle now: uvicorn's keep-alive timeout takes over until the next byte arrives

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _arm(self) -> None:
        """(Re)start the clock that fits the request's state: headers pending, body streaming, or none."""
        if self.transport is None or self.transport.is_closing():
            return
        state = self.conn.their_state
        if (state is h11.IDLE and self.cycle is None) or (state is h11.IDLE and self.cycle.response_complete):
            if self._deadline is None:  # headers pending: one deadline for all of them, not reset per byte
                self._deadline = self.loop.call_later(self.header_timeout, self._expire, "headers")
            return
        self._disarm()
        if state is h11.SEND_BODY and not self.flow.read_paused:
            self._deadline = self.loop.call_later(self.body_timeout, self._expire, "body")

    def _expire(self, what: str) -> None:
        self._deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        if what == "body" and self.flow.read_paused:
            return
        self.logger.info("closing a connection whose request %s did not arrive in time", what)
        self.transport.close()


def guarded_protocol(header_timeout: float, body_timeout: float) -> type[GuardedH11Protocol]:
    """A protocol class with these timeouts, for ``uvicorn.Config(http=...)``."""
    return type(
        "EpigexH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )
