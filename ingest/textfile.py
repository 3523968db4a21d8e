"""Load a small text input (a BED file), plain or gzipped, within a byte budget, as decoded lines.

Gzip (including multi-member and BGZF files) is inflated as a stream with an output cap — the smaller of the
memory ceiling's text budget and the compressed size times the inflate-ratio limit — so a zip bomb is refused
after at most that many bytes, never inflated in full. A UTF-8 byte-order mark is dropped; LF, CRLF and CR-only
line endings are all line ends, so line numbers match what an editor shows.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from epigex.ingest.bbi import sniff_kind
from epigex.ingest.limits import MIB, ReadLimits
from epigex.store.errors import FileTypeError, InputError, ResourceLimitError

_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"
# Whatever the ratio, a gzip may inflate to this much (small files compress unusually well).
_MIN_INFLATE_CAP = 16 * MIB


def _inflate(path: Path, size: int, limits: ReadLimits) -> bytes:
    cap = min(limits.max_text_bytes(), max(int(size * limits.max_inflate_ratio), _MIN_INFLATE_CAP))
    out = bytearray()
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    in_member = False
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            data: bytes = chunk
            while data:
                if not in_member and not any(data):
                    data = b""  # zero padding after the last member
                    break
                in_member = True
                try:
                    out += d.decompress(data, cap + 1 - len(out))
                except zlib.error as err:
                    raise InputError(f"{path}: gzip data is truncated or corrupt ({err})") from None
                if len(out) > cap:
                    raise ResourceLimitError(
                        f"{path}: the gzip inflates to more than {cap / MIB:,.0f} MiB ({size / MIB:,.1f} MiB "
                        f"compressed); a peak file is never this large — it is a zip bomb or not a BED file "
                        "(limits: EPIGEX_MAX_TRACK_MEMORY_MB, EPIGEX_MAX_INFLATE_RATIO)"
                    )
                if d.eof:
                    data = d.unused_data
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    in_member = False
                else:
                    data = d.unconsumed_tail
    if in_member:
        raise InputError(f"{path}: gzip data is truncated or corrupt (the stream ends mid-member)")
    return bytes(out)


def read_text_lines(path: Path, limits: ReadLimits, what: str) -> list[str]:
    """The lines of a plain or gzipped UTF-8 text file (no line-end characters), within ``limits``."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
        kind = sniff_kind(head)
        if kind == "empty":
            raise InputError(f"{path}: the file is empty; expected {what}")
        if kind in ("bigwig", "bigbed"):
            raise FileTypeError(f"{path}: this is a binary {kind} file, not a text file of {what}")
        if kind == "gzip":
            raw = _inflate(path, size, limits)
        else:
            if size > limits.max_text_bytes():
                raise ResourceLimitError(
                    f"{path}: {size / MIB:,.0f} MiB of text is more than a read may hold "
                    f"({limits.max_text_bytes() / MIB:,.0f} MiB under EPIGEX_MAX_TRACK_MEMORY_MB); "
                    f"this is not a file of {what}, or split it"
                )
            raw = path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror or err})") from None
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise FileTypeError(f"{path}, line {line}: not UTF-8 text (byte {err.start:,}); expected {what}") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
