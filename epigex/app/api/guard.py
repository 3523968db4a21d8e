"""Who may write, decided before a byte of the body is read; and ``OPTIONS`` answered from the route table.

Write modes (chosen once at start-up, said in the log):

- ``token``: ``EPIGEX_API_TOKEN`` is set; every write (any method but GET, HEAD and OPTIONS) needs
  ``Authorization: Bearer <token>`` (401 with ``WWW-Authenticate: Bearer`` otherwise). The example token of
  ``.env.example`` is refused: the server does not start with it.
- ``open``: no token, and the server listens on a loopback address only (development), or
  ``EPIGEX_ALLOW_OPEN_WRITES`` says writes are meant to be open to whoever reaches the port.
- ``read-only``: no token on a non-loopback address (or ``EPIGEX_READ_ONLY``): reads work, writes answer 403.

The check is a pure ASGI middleware, so a write without the token is refused before its body is parsed (a
malformed JSON body from a stranger answers 401, not 400, and an upload is never streamed to disk).

Once the store has users (``epigex users add``), the guard also says who each request acts for
(:mod:`app.services.access`): a bearer token names a user (or, ``EPIGEX_API_TOKEN``, the admin); a token that
names nobody answers 401 on any request; no token is anonymous, who only reads what is public; writes need a
writer's or the admin's token (401 without one, 403 for a reader), whatever the write mode, unless
``EPIGEX_READ_ONLY``. Page loads of the web UI carry the token in the ``epigex_token`` cookie (``SameSite=Strict``,
read for GET and HEAD only: a write always needs the header). The principal goes to ``request.state.principal``.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from typing import Literal

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from epigex.app.services.access import ADMIN, ANYONE, Principal, View
from epigex.app.settings import Settings
from epigex.store.errors import EpigexError

WriteMode = Literal["token", "open", "read-only"]
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXAMPLE_TOKENS = frozenset({"change-me", "changeme", "change_me", "secret", "token"})


class ConfigError(EpigexError):
    """A setting that must be fixed before the service can start."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only accepts connections from this machine."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def write_mode(settings: Settings) -> WriteMode:
    """The write mode the settings imply (raises :class:`ConfigError` for an example token)."""
    token = settings.api_token
    if token:
        if token.strip().lower() in EXAMPLE_TOKENS:
            raise ConfigError(
                "EPIGEX_API_TOKEN is the example value from .env.example; set a secret of your own "
                "(e.g. `openssl rand -hex 24`)"
            )
        return "token"
    if settings.read_only:
        return "read-only"
    if settings.allow_open_writes or is_loopback(settings.bind_host):
        return "open"
    return "read-only"


def describe(mode: WriteMode, settings: Settings) -> str:
    """One start-up line that says who may write."""
    if mode == "token":
        return "writes need the bearer token (EPIGEX_API_TOKEN)"
    if mode == "open":
        why = "EPIGEX_ALLOW_OPEN_WRITES is set" if settings.allow_open_writes else "it listens on loopback only"
        return f"writes are OPEN to anyone who reaches {settings.bind_host} ({why}); set EPIGEX_API_TOKEN to close them"
    why = (
        "EPIGEX_READ_ONLY is set" if settings.read_only else f"{settings.bind_host} is not loopback and no token is set"
    )
    return f"READ-ONLY: writes answer 403 ({why}); set EPIGEX_API_TOKEN to allow writes with that token"


def token_ok(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token`` as a bearer token (constant-time).

    Only spaces and tabs around the token are dropped (what HTTP itself allows); any other byte, even an invisible
    one such as a no-break space, makes it another token.
    """
    scheme, _, given = (header or "").partition(" ")
    try:
        raw = given.strip(" \t").encode("latin-1")  # the header's own bytes (it was decoded as latin-1)
    except UnicodeEncodeError:
        return False
    return scheme.lower() == "bearer" and secrets.compare_digest(raw, token.encode("utf-8"))


def authorization(scope: Scope) -> str | None:
    """The request's one ``Authorization`` header (latin-1), or None: absent, or sent more than once."""
    values = [v for k, v in scope["headers"] if k == b"authorization"]
    return values[0].decode("latin-1") if len(values) == 1 else None


COOKIE = "epigex_token"


def bearer_token(scope: Scope) -> tuple[bool, str | None]:
    """(whether credentials were sent, the bearer token or None when they are not a usable bearer token).

    The ``Authorization`` header first; for GET and HEAD (page loads of the web UI) the ``epigex_token`` cookie.
    """
    headers = [v for k, v in scope["headers"] if k == b"authorization"]
    if headers:
        scheme, _, given = headers[0].decode("latin-1").partition(" ")
        token = given.strip(" \t")
        ok = len(headers) == 1 and scheme.lower() == "bearer" and token and token.isascii() and token.isprintable()
        return True, token if ok else None
    if scope["method"] in ("GET", "HEAD"):
        for k, v in scope["headers"]:
            if k == b"cookie":
                for part in v.decode("latin-1").split(";"):
                    name, _, value = part.strip().partition("=")
                    if name == COOKIE and value:
                        return True, value if value.isascii() and value.isprintable() else None
    return False, None


async def _json(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


class HttpGuard:
    """Refuse writes the mode does not allow, before the body; answer ``OPTIONS`` with every allowed method."""

    def __init__(
        self, app: ASGIApp, mode: WriteMode, token: str | None, routes: list[BaseRoute], read_only: bool = False
    ) -> None:
        self.app = app
        self.mode = mode
        self.read_only = read_only  # EPIGEX_READ_ONLY: no writes even for users
        self.token = token or ""
        self.routes = routes  # every endpoint route (the routers' own, not the app's include wrappers)

    def _methods(self, scope: Scope) -> set[str]:
        """Every method some route allows on this path (a path match is FULL or PARTIAL whatever the method)."""
        methods: set[str] = set()
        for route in self.routes:
            route_methods = getattr(route, "methods", None)
            if route_methods and route.matches({**scope, "method": "GET"})[0] != Match.NONE:
                methods |= set(route_methods)
        return methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            methods = self._methods(scope)
            if not methods:
                await _json(send, 404, f"no such endpoint: {scope['path']} (see /docs)")
                return
            allow = ", ".join(sorted(methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())))
            await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow.encode())]})
            await send({"type": "http.response.body", "body": b""})
            return
        if method == "HEAD" and "GET" in self._methods(scope):  # HEAD is GET without the body (uvicorn drops it)
            await self.app({**scope, "method": "GET"}, receive, send)
            return
        writes = method not in READ_METHODS and method in self._methods(scope)  # others: the router's 404 or 405
        access = getattr(scope["app"].state, "access", None) if "app" in scope else None
        if access is not None and access.view().users_mode:
            await self._as_user(access.view(), scope, receive, send, writes)
            return
        admin = self.mode == "token" and token_ok(authorization(scope), self.token)
        scope.setdefault("state", {})["principal"] = ADMIN if admin else ANYONE
        if writes:
            if self.mode == "read-only":
                await _json(send, 403, "this server is read-only: writes are disabled (see its start-up log)")
                return
            if self.mode == "token":
                if not token_ok(authorization(scope), self.token):
                    await _json(
                        send,
                        401,
                        "this request writes to the store: send 'Authorization: Bearer <EPIGEX_API_TOKEN>'",
                        [(b"www-authenticate", b'Bearer realm="epigex"')],
                    )
                    return
        await self.app(scope, receive, send)

    async def _as_user(self, view: View, scope: Scope, receive: Receive, send: Send, writes: bool) -> None:
        """Users mode: name the principal, refuse unknown tokens anywhere and writes without a writer's token."""
        sent, token = bearer_token(scope)
        principal: Principal | None = view.principal(token, self.token or None) if (token or not sent) else None
        if principal is None:
            self._count(scope, "unknown token")
            await _json(
                send,
                401,
                "unknown or revoked token: send 'Authorization: Bearer <your token>' (ask an admin "
                "for one: epigex users add)",
                [(b"www-authenticate", b'Bearer realm="epigex"')],
            )
            return
        if writes:
            if self.mode == "read-only" and self.read_only:
                await _json(send, 403, "this server is read-only: writes are disabled (see its start-up log)")
                return
            if principal.role == "anonymous":
                self._count(scope, "missing")
                await _json(
                    send,
                    401,
                    "this request writes to the store: send 'Authorization: Bearer <your token>'",
                    [(b"www-authenticate", b'Bearer realm="epigex"')],
                )
                return
            if not principal.writes:
                self._count(scope, "role")
                await _json(send, 403, f"user {principal.name} is a reader: writes need a writer's or an admin's token")
                return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    @staticmethod
    def _count(scope: Scope, reason: str) -> None:
        metrics = getattr(scope["app"].state, "metrics", None) if "app" in scope else None
        if metrics is not None:
            metrics.auth_failures.labels(reason).inc()
