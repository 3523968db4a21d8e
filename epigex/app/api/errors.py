"""Every error as JSON ``{"detail": ...}`` with the status its class names; never a 500 for a client's mistake."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from epigex.store.errors import AuthError, BusyError, EpigexError

log = logging.getLogger("epigex.api")


def _validation_message(err: RequestValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {e.get('msg', 'invalid')}")
    return "bad request: " + "; ".join(parts)


def public_text(text: str, request: Request) -> str:
    """``text`` with the server's store path replaced: an error must never reveal where the server keeps files."""
    home = getattr(request.app.state, "settings", None)
    if home is None:
        return text
    return text.replace(str(home.home), "<store>")


def install_error_handlers(app: FastAPI) -> None:
    """Map epigex errors, validation errors and HTTP errors to JSON bodies.

    A body that is not valid JSON answers 400; a well-formed request with invalid values answers 422.
    """

    @app.exception_handler(EpigexError)
    async def epigex_error(request: Request, err: EpigexError) -> JSONResponse:
        headers = {}
        if isinstance(err, AuthError):
            headers["WWW-Authenticate"] = 'Bearer realm="epigex"'
        if isinstance(err, BusyError):
            headers["Retry-After"] = str(getattr(err, "retry_after", 30))
        return JSONResponse({"detail": public_text(str(err), request)}, status_code=err.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        malformed = any(e.get("type") == "json_invalid" for e in err.errors())
        return JSONResponse({"detail": _validation_message(err)}, status_code=400 if malformed else 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        detail = err.detail if isinstance(err.detail, str) else str(err.detail)
        if err.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
        return JSONResponse({"detail": detail}, status_code=err.status_code, headers=err.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, err: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error ({type(err).__name__}); see the server log"}, status_code=500)
