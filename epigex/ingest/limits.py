"""The resource budget of one input read: memory, time and inflated bytes, checked before they are spent.

A read that would exceed the budget raises :class:`store.errors.ResourceLimitError` naming the file and the
limit, so a hostile or unlucky file costs a clear refusal, never an out-of-memory kill or a hung job. The budget
is a plain frozen dataclass: it travels with a track job to a thread or a Dask worker, and each read starts its
own clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from epigex.store.errors import ResourceLimitError

MIB = 1024 * 1024

# Bytes of one bigWig interval held through decode + window statistics: a chromosome is kept as uint32 starts and
# ends and float64 transformed values (ingest/chrom_signal.py), 16 bytes, and one chromosome's arithmetic runs while
# the next is decoded, so two may be held at once: 32 a record of the largest. Everything else is made a chunk at a
# time.
BYTES_PER_INTERVAL = 32
# The working set of one chunk of a chromosome (ingest/signal_chunks.py: int64 coordinates, four prefix sums,
# searches over 2^20 intervals), and the bytes in flight while decoding its blocks, rounded up.
CHUNK_WORKING_BYTES = 192 * 1024 * 1024
# Peak bytes per peak held through a BED read and its feature extraction (codes, coordinates and scores kept per
# block, their concatenation, the per-chromosome order), rounded up; a block of text in flight adds a few MiB.
BYTES_PER_PEAK = 160


@dataclass(frozen=True)
class ReadLimits:
    """What one read of one input file may cost.

    Parameters
    ----------
    max_memory_mb
        Ceiling on the memory a track's decode may need (default 2 GiB); a bigWig chromosome or a BED file that
        would need more is refused.
    max_seconds
        Wall-clock ceiling of one track's read and feature extraction (default 15 minutes).
    max_inflate_ratio
        Ceiling on the inflated-to-compressed size of a gzipped text file (a zip bomb guard; default 200, real BED
        files compress 4–10×).
    """

    max_memory_mb: int = 2048
    max_seconds: float = 900.0
    max_inflate_ratio: float = 200.0

    @property
    def max_memory_bytes(self) -> int:
        """The memory ceiling in bytes."""
        return int(self.max_memory_mb) * MIB

    def max_intervals(self) -> int:
        """The most bigWig intervals one chromosome may hold within the memory ceiling."""
        return max(self.max_memory_bytes - CHUNK_WORKING_BYTES, 0) // BYTES_PER_INTERVAL

    def max_peaks(self) -> int:
        """The most peaks a BED read may hold within the memory ceiling."""
        return self.max_memory_bytes // BYTES_PER_PEAK

    def clock(self, path: str) -> Clock:
        """A clock for one read of ``path``, started now."""
        return Clock(path, self.max_seconds)


DEFAULT_LIMITS = ReadLimits()


@dataclass
class Clock:
    """The time budget of one read: :meth:`check` raises once ``seconds`` have passed since it was made."""

    path: str
    seconds: float
    started: float = field(default_factory=time.monotonic)

    def check(self) -> None:
        """Raise :class:`ResourceLimitError` if the read has run out of time."""
        if time.monotonic() - self.started > self.seconds:
            raise ResourceLimitError(
                f"{self.path}: reading the track took longer than its time budget of {self.seconds:g} s "
                "(EPIGEX_MAX_TRACK_SECONDS); the file is unusually large or malformed"
            )


def too_big(path: str, what: str, need_bytes: int, limits: ReadLimits) -> ResourceLimitError:
    """The error for a read that would need ``need_bytes`` of memory, above the ceiling."""
    return ResourceLimitError(
        f"{path}: {what} would need about {need_bytes / MIB:,.0f} MiB of memory, above the ceiling of "
        f"{limits.max_memory_mb:,} MiB (EPIGEX_MAX_TRACK_MEMORY_MB); split the file or raise the ceiling"
    )
