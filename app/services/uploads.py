"""Streaming multipart uploads straight to disk, with a per-file size limit and a sha256 per file.

The request body is parsed chunk by chunk (python-multipart's streaming parser): every file part goes into its
own file under the upload folder as it arrives, hashed on the way, and the upload is refused with 413 the moment
a part passes the limit — a 1 GB bigWig is never held in memory and an oversized one never fills the disk.
Stored file names are chosen by the server (the form field's name), so a client's file name with a path in it
can never escape the upload folder; the client's name is kept only as text.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header

from store.errors import EpigexError, TooLargeError

FIELD_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
MAX_TEXT_FIELD = 64 * 1024


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

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
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

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

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
    content_type: str, content_length: int | None, body: AsyncIterator[bytes], folder: Path, max_bytes: int
) -> Upload:
    """Stream a multipart body into ``folder``; on any error the folder is removed and the error raised."""
    ctype, opts = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data" or b"boundary" not in opts:
        raise EpigexError("send the files as multipart/form-data (curl -F name=X3 -F DNase_bigwig=@X3.bw …)")
    if content_length is not None and content_length > 16 * max_bytes + 2**20:
        raise TooLargeError(
            f"the request ({content_length:,} bytes) is larger than 16 files at the per-file limit of "
            f"{max_bytes // 2**20} MB (EPIGEX_MAX_UPLOAD_MB)"
        )
    folder.mkdir(parents=True, exist_ok=False)
    collector = _Collector(folder, max_bytes)
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
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except EpigexError:
        collector.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    except Exception as err:
        collector.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise EpigexError(f"the multipart body could not be read: {err}") from None
    collector.close()
    return collector.upload
