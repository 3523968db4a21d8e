"""Text inputs as whole-line blocks: split points at known line numbers, line ends, gzip, and every refusal."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from epigex.ingest import textfile
from epigex.ingest.limits import MIB, ReadLimits
from epigex.ingest.textfile import MAX_LINE_BYTES, read_text_lines, text_blocks
from epigex.store.errors import FileTypeError, InputError, ResourceLimitError
from tests.ingest.bbi_build import build_bigwig

LIMITS = ReadLimits()
WHAT = "test lines"


def blocks(path: Path, limits: ReadLimits = LIMITS) -> list[tuple[int, str]]:
    return list(text_blocks(path, limits, WHAT))


def write(tmp_path: Path, data: bytes, name: str = "t.txt") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def numbered(n: int) -> bytes:
    """``n`` lines of exactly 100 bytes, each starting with its 1-based number."""
    return b"".join(f"{i:09d}".encode() + b"x" * 90 + b"\n" for i in range(1, n + 1))


def test_small_file_is_one_block_with_every_line_end_as_lf(tmp_path: Path) -> None:
    p = write(tmp_path, b"\xef\xbb\xbfa\tb\r\nc\rd\n\ne")
    # the last line, without a line end, follows as a block of its own
    assert blocks(p) == [(1, "a\tb\nc\nd\n\n"), (5, "e")]
    assert read_text_lines(p, LIMITS, WHAT) == ["a\tb", "c", "d", "", "e"]


def test_megabyte_blocks_split_at_known_line_numbers(tmp_path: Path) -> None:
    # 1 MiB chunks of 100-byte lines: 10,485 whole lines fit the first (76 bytes carried over), 10,486 the
    # second (52 carried), and the last 4,029 lines make the third block.
    p = write(tmp_path, numbered(25_000))
    got = blocks(p)
    assert [(first, text.count("\n")) for first, text in got] == [(1, 10_485), (10_486, 10_486), (20_972, 4_029)]
    for first, text in got:
        assert text.startswith(f"{first:09d}x")
        assert text.endswith("x\n")


def test_gzip_reads_as_the_same_lines(tmp_path: Path) -> None:
    raw = numbered(25_000)
    plain = blocks(write(tmp_path, raw))
    gz = blocks(write(tmp_path, gzip.compress(raw), "t.txt.gz"))
    assert "".join(t for _, t in gz) == "".join(t for _, t in plain)
    line = 1
    for first, text in gz:
        assert first == line
        line += text.count("\n")


def test_multi_member_gzip_with_zero_padding(tmp_path: Path) -> None:
    data = gzip.compress(b"a\nb\n") + gzip.compress(b"c\r\n") + gzip.compress(b"d") + b"\0" * 512
    p = write(tmp_path, data, "t.gz")
    assert read_text_lines(p, LIMITS, WHAT) == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    "data",
    [
        gzip.compress(b"a\n" * 1000)[:-12],  # cut inside the stream
        gzip.compress(b"a\n" * 1000)[:-4],  # cut inside the trailer
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64,  # not deflate data
    ],
)
def test_truncated_or_corrupt_gzip_is_an_input_error(tmp_path: Path, data: bytes) -> None:
    p = write(tmp_path, data, "t.gz")
    with pytest.raises(InputError, match=r"t\.gz: gzip data is truncated or corrupt"):
        blocks(p)


def test_zip_bomb_is_refused_before_any_block_is_handed_on(tmp_path: Path) -> None:
    data = gzip.compress(b"a" * (17 * MIB), compresslevel=9)
    p = write(tmp_path, data, "bomb.gz")
    it = text_blocks(p, ReadLimits(max_inflate_ratio=1.0), WHAT)
    with pytest.raises(ResourceLimitError, match="inflates to more than 16 MiB"):
        next(it)


def test_inflate_cap_follows_the_ratio_above_the_floor(tmp_path: Path) -> None:
    raw = b"a\n" * (17 * MIB // 2)
    p = write(tmp_path, gzip.compress(raw, compresslevel=9), "ok.gz")
    ratio = len(raw) / p.stat().st_size
    got = blocks(p, ReadLimits(max_inflate_ratio=ratio + 1))
    assert sum(text.count("\n") for _, text in got) == len(raw) // 2
    with pytest.raises(ResourceLimitError, match="inflates to more than"):
        blocks(p, ReadLimits(max_inflate_ratio=ratio - 1))


def test_empty_and_binary_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the file is empty; expected test lines"):
        blocks(write(tmp_path, b""))
    bw = write(tmp_path, build_bigwig([("chr1", 100)], []).data, "x.bw")
    with pytest.raises(FileTypeError, match="binary bigwig file, not a text file of test lines"):
        blocks(bw)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.txt: cannot be read"):
        blocks(tmp_path / "nope.txt")


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"a\nb\nc\xff\n", 3),
        (b"a\r\nb\r\nc\r\n\xc3(\n", 4),
        (b"a\rb\rc\r\n\n\xe9t\xe9\n", 5),  # Latin-1 é after CR, CRLF and LF line ends
    ],
)
def test_non_utf8_names_its_line(tmp_path: Path, data: bytes, line: int) -> None:
    with pytest.raises(FileTypeError, match=f"t.txt, line {line}: not UTF-8 text; expected test lines"):
        blocks(write(tmp_path, data))


def test_non_utf8_line_number_counts_earlier_blocks(tmp_path: Path) -> None:
    p = write(tmp_path, numbered(12_000) + b"\xff\n")
    with pytest.raises(FileTypeError, match="line 12001: not UTF-8"):
        blocks(p)


def test_unterminated_line_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, b"ok\n" + b"x" * (MAX_LINE_BYTES + 1))
    with pytest.raises(InputError, match="line 2: a line longer than 1 MiB"):
        blocks(p)


def test_line_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    p = write(tmp_path, b"x" * MAX_LINE_BYTES)
    assert [(first, len(text)) for first, text in blocks(p)] == [(1, MAX_LINE_BYTES)]


def test_terminated_line_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, b"ok\n" + b"x" * (MAX_LINE_BYTES + 1000) + b"\nend\n")
    with pytest.raises(InputError, match="line 2: a line longer than 1 MiB"):
        blocks(p)


def test_read_text_lines_refuses_more_than_max_bytes(tmp_path: Path) -> None:
    p = write(tmp_path, b"abc\ndef\n")
    assert read_text_lines(p, LIMITS, WHAT, max_bytes=8) == ["abc", "def"]
    with pytest.raises(ResourceLimitError, match="more than 0 MiB of text; this is not test lines"):
        read_text_lines(p, LIMITS, WHAT, max_bytes=7)


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"a\n", ["a"]),
        (b"a\n\n", ["a", ""]),
        (b"\n", [""]),
        (b"a", ["a"]),
        (b"\xef\xbb\xbf", []),
        (b"\xef\xbb\xbf\n", [""]),
    ],
)
def test_read_text_lines_edges(tmp_path: Path, data: bytes, lines: list[str]) -> None:
    assert read_text_lines(write(tmp_path, data), LIMITS, WHAT) == lines


pieces = st.lists(st.sampled_from(["a", "bc", "\u00e9", "\u20ac", "\t", "\n", "\r", "\r\n", "\n\n"]), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=pieces, bom=st.booleans(), chunk=st.integers(1, 9))
def test_blocks_are_the_normalised_text_at_any_chunk_size(
    tmp_path: Path, parts: list[str], bom: bool, chunk: int
) -> None:
    text = "".join(parts)
    if not text and not bom:
        return  # an empty file is refused (tested above)
    p = write(tmp_path, (b"\xef\xbb\xbf" if bom else b"") + text.encode())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(textfile, "_CHUNK", chunk)  # small reads: every split point gets exercised
        got = blocks(p)
    want = text.replace("\r\n", "\n").replace("\r", "\n")
    assert "".join(t for _, t in got) == want
    line = 1
    for i, (first, t) in enumerate(got):
        assert first == line
        assert t
        if i < len(got) - 1:
            assert t.endswith("\n")
        line += t.count("\n")
