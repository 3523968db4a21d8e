"""Streaming multipart uploads straight to disk, bounded in every resource, with a sha256 per file.

The request body is parsed chunk by chunk (python-multipart's streaming parser): every file part goes into its
own file under the upload folder as it arrives, hashed on the way. Limits, all enforced while streaming (a
chunked request without Content-Length meets the same ones): a file part above the per-file limit, or a body
above the whole request's budget (the allowed file fields at the per-file limit, plus 1 MiB), is refused with
413 the moment it passes; a field the endpoint does not take is refused (400) before a byte of it is written;
text fields are capped in size and can only be the endpoint's own; a client that pauses longer than the idle
timeout between two chunks is cut off (408). Stored file names are chosen by the server (the form field's name),
so a client's file name with a path in it can never escape the upload folder; the client's name is kept only
as text.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header

from epigex.store.errors import EpigexError, RequestTimeoutError, TooLargeError

FIELD_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
MAX_TEXT_FIELD = 64 * 1024
MAX_HEADER_BYTES = 8 * 1024  # one part header's name or value
MAX_PART_HEADERS = 16


@dataclass
class UploadedFile:
    """One received file part."""

    field: str
    filename: str
    path: Path
    size: int
    sha256: str


@dataclass
class Upload:
    """A parsed multipart request: text fields and files on disk under ``folder``."""

    folder: Path
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def discard(self) -> None:
        """Remove the upload folder and everything in it."""
        shutil.rmtree(self.folder, ignore_errors=True)


def safe_client_name(name: str) -> str:
    """The client's file name reduced to its last path component (for messages and records only)."""
    base = re.split(r"[\\/]", name)[-1].strip()
    return re.sub(r"[^\w.+-]", "_", base)[:200] or "upload"


class _Collector:
    """Callbacks of the streaming parser: route each part to a text buffer or a file on disk."""

    def __init__(self, folder: Path, max_bytes: int, files_allowed: set[str], text_allowed: set[str]) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.files_allowed = files_allowed
        self.text_allowed = text_allowed
        self.upload = Upload(folder)
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._filename: str | None = None
        self._fh: IO[bytes] | None = None
        self._hash = hashlib.sha256()
        self._size = 0
        self._text = bytearray()
        self.error: EpigexError | None = None

    def on_part_begin(self) -> None:
        self._headers = {}
        self._size = 0
        self._text = bytearray()
        self._hash = hashlib.sha256()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]
        if len(self._header_field) > MAX_HEADER_BYTES:
            raise EpigexError("a part header of the multipart body is too long")

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        if len(self._header_value) > MAX_HEADER_BYTES:
            raise EpigexError("a part header of the multipart body is too long")

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""
        if len(self._headers) > MAX_PART_HEADERS:
            raise EpigexError("a part of the multipart body has too many headers")

    def on_headers_finished(self) -> None:
        _, opts = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        if not FIELD_RE.match(name):
            raise EpigexError(f"form field name {name!r} is not allowed (letters, digits and _ only)")
        if name in self.upload.fields or name in self.upload.files:
            raise EpigexError(f"form field {name!r} is given twice")
        self._name = name
        raw = opts.get(b"filename")
        self._filename = raw.decode("utf-8", "replace") if raw is not None else None
        allowed = self.files_allowed if self._filename is not None else self.text_allowed
        if name not in allowed:
            what = "file" if self._filename is not None else "text"
            files = ", ".join(sorted(self.files_allowed))
            raise EpigexError(
                f"unexpected {what} field {name!r}; this endpoint takes the files {files} "
                f"and the fields {', '.join(sorted(self.text_allowed))}"
            )
        if self._filename is not None:
            self._fh = open(self.folder / name, "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        self._size += len(chunk)
        if self._fh is not None:
            if self._size > self.max_bytes:
                raise TooLargeError(
                    f"file {self._name!r} is larger than the limit of {self.max_bytes // 2**20} MB "
                    "(EPIGEX_MAX_UPLOAD_MB)"
                )
            self._hash.update(chunk)
            self._fh.write(chunk)
        else:
            if self._size > MAX_TEXT_FIELD:
                raise EpigexError(f"form field {self._name!r} is too long for a text field")
            self._text += chunk

    def on_part_end(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self.upload.files[self._name] = UploadedFile(
                self._name,
                safe_client_name(self._filename or self._name),
                self.folder / self._name,
                self._size,
                self._hash.hexdigest(),
            )
        else:
            self.upload.fields[self._name] = self._text.decode("utf-8", "replace")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


async def receive_upload(
    content_type: str,
    content_length: int | None,
    body: AsyncIterator[bytes],
    folder: Path,
    max_bytes: int,
    *,
    files_allowed: set[str],
    text_allowed: set[str],
    idle_timeout: float = 60.0,
) -> Upload:
    """Stream a multipart body into ``folder``; on any error the folder is removed and the error raised."""
    # long by design: the streaming loop and every limit it enforces in one place
    ctype, opts = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data" or b"boundary" not in opts:
        raise EpigexError("send the files as multipart/form-data (curl -F name=X3 -F DNase_bigwig=@X3.bw …)")
    budget = len(files_allowed) * max_bytes + len(text_allowed) * MAX_TEXT_FIELD + 2**20
    if content_length is not None and content_length > budget:
        raise TooLargeError(
            f"the request ({content_length:,} bytes) is larger than {len(files_allowed)} files at the per-file limit "
            f"of {max_bytes // 2**20} MB (EPIGEX_MAX_UPLOAD_MB)"
        )
    folder.mkdir(parents=True, exist_ok=False)
    collector = _Collector(folder, max_bytes, files_allowed, text_allowed)
    callbacks = {
        name: getattr(collector, name)
        for name in (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
        )
    }
    parser = MultipartParser(opts[b"boundary"], callbacks)  # type: ignore[arg-type]
    received = 0
    chunks = body.__aiter__()
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(chunks.__anext__(), idle_timeout)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise RequestTimeoutError(
                    f"the upload paused for more than {idle_timeout:g} s (EPIGEX_BODY_TIMEOUT_S); send it again"
                ) from None
            received += len(chunk)
            if received > budget:
                raise TooLargeError(
                    f"the request is larger than {len(files_allowed)} files at the per-file limit of "
                    f"{max_bytes // 2**20} MB (EPIGEX_MAX_UPLOAD_MB)"
                )
            parser.write(chunk)
        parser.finalize()
    except EpigexError:
        collector.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    except Exception:
        collector.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise EpigexError("the multipart body could not be read (malformed or cut off); send it again") from None
    collector.close()
    return collector.upload
