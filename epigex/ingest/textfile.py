"""Text inputs (BED files, gene tables), plain or gzipped, read as a stream of whole-line blocks within a budget.

A file is read in blocks of about a megabyte and handed on as decoded text that always ends at a line end, with
the 1-based number of its first line, so a caller's memory is one block plus what it keeps — never the whole
file. Gzip (including multi-member and BGZF files) is inflated as a stream with an output cap (the compressed size
times the inflate-ratio limit, at least 16 MiB), once without keeping anything before the pass that is read, so
a zip bomb is refused after inflating at most that many bytes and before any of it is parsed. A UTF-8
byte-order mark is dropped; LF, CRLF and CR-only line endings are all line ends (handed on as ``\\n``), so line
numbers match what an editor shows. One line may hold at most :data:`MAX_LINE_BYTES`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from epigex.ingest.bbi import sniff_kind
from epigex.ingest.limits import MIB, ReadLimits
from epigex.store.errors import FileTypeError, InputError, ResourceLimitError

_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"
# Whatever the ratio, a gzip may inflate to this much (small files compress unusually well).
_MIN_INFLATE_CAP = 16 * MIB
# The longest line a text input may have: a peak line is about a hundred bytes, a gene table's far less.
MAX_LINE_BYTES = 1 * MIB


def _plain_chunks(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(_CHUNK):
        yield chunk


def _gzip_chunks(fh: BinaryIO, path: Path, size: int, limits: ReadLimits) -> Iterator[bytes]:
    """Inflated bytes of every gzip member in turn, refused past the inflate cap."""
    cap = max(int(size * limits.max_inflate_ratio), _MIN_INFLATE_CAP)
    total = 0
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    in_member = False
    while chunk := fh.read(_CHUNK):
        data: bytes = chunk
        while data:
            if not in_member and not any(data):
                break  # zero padding after the last member
            in_member = True
            try:
                out = d.decompress(data, _CHUNK)
            except zlib.error as err:
                raise InputError(f"{path}: gzip data is truncated or corrupt ({err})") from None
            total += len(out)
            if total > cap:
                raise ResourceLimitError(
                    f"{path}: the gzip inflates to more than {cap / MIB:,.0f} MiB ({size / MIB:,.1f} MiB "
                    f"compressed); a text input never compresses this well — it is a zip bomb "
                    "(limit: EPIGEX_MAX_INFLATE_RATIO)"
                )
            if out:
                yield out
            if d.eof:
                data = d.unused_data
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                in_member = False
            else:
                data = d.unconsumed_tail
    if in_member:
        raise InputError(f"{path}: gzip data is truncated or corrupt (the stream ends mid-member)")


def _last_line_end(buf: bytearray) -> int:
    """The index just past the last complete line end in ``buf`` (0: none); a CR at the very end waits for LF."""
    lf = buf.rfind(b"\n")
    cr = buf.rfind(b"\r", 0, len(buf) - 1)
    cut = max(lf, cr)
    if cut < 0:
        return 0
    if buf[cut] == 0x0D and buf[cut + 1] == 0x0A:
        cut += 1
    return cut + 1


def _decode(raw: bytes, path: Path, first_line: int, what: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        head = raw[: err.start].replace(b"\r\n", b"\n")
        line = first_line + head.count(b"\n") + head.count(b"\r")
        raise FileTypeError(f"{path}, line {line}: not UTF-8 text; expected {what}") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _check_line_lengths(block: bytes, path: Path, first_line: int, what: str) -> None:
    """Refuse a block holding a line longer than :data:`MAX_LINE_BYTES` (naming it)."""
    arr = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero((arr == 0x0A) | (arr == 0x0D))
    if int(np.diff(np.concatenate([[-1], ends, [arr.size]])).max()) - 1 <= MAX_LINE_BYTES:
        return
    lengths = [len(x) for x in block.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")]
    k = next(i for i, n in enumerate(lengths) if n > MAX_LINE_BYTES)
    raise InputError(f"{path}, line {first_line + k}: a line longer than {MAX_LINE_BYTES // MIB} MiB; expected {what}")


def text_blocks(path: Path, limits: ReadLimits, what: str) -> Iterator[tuple[int, str]]:
    """Blocks of whole lines of a plain or gzipped UTF-8 text file: ``(number of the first line, text)``.

    Every block but possibly the last ends with ``\\n``; the last line need not have a line end. Raises the
    project's errors naming the file (and the line, for text that is not UTF-8 or a line that is too long).
    """
    try:
        size = path.stat().st_size
        fh = open(path, "rb")  # closed in the finally below (the caller may stop early)
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror or err})") from None
    try:
        kind = sniff_kind(fh.read(8))
        fh.seek(0)
        if kind == "empty":
            raise InputError(f"{path}: the file is empty; expected {what}")
        if kind in ("bigwig", "bigbed"):
            raise FileTypeError(f"{path}: this is a binary {kind} file, not a text file of {what}")
        if kind == "gzip":  # a first pass that keeps nothing refuses a bomb before any of it is parsed
            for _ in _gzip_chunks(fh, path, size, limits):
                pass
            fh.seek(0)
        chunks = _gzip_chunks(fh, path, size, limits) if kind == "gzip" else _plain_chunks(fh)
        buf = bytearray()
        line = 1
        first = True
        for chunk in chunks:
            buf += chunk
            if first and len(buf) >= len(_BOM):
                if buf.startswith(_BOM):
                    del buf[: len(_BOM)]
                first = False
            cut = _last_line_end(buf)
            if cut == 0:
                if len(buf) > MAX_LINE_BYTES:
                    raise InputError(
                        f"{path}, line {line}: a line longer than {MAX_LINE_BYTES // MIB} MiB; expected {what}"
                    )
                continue
            block = bytes(buf[:cut])
            if cut > MAX_LINE_BYTES:
                _check_line_lengths(block, path, line, what)
            text = _decode(block, path, line, what)
            del buf[:cut]
            yield line, text
            line += text.count("\n")
        if first and buf.startswith(_BOM):
            del buf[: len(_BOM)]
        if buf:
            if len(buf) > MAX_LINE_BYTES:
                raise InputError(
                    f"{path}, line {line}: a line longer than {MAX_LINE_BYTES // MIB} MiB; expected {what}"
                )
            yield line, _decode(bytes(buf), path, line, what)
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror or err})") from None
    finally:
        fh.close()


def read_text_lines(path: Path, limits: ReadLimits, what: str, max_bytes: int = 256 * MIB) -> list[str]:
    """Every line of a small text file (no line-end characters); a file of more than ``max_bytes`` is refused."""
    lines: list[str] = []
    held = 0
    for _, text in text_blocks(path, limits, what):
        held += len(text)
        if held > max_bytes:
            raise ResourceLimitError(
                f"{path}: more than {max_bytes / MIB:,.0f} MiB of text; this is not {what}, or split it"
            )
        lines.extend(text.split("\n"))
        if lines[-1] == "" and text.endswith("\n"):
            lines.pop()
    return lines
