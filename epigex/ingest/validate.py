"""Fast checks of one input file before any long work: type, structure and genome build.

A bigWig is opened (header, chromosome tree and data index, so a truncated file is caught) and its chromosome
lengths are held against hg38; a BED file is read in full (it is small), so a malformed line is named at once.
"""

from __future__ import annotations

from pathlib import Path

from epigex.ingest.bed import read_peaks
from epigex.ingest.bigwig import BigWigReader
from epigex.ingest.limits import DEFAULT_LIMITS, ReadLimits
from epigex.ingest.tracks import check_build, normalised_chroms


def check_track(
    path: Path, kind: str, *, force_build: bool = False, limits: ReadLimits = DEFAULT_LIMITS
) -> dict[str, object]:
    """Raise a clear :class:`~store.errors.EpigexError` for a bad track; return a few facts about a good one."""
    if kind == "bigwig":
        with BigWigReader(path, limits) as reader:
            raw = {name: size for name, (_, size) in reader.chroms.items()}
            sizes = {norm: raw[name] for norm, name in normalised_chroms(raw, str(path)).items()}  # as ingest reads it
            build = check_build(sizes, str(path), force_build)
        return {"chromosomes": len(raw), "build": build}
    peaks = read_peaks(path, check_build=not force_build, limits=limits)
    return {"peaks": len(peaks)}
