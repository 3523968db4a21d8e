"""A peak file costs what its peaks weigh: not the longest name, not the widest line (reads under an address-space cap).

Each read runs in a subprocess whose address space is capped with ``RLIMIT_AS``, the way a container or a shared
machine caps it: before the streaming reader, a 10 MB narrowPeak with one 20,000-byte chromosome name needed about
12 GB and a wide BED (1,000 columns) about 17 bytes per byte of text, and both died under such a cap.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from epigex.ingest.bed import MAX_CHROM_NAME, read_peaks
from epigex.store.errors import InputError

CAP = 2 * 1024**3  # the reader itself needs about 1 GiB of address space (thread stacks, libraries)

_READ = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
from pathlib import Path
from epigex.ingest.bed import read_peaks
from epigex.store.errors import EpigexError
try:
    p = read_peaks(Path(sys.argv[1]), check_build=False)
except EpigexError as err:
    print(json.dumps({{"error": type(err).__name__, "message": str(err)}}))
else:
    print(json.dumps({{"peaks": len(p), "format": p.format, "first": [p.chrom[0], int(p.start[0]), int(p.end[0]),
                      float(p.signal[0]), float(p.qvalue[0])], "n_columns": p.n_columns}}))
"""


def _read_capped(path: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _READ.format(cap=CAP), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"POLARS_MAX_THREADS": "2", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _narrowpeak_lines(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    chrom = rng.choice([f"chr{i}" for i in range(1, 23)], n)
    start = rng.integers(0, 40_000_000, n)
    width = rng.integers(150, 2000, n)
    return [
        f"{c}\t{s}\t{s + w}\tpeak{i}\t{i % 1000}\t.\t{(i % 97) / 7:.5f}\t{i % 50}.5\t{(i % 31) / 3:.5f}\t{w // 2}"
        for i, (c, s, w) in enumerate(zip(chrom, start, width, strict=True))
    ]


def test_one_long_chromosome_name_is_refused_by_its_line_within_the_cap(tmp_path: Path) -> None:
    lines = _narrowpeak_lines(150_000)
    lines.insert(1000, "chrUn_" + "A" * 20_000 + "\t10\t200\tp\t0\t.\t1\t1\t1\t5")
    path = tmp_path / "long_name.narrowPeak"
    path.write_text("\n".join(lines) + "\n")
    out = _read_capped(path)
    assert out["error"] == "InputError"
    assert "line 1001: a chromosome name of 20,006 bytes (at most 255)" in str(out["message"])


def test_wide_lines_are_read_for_the_columns_the_format_uses_within_the_cap(tmp_path: Path) -> None:
    # 30,000 valid lines of 1,000 columns (61 MB): the reader before this needed 3.6 GB of address space
    extra = "\t" + "\t".join(["0"] * 990)
    lines = _narrowpeak_lines(30_000)
    path = tmp_path / "wide.bed"
    path.write_text("".join(line + extra + "\n" for line in lines))
    out = _read_capped(path)
    assert out["peaks"] == 30_000
    assert out["format"] == "bed1000"  # not a narrowPeak: its columns 7 and 9 are not read as scores
    first = lines[0].split("\t")
    assert out["first"][:3] == [first[0], int(first[1]), int(first[2])]


def test_a_name_at_the_limit_is_a_contig_outside_the_genome_and_reported(tmp_path: Path) -> None:
    name = "chrUn_" + "x" * (MAX_CHROM_NAME - 6)
    path = tmp_path / "p.bed"
    path.write_text(f"chr1\t1\t5\n{name}\t1\t5\n{name}\t9\t12\nchrFoo\t1\t3\n1\t7\t9\n")
    p = read_peaks(path)
    assert len(p) == 5
    assert p.chroms == ("chr1", name, "chrFoo")  # chr1 and 1 share one code
    assert p.chrom_code.tolist() == [0, 1, 1, 2, 0]
    out = p.outside_genome()
    assert (out["peaks"], out["contigs"], out["unknown_peaks"], out["unknown_named"]) == (3, 2, 1, ["chrFoo"])
    assert out["named"][0] == "chrUn_" + "x" * 31 + "…"
    long = tmp_path / "q.bed"
    long.write_text(f"chr1\t1\t5\n{name}y\t1\t5\n")
    with pytest.raises(InputError, match=r"line 2: a chromosome name of 256 bytes"):
        read_peaks(long)


def test_blocks_keep_line_numbers_across_a_large_file(tmp_path: Path) -> None:
    # errors far into a file name the right line, whatever block it falls in (blocks are about 1 MiB)
    lines = ["chr1\t1\t5"] * 300_000
    lines[250_000] = "chr1\t9\t3"
    path = tmp_path / "far.bed"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    with pytest.raises(InputError, match=r"line 250001: start 9 > end 3"):
        read_peaks(path)


def test_a_tab_first_seen_late_reads_the_file_again_on_tabs(tmp_path: Path) -> None:
    lines = ["chr1 1 5"] * 200_000 + ["chr2\t7\t9"]
    path = tmp_path / "mixed.bed"
    path.write_text("\n".join(lines) + "\n")
    # with a tab in the file, it is split on tabs only: the space-separated lines are 1 column
    with pytest.raises(InputError, match=r"line 1: fewer than 3 columns"):
        read_peaks(path)
