"""Seeded mutation fuzzing of the track readers: seed files, mutants, and a worker process that reads them.

Gene info tables (``info``) get the same text mutations as BED files. Each mutant is read in a separate worker
process with an address-space limit; the parent gives each read a time limit and restarts the worker if it dies
or hangs. Every outcome falls in one class:

- ``error``: a project error (:class:`store.errors.EpigexError`) — a clean refusal;
- ``identical``: data satisfying the reader's invariants and equal to the unmutated file's;
- ``different``: data satisfying the invariants but not equal (a flipped value byte; bigWig has no checksums);
- ``other:…``: anything else — another exception type, a broken invariant, a hang or a crash. The tests allow none.

``python -m tests.ingest.fuzzing worker [epigex|pybigwig]`` is the worker: one JSON job per stdin line, one
JSON outcome per stdout line.
"""

from __future__ import annotations

import gzip
import json
import os
import select
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENES = [("chr1", 10_500, 14_000, "+"), ("chr1", 30_000, 26_000, "-"), ("chr21", 5_200, 9_000, "+")]
CHROM_SIZES = [("chr1", 248_956_422), ("chr21", 46_709_983)]
FUZZ_MEMORY_MB = 256
ADDRESS_SPACE = 6 << 30
READ_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Job:
    """One file to read: ``kind`` is ``bigwig`` or ``bed``; ``reference`` the unmutated file."""

    kind: str
    path: str
    reference: str
    label: str


# ---------------------------------------------------------------------------------------------- seed files


def seed_files(folder: Path) -> dict[str, tuple[str, Path]]:
    """Small valid tracks of each writer and layout: name -> (kind, path)."""
    import pyBigWig

    from tests.ingest.bbi_build import Section, build_bigwig

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    out: dict[str, tuple[str, Path]] = {}

    def pybw(name: str, zooms: int, add: object) -> None:
        p = folder / name
        bw = pyBigWig.open(str(p), "w")
        bw.addHeader(CHROM_SIZES, maxZooms=zooms)
        add(bw)  # type: ignore[operator]
        bw.close()
        out[name] = ("bigwig", p)

    starts = np.arange(10_000, 40_000, 50, dtype=np.int64)
    vals = rng.gamma(0.7, 2.0, starts.size)

    def bedgraph(bw: object) -> None:
        bw.addEntries(["chr1"] * starts.size, starts.tolist(), ends=(starts + 40).tolist(), values=vals.tolist())  # type: ignore[attr-defined]
        bw.addEntries(
            ["chr21"] * 40,
            list(range(5_000, 9_000, 100)),
            ends=list(range(5_050, 9_050, 100)),
            values=vals[:40].tolist(),
        )  # type: ignore[attr-defined]

    def varstep(bw: object) -> None:
        bw.addEntries("chr1", starts.tolist(), values=vals.tolist(), span=20)  # type: ignore[attr-defined]

    def fixstep(bw: object) -> None:
        bw.addEntries("chr1", 10_000, values=vals.tolist(), span=25, step=25)  # type: ignore[attr-defined]
        bw.addEntries("chr21", 5_000, values=vals[:100].tolist(), span=10, step=10)  # type: ignore[attr-defined]

    pybw("bedgraph_z0.bw", 0, bedgraph)
    pybw("bedgraph_z2.bw", 2, bedgraph)
    pybw("varstep_z1.bw", 1, varstep)
    pybw("fixstep_z0.bw", 0, fixstep)
    secs = [
        Section(0, 1, [(int(s), int(s) + 40, float(v)) for s, v in zip(starts[:200], vals[:200], strict=True)]),
        Section(1, 3, [(float(v),) for v in vals[:50]], start=5_000, step=20, span=20),
    ]
    for name, kw in (("built_big_endian.bw", {"endian": ">"}), ("built_two_level.bw", {"two_level": True})):
        p = folder / name
        p.write_bytes(build_bigwig(CHROM_SIZES, secs, **kw).data)  # type: ignore[arg-type]
        out[name] = ("bigwig", p)
    peaks = "".join(
        f"chr1\t{s}\t{s + 300}\tpk{i}\t0\t.\t{v:.3f}\t{v * 2:.3f}\t{v / 2:.3f}\t150\n"
        for i, (s, v) in enumerate(zip(range(10_000, 40_000, 1_000), vals, strict=False))
    )
    for name, data in (
        ("peaks.narrowPeak", peaks.encode()),
        ("peaks.bed.gz", gzip.compress(peaks.encode(), mtime=0)),
        ("bed3.bed", "".join(f"chr21\t{s}\t{s + 80}\n" for s in range(5_000, 9_000, 200)).encode()),
        (
            "broad.broadPeak",
            "".join(f"chr1\t{s}\t{s + 900}\tb\t0\t.\t2.5\t-1\t1.5\n" for s in range(0, 50_000, 2_000)).encode(),
        ),
    ):
        p = folder / name
        p.write_bytes(data)
        out[name] = ("bed", p)
    from epigex.demo.dataset import course_file

    info = course_file("CAGE-train/X1_val_info.tsv").read_bytes().split(b"\n")
    for name, data in (("genes_info.tsv", b"\n".join(info[:60]) + b"\n"),):
        p = folder / name
        p.write_bytes(data)
        out[name] = ("info", p)
    return out


# ---------------------------------------------------------------------------------------------- mutants

EXTREMES_32 = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]
EXTREMES_64 = [0, 1, 2**31, 2**32 - 1, 2**62, 2**63 - 1, 2**63, 2**64 - 1]


def _regions(data: bytes) -> dict[str, tuple[int, int]]:
    """Byte ranges of a bigWig's parts, from its header (best effort: a region past the end is clipped)."""
    n = len(data)
    if len(data) < 64:
        return {"header": (0, n)}
    e = "<" if struct.unpack("<I", data[:4])[0] == 0x888FFC26 else ">"
    chrom_tree, data_off, index_off = struct.unpack(e + "QQQ", data[8:32])
    clip = lambda a, b: (min(a, n), min(max(b, a), n))  # noqa: E731
    return {
        "header": (0, 64),
        "chrom_tree": clip(chrom_tree, data_off),
        "data": clip(data_off, index_off if index_off else n),
        "index": clip(index_off, min(n, index_off + 48 + 4 + 32 * 64)) if index_off else (n, n),
    }


def bigwig_mutants(data: bytes, rng: np.random.Generator, n: int) -> Iterator[tuple[str, bytes]]:
    """``n`` seeded mutants of a bigWig: truncations, byte flips per region, extreme fields, self-references."""
    regions = _regions(data)
    names = [r for r, (a, b) in regions.items() if b > a]
    e = "<" if struct.unpack("<I", data[:4])[0] == 0x888FFC26 else ">"
    for _ in range(n):
        op = int(rng.integers(0, 5))
        b = bytearray(data)
        region = names[int(rng.integers(0, len(names)))]
        lo, hi = regions[region]
        if op == 0:
            cut = int(rng.integers(0, len(data)))
            yield f"truncate@{cut}", bytes(data[:cut])
            continue
        if op == 1:
            for _k in range(int(rng.integers(1, 4))):
                i = int(rng.integers(lo, hi))
                b[i] ^= 1 << int(rng.integers(0, 8))
            yield f"flip:{region}", bytes(b)
        elif op in (2, 3):
            width = 4 if op == 2 else 8
            i = lo + (int(rng.integers(0, max(1, (hi - lo) // width))) * width)
            vals = EXTREMES_32 if width == 4 else EXTREMES_64
            v = vals[int(rng.integers(0, len(vals)))]
            if rng.random() < 0.3:
                v = min(len(data) + int(rng.integers(-64, 64)), 2 ** (8 * width) - 1) if len(data) > 64 else v
            b[i : i + width] = struct.pack(e + ("I" if width == 4 else "Q"), max(0, v))
            yield f"extreme{width * 8}:{region}@{i}", bytes(b[: len(data)])
        else:
            # a node pointing at itself: every aligned 8-byte slot of the index/chrom tree that holds an offset
            lo2, hi2 = regions["index"] if rng.random() < 0.5 else regions["chrom_tree"]
            if hi2 - lo2 < 16:
                yield "noop", bytes(b)
                continue
            i = int(rng.integers(lo2, hi2 - 8))
            b[i : i + 8] = struct.pack(e + "Q", max(0, i - int(rng.integers(0, 40))))
            yield f"selfref@{i}", bytes(b)


def _many_lines(text: bytes, n: int) -> list[bytes]:
    """The file's non-empty lines repeated to about ``n`` lines."""
    lines = [line for line in text.split(b"\n") if line.strip()] or [b"chr1\t1\t2"]
    return (lines * (n // len(lines) + 1))[:n]


def bed_mutants(data: bytes, rng: np.random.Generator, n: int) -> Iterator[tuple[str, bytes]]:
    """``n`` seeded mutants of a (possibly gzipped) BED file."""
    gz = data[:2] == b"\x1f\x8b"
    text = gzip.decompress(data) if gz else data
    tokens = [
        b"",
        b"-1",
        b"nan",
        b"inf",
        b"-inf",
        b"1e400",
        b"99999999999999999999",
        b"-5",
        b"\xff",
        b"chr1",
        b"\t",
        b"\r",
        b"\xef\xbb\xbf",
        b" ",
        b"0x10",
        b"\x00",
    ]
    for _ in range(n):
        op = int(rng.integers(0, 8))
        t = bytearray(text)
        if op == 0:
            cut = int(rng.integers(0, len(t)))
            out = bytes(t[:cut])
        elif op == 1:
            for _k in range(int(rng.integers(1, 5))):
                t[int(rng.integers(0, len(t)))] = int(rng.integers(0, 256))
            out = bytes(t)
        elif op == 2:  # replace one field with a hostile token
            lines = bytes(t).split(b"\n")
            i = int(rng.integers(0, max(1, len(lines) - 1)))
            fields = lines[i].split(b"\t")
            fields[int(rng.integers(0, len(fields)))] = tokens[int(rng.integers(0, len(tokens)))]
            lines[i] = b"\t".join(fields)
            out = b"\n".join(lines)
        elif op == 3:  # drop or duplicate a column on one line
            lines = bytes(t).split(b"\n")
            i = int(rng.integers(0, max(1, len(lines) - 1)))
            fields = lines[i].split(b"\t")
            j = int(rng.integers(0, len(fields)))
            fields = fields[:j] + fields[j + 1 :] if rng.random() < 0.5 else fields[: j + 1] + fields[j:]
            lines[i] = b"\t".join(fields)
            out = b"\n".join(lines)
        elif op == 4:  # line endings
            out = bytes(t).replace(b"\n", [b"\r\n", b"\r", b"\n\n"][int(rng.integers(0, 3))])
        elif op == 5:
            out = b"\xef\xbb\xbf" + bytes(t)
        elif op == 6:  # memory shape: one huge chromosome name among many lines (fixed-width arrays pay it per line)
            lines = _many_lines(bytes(t), 60_000)
            i = int(rng.integers(0, len(lines)))
            fields = lines[i].split(b"\t")
            fields[0] = b"chrUn_" + b"A" * int(rng.integers(200, 50_000))
            lines[i] = b"\t".join(fields)
            out = b"\n".join(lines) + b"\n"
        else:  # memory shape: wide lines, hundreds of columns the format does not use
            extra = b"\t0" * int(rng.integers(100, 1_000))
            out = b"\n".join(line + extra for line in _many_lines(bytes(t), 3_000)) + b"\n"
        if gz:
            out = gzip.compress(out, mtime=0)
            if rng.random() < 0.3:
                out = out[: int(rng.integers(0, len(out)))]
        yield f"bed-op{op}", out


def bomb_files(folder: Path) -> list[Job]:
    """A zlib bomb inside a bigWig block and a gzip bomb of a BED file."""
    from tests.ingest.bbi_build import Section, build_bigwig

    bomb = zlib.compress(b"\x00" * (64 << 20), 9)
    p = folder / "zlib_bomb.bw"
    p.write_bytes(build_bigwig(CHROM_SIZES, [Section(0, 1, [(1, 2, 1.0)], raw=bomb)], uncompress_buf=1 << 31).data)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    line = b"chr1\t1\t2\n" * 100_000
    q = folder / "gzip_bomb.bed.gz"
    q.write_bytes(b"".join(c.compress(line) for _ in range(120)) + c.flush())
    return [Job("bigwig", str(p), "", "zlib-bomb"), Job("bed", str(q), "", "gzip-bomb")]


def make_jobs(folder: Path, n_per_seed: int, seed: int = 0) -> list[Job]:
    """Seed files, ``n_per_seed`` mutants of each, and the bombs, written under ``folder``."""
    rng = np.random.default_rng(seed)
    jobs: list[Job] = []
    seeds = seed_files(folder / "seeds")
    mut = folder / "mutants"
    mut.mkdir(parents=True, exist_ok=True)
    for name, (kind, path) in seeds.items():
        data = path.read_bytes()
        jobs.append(Job(kind, str(path), str(path), f"{name}:original"))
        gen = bigwig_mutants if kind == "bigwig" else bed_mutants  # BED mutations are text mutations
        for i, (label, blob) in enumerate(gen(data, rng, n_per_seed)):
            p = mut / f"{name}.{i}{path.suffix}"
            p.write_bytes(blob)
            jobs.append(Job(kind, str(p), str(path), f"{name}:{label}"))
    return jobs + bomb_files(folder)


# ---------------------------------------------------------------------------------------------- reading


def _genes() -> object:
    import polars as pl

    rows = [(f"G{i}", c, min(s, e), max(s, e), s, s + 1, st) for i, (c, s, e, st) in enumerate(GENES)]
    return pl.DataFrame(
        rows,
        schema=["gene_name", "chrom", "gene_start", "gene_end", "tss_start", "tss_end", "strand"],
        orient="row",
    )


def _bigwig_epigex(path: str) -> dict[str, list[list[float]]]:
    from epigex.ingest.bigwig import BigWigReader
    from epigex.ingest.featureset import default_feature_set
    from epigex.ingest.limits import ReadLimits
    from epigex.ingest.tracks import bigwig_features

    limits = ReadLimits(max_memory_mb=FUZZ_MEMORY_MB, max_seconds=20)
    out: dict[str, list[list[float]]] = {}
    with BigWigReader(path, limits) as r:
        for chrom, (_cid, size) in r.chroms.items():
            iv = r.intervals(chrom)
            s, t, v = iv.starts, iv.ends, iv.values
            ok = (
                s.dtype == np.int64
                and t.dtype == np.int64
                and len(s) == len(t) == len(v)
                and bool(np.all(s < t))
                and bool(np.all(s >= 0))
                and bool(np.all(t <= size))
                and bool(np.all(s[1:] >= t[:-1]))
                and bool(np.all(np.isfinite(v)))
            )
            if not ok:
                raise AssertionError(f"invariant broken on {chrom}")
            out[chrom] = np.stack([s, t, v]).T.tolist()
    bigwig_features(Path(path), "DNase", _genes(), default_feature_set(), force_build=True, limits=limits)  # type: ignore[arg-type]
    return out


def _bigwig_pybigwig(path: str) -> dict[str, list[list[float]]]:
    import pyBigWig

    bw = pyBigWig.open(path)
    if bw is None:
        raise RuntimeError("pyBigWig.open returned None")
    out = {}
    for chrom in bw.chroms():
        iv = bw.intervals(chrom)
        out[chrom] = [list(x) for x in iv] if iv else []
    bw.close()
    return out


def _bed_epigex(path: str) -> dict[str, list[list[float]]]:
    from epigex.ingest.bed import read_peaks
    from epigex.ingest.featureset import default_feature_set
    from epigex.ingest.limits import ReadLimits
    from epigex.ingest.tracks import bed_features

    limits = ReadLimits(max_memory_mb=FUZZ_MEMORY_MB, max_seconds=20)
    p = read_peaks(Path(path), check_build=False, limits=limits)
    ok = (
        len(p.chrom) == len(p.start) == len(p.end) == len(p.signal) == len(p.qvalue)
        and bool(np.all(p.start >= 0))
        and bool(np.all(p.start <= p.end))
        and not bool(np.isinf(p.signal).any())
        and not bool(np.isinf(p.qvalue).any())
        and all(len(c) > 0 for c in p.chrom.tolist())
    )
    if not ok:
        raise AssertionError("invariant broken")
    bed_features(Path(path), "DNase", _genes(), default_feature_set(), force_build=True, limits=limits)  # type: ignore[arg-type]
    rows = np.stack([p.start, p.end, np.nan_to_num(p.signal, nan=-1), np.nan_to_num(p.qvalue, nan=-1)]).T
    return {"peaks": [[*map(float, r), str(c)] for r, c in zip(rows, p.chrom.tolist(), strict=True)]}  # type: ignore[list-item]


def _info_epigex(path: str) -> dict[str, list[list[object]]]:
    from epigex.ingest.genes import read_info

    df = read_info(Path(path))
    ok = (
        df["gene_name"].null_count() == 0
        and not bool(df["gene_name"].is_duplicated().any())
        and df["chrom"].null_count() == 0
        and bool((df["gene_start"] <= df["gene_end"]).all())
        and bool((df["tss_start"] <= df["tss_end"]).all())
        and bool((df["gene_start"] >= 0).all())
        and bool(df["strand"].is_in(["+", "-"]).all())
    )
    if not ok:
        raise AssertionError("invariant broken")
    return {"rows": [list(r) for r in df.rows()]}


def read_one(job: Job, reader: str, cache: dict[str, object]) -> str:
    """The outcome class of reading ``job`` with ``reader`` (``epigex`` or ``pybigwig``)."""
    from epigex.store.errors import EpigexError

    fn = {
        "bigwig": _bigwig_epigex if reader == "epigex" else _bigwig_pybigwig,
        "bed": _bed_epigex,
        "info": _info_epigex,
    }[job.kind]
    try:
        got = fn(job.path)
    except EpigexError:
        return "error"
    except Exception as err:
        if reader == "pybigwig":
            return "error"  # pyBigWig's own refusals are RuntimeError / None
        return f"other:{type(err).__name__}:{str(err)[:160]}"
    if not job.reference:
        return "different"
    if job.reference not in cache:
        try:
            cache[job.reference] = fn(job.reference)
        except Exception as err:
            return f"other:reference-unreadable:{err}"
    return "identical" if got == cache[job.reference] else "different"


def worker(reader: str) -> None:
    """Read jobs from stdin, write one outcome per line (under an address-space limit)."""
    import resource

    import pyBigWig  # noqa: F401

    import epigex.ingest.tracks  # noqa: F401 - import everything before the limit

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    cache: dict[str, object] = {}
    for line in sys.stdin:
        job = Job(**json.loads(line))
        try:
            outcome = read_one(job, reader, cache)
        except MemoryError:
            outcome = "other:MemoryError"
        sys.stdout.write(json.dumps({"label": job.label, "outcome": outcome}) + "\n")
        sys.stdout.flush()


# ---------------------------------------------------------------------------------------------- driver


def run_jobs(jobs: list[Job], reader: str = "epigex", timeout: float = READ_TIMEOUT_S) -> list[str]:
    """Every job's outcome, each read in a worker process (restarted after a crash or a hang)."""
    outcomes: list[str] = []
    env = dict(os.environ, POLARS_MAX_THREADS="1", OMP_NUM_THREADS="1")
    root = Path(__file__).resolve().parents[2]
    i = 0
    while i < len(jobs):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.ingest.fuzzing", "worker", reader],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=root,
            env=env,
            text=True,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            while i < len(jobs):
                proc.stdin.write(json.dumps(jobs[i].__dict__) + "\n")
                proc.stdin.flush()
                ready, _, _ = select.select([proc.stdout], [], [], timeout + (20 if i == 0 else 0))
                line = proc.stdout.readline() if ready else ""
                if not ready:
                    outcomes.append("other:hang")
                    i += 1
                    break
                if not line:
                    outcomes.append(f"other:crash(rc={proc.wait()})")
                    i += 1
                    break
                outcomes.append(json.loads(line)["outcome"])
                i += 1
        finally:
            proc.kill()
            proc.wait()
            proc.stdin.close()
            proc.stdout.close()
    return outcomes


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker(sys.argv[2] if len(sys.argv) > 2 else "epigex")
