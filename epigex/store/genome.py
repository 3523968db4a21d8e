"""Reference genome facts: hg38 chromosome lengths, chromosome name normalisation, build detection.

Chromosome lengths are the UCSC/GRC published assembly sizes (hg38 = GRCh38, hg19 = GRCh37, hg18 = NCBI36,
mm10 = GRCm38, mm9 = NCBIM37).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

HG38_SIZES: dict[str, int] = {
    "chr1": 248_956_422,
    "chr2": 242_193_529,
    "chr3": 198_295_559,
    "chr4": 190_214_555,
    "chr5": 181_538_259,
    "chr6": 170_805_979,
    "chr7": 159_345_973,
    "chr8": 145_138_636,
    "chr9": 138_394_717,
    "chr10": 133_797_422,
    "chr11": 135_086_622,
    "chr12": 133_275_309,
    "chr13": 114_364_328,
    "chr14": 107_043_718,
    "chr15": 101_991_189,
    "chr16": 90_338_345,
    "chr17": 83_257_441,
    "chr18": 80_373_285,
    "chr19": 58_617_616,
    "chr20": 64_444_167,
    "chr21": 46_709_983,
    "chr22": 50_818_468,
    "chrX": 156_040_895,
    "chrY": 57_227_415,
    "chrM": 16_569,
}

# A few chromosome lengths of other assemblies, to name the build of a refused track.
OTHER_BUILDS: dict[str, dict[str, int]] = {
    "hg19": {
        "chr1": 249_250_621,
        "chr2": 243_199_373,
        "chr10": 135_534_747,
        "chr19": 59_128_983,
        "chr21": 48_129_895,
    },
    "hg18": {
        "chr1": 247_249_719,
        "chr2": 242_951_149,
        "chr5": 180_857_866,
        "chr10": 135_374_737,
        "chr19": 63_811_651,
        "chr21": 46_944_323,
    },
    "mm10": {"chr1": 195_471_971, "chr2": 182_113_224, "chr10": 130_694_993, "chr19": 61_431_566},
    "mm9": {"chr1": 197_195_432, "chr2": 181_748_087, "chr10": 129_993_255, "chr19": 61_342_430},
}

_STANDARD = re.compile(r"^(?:chr)?([0-9]{1,2}|X|Y|M|MT)$", re.IGNORECASE)


def normalize_chrom(name: str) -> str:
    """Return the UCSC spelling of a chromosome name (``1`` → ``chr1``, ``MT`` → ``chrM``).

    Names that are not a standard chromosome (contigs such as ``GL000219.1``) are returned unchanged.
    """
    m = _STANDARD.match(name)
    if m is None:
        return name
    core = m.group(1).upper()
    if core in ("M", "MT"):
        return "chrM"
    if core.isdigit():
        core = str(int(core))
    return f"chr{core}"


def is_standard_chrom(name: str) -> bool:
    """Whether ``name`` is an assembled chromosome (1–99, X, Y, M in any spelling), not a contig like chrUn_…."""
    return _STANDARD.match(name) is not None


def naming_style(names: Iterable[str]) -> str:
    """Classify the chromosome naming of a file: ``ucsc`` (chr1), ``ensembl`` (1), ``mixed`` or ``none``."""
    ucsc = ensembl = 0
    for n in names:
        if _STANDARD.match(n) is None:
            continue
        if n.lower().startswith("chr"):
            ucsc += 1
        else:
            ensembl += 1
    if ucsc and ensembl:
        return "mixed"
    if ucsc:
        return "ucsc"
    if ensembl:
        return "ensembl"
    return "none"


def guess_build(sizes: Mapping[str, int]) -> str | None:
    """Name the assembly whose chromosome lengths match ``sizes`` (normalised names), if one is known."""
    if all(HG38_SIZES.get(c) == n for c, n in sizes.items() if c in HG38_SIZES) and any(c in HG38_SIZES for c in sizes):
        return "hg38"
    for build, table in OTHER_BUILDS.items():
        if any(table.get(c) == n for c, n in sizes.items()):
            return build
    return None


def build_mismatches(sizes: Mapping[str, int]) -> list[tuple[str, int, int]]:
    """List ``(chrom, length in file, hg38 length)`` for every standard chromosome whose length differs."""
    return [(c, n, HG38_SIZES[c]) for c, n in sizes.items() if c in HG38_SIZES and HG38_SIZES[c] != n]
