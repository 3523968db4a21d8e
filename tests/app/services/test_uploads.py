"""The streaming multipart reader on hand-made bodies."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from epigex.app.services.uploads import receive_upload, safe_client_name
from epigex.store.errors import EpigexError, TooLargeError

BOUNDARY = "xYzBoundary"


def body(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, data in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


FILES = {"DNase_bigwig", "DNase_bed"}
TEXT = {"name", "replace"}


def receive(data: bytes, folder: Path, max_bytes: int = 1000, length: int | None = -1, **kw: object) -> object:
    return asyncio.run(
        receive_upload(
            f"multipart/form-data; boundary={BOUNDARY}",
            len(data) if length == -1 else length,
            chunks(data),
            folder,
            max_bytes,
            files_allowed=FILES,
            text_allowed=TEXT,
            **kw,  # type: ignore[arg-type]
        )
    )


def test_fields_and_files_land_on_disk_with_their_hash(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 3
    up = receive(body([("name", None, b"X3"), ("DNase_bigwig", "../../etc/passwd", payload)]), tmp_path / "u")
    assert up.fields == {"name": "X3"}  # type: ignore[attr-defined]
    f = up.files["DNase_bigwig"]  # type: ignore[attr-defined]
    assert f.path == tmp_path / "u" / "DNase_bigwig"  # the server names the file: no escape from the folder
    assert f.path.read_bytes() == payload
    assert f.sha256 == hashlib.sha256(payload).hexdigest()
    assert f.filename == "passwd"
    assert sorted(p.name for p in (tmp_path / "u").iterdir()) == ["DNase_bigwig"]


def test_a_file_over_the_limit_is_cut_off_and_nothing_is_left(tmp_path: Path) -> None:
    data = body([("name", None, b"X3"), ("DNase_bigwig", "a.bw", b"\0" * 1001)])
    with pytest.raises(TooLargeError, match="'DNase_bigwig' is larger than the limit"):
        receive(data, tmp_path / "u", max_bytes=1000)
    assert not (tmp_path / "u").exists()


def test_bad_bodies(tmp_path: Path) -> None:
    with pytest.raises(EpigexError, match="multipart/form-data"):
        asyncio.run(
            receive_upload(
                "application/json", 2, chunks(b"{}"), tmp_path / "a", 10, files_allowed=FILES, text_allowed=TEXT
            )
        )
    with pytest.raises(EpigexError, match="given twice"):
        receive(body([("name", None, b"a"), ("name", None, b"b")]), tmp_path / "b")
    with pytest.raises(EpigexError, match="not allowed"):
        receive(body([("../x", "f", b"1")]), tmp_path / "c")
    assert not (tmp_path / "b").exists()
    assert not (tmp_path / "c").exists()


def test_unknown_file_field_is_refused_before_a_byte_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "u"
    data = body([("name", None, b"X3"), ("junk", "x.bin", b"\0" * 500)])
    with pytest.raises(EpigexError, match="unexpected file field 'junk'"):
        receive(data, folder)
    assert not folder.exists()
    with pytest.raises(EpigexError, match="unexpected text field 'note'"):
        receive(body([("note", None, b"hello")]), folder)


def test_a_chunked_body_over_the_request_budget_is_refused(tmp_path: Path) -> None:
    """No Content-Length: the budget (2 files at 1000 bytes + text + 1 MiB) is counted while streaming."""
    parts = [("DNase_bigwig", "a.bw", b"\0" * 900), ("DNase_bed", "a.bed", b"\0" * 900)]
    ok = receive(body(parts), tmp_path / "ok", length=None)
    assert sorted(ok.files) == ["DNase_bed", "DNase_bigwig"]  # type: ignore[attr-defined]
    huge = body([("name", None, b"X3")]) + b"x" * (3 * 2**20)  # an epilogue no per-part limit sees
    with pytest.raises(TooLargeError, match="larger than 2 files"):
        receive(huge, tmp_path / "u", length=None)
    assert not (tmp_path / "u").exists()


def test_a_body_that_stalls_is_cut_off(tmp_path: Path) -> None:
    async def stalling() -> AsyncIterator[bytes]:
        yield body([("name", None, b"X3")])[:20]
        await asyncio.sleep(5)
        yield b""

    with pytest.raises(EpigexError, match=r"paused for more than 0\.2 s"):
        asyncio.run(
            receive_upload(
                f"multipart/form-data; boundary={BOUNDARY}",
                None,
                stalling(),
                tmp_path / "u",
                1000,
                files_allowed=FILES,
                text_allowed=TEXT,
                idle_timeout=0.2,
            )
        )
    assert not (tmp_path / "u").exists()


def test_safe_client_name() -> None:
    assert safe_client_name("C:\\\\Users\\\\me\\\\X3.bw") == "X3.bw"
    assert safe_client_name("a b;rm -rf.bed") == "a_b_rm_-rf.bed"
    assert safe_client_name("") == "upload"
