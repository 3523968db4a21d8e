"""Errors that users see: each says what is wrong and how to fix it, and maps to one HTTP status."""

from __future__ import annotations


class EpigexError(Exception):
    """Base of every error epigex reports to a user (CLI: one line on stderr; API: JSON ``detail``)."""

    status_code = 400


class InputError(EpigexError):
    """Bad content in a file or value the user gave (truncated file, malformed line, wrong genome build)."""

    status_code = 422


class FileTypeError(EpigexError):
    """A file of the wrong type (not a bigWig, a bigBed where a bigWig belongs)."""

    status_code = 415


class NotFoundError(EpigexError):
    """An unknown cell line, gene, model or job."""

    status_code = 404


class ConflictError(EpigexError):
    """A request that conflicts with the store's state (name taken, no model yet)."""

    status_code = 409


def at_line(path: str, line: int, message: str) -> str:
    """Format a message that names a file and a 1-based line number."""
    return f"{path}, line {line}: {message}"


class TooLargeError(EpigexError):
    """An upload above the configured size limit."""

    status_code = 413


class ResourceLimitError(InputError):
    """An input that would need more memory, time or inflated bytes than the configured budget allows."""

    status_code = 413


class RequestTimeoutError(EpigexError):
    """A client that stopped sending its request."""

    status_code = 408


class BusyError(EpigexError):
    """Too much work queued already; try again later."""

    status_code = 429


class QuotaError(BusyError):
    """A user over a quota (jobs at once, bytes a day); ``retry_after``: seconds until it may try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class AuthError(EpigexError):
    """A write without the right bearer token."""

    status_code = 401
