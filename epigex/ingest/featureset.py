"""Feature-set definitions: windows, statistics and derived families, identified by a hash of their definition."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

from epigex.store.errors import InputError

ASSAYS = ("DNase", "H3K27ac", "H3K4me1", "H3K4me3", "H3K27me3", "H3K36me3", "H3K9me3")
WindowKind = Literal["tss_onesided", "tss_symmetric", "body", "upstream", "downstream"]
FEATURE_SET_VERSION = 1


def bigwig_column(assay: str, window: str, stat: str) -> str:
    """Name of a bigWig window statistic column."""
    return f"{assay}_bw_{window}_{stat}"


def bed_column(assay: str, window: str | None, stat: str) -> str:
    """Name of a BED statistic column (``window`` None for gene-level statistics)."""
    return f"{assay}_bed_{stat}" if window is None else f"{assay}_bed_{window}_{stat}"


@dataclass(frozen=True)
class WindowSpec:
    """A named window relative to a gene; ``size`` in bp (unused for ``body``)."""

    name: str
    kind: WindowKind
    size: int = 0

    def describe(self) -> str:
        """Human-readable coordinates of the window."""
        s = self.size
        return {
            "tss_onesided": f"{s} bp upstream of the TSS region through its end (strand-aware)",
            "tss_symmetric": f"TSS region ± {s} bp",
            "body": "gene body [gene_start, gene_end)",
            "upstream": f"{s} bp upstream of the gene (strand-aware)",
            "downstream": f"{s} bp downstream of the gene end (strand-aware)",
        }[self.kind]


DEFAULT_WINDOWS: tuple[WindowSpec, ...] = (
    WindowSpec("tss", "tss_onesided", 100),
    WindowSpec("prom1k", "tss_symmetric", 1000),
    WindowSpec("prom5k", "tss_symmetric", 5000),
    WindowSpec("body", "body"),
    WindowSpec("up5k", "upstream", 5000),
    WindowSpec("down5k", "downstream", 5000),
)


@dataclass(frozen=True)
class FeatureSetDef:
    """What a feature table holds; its ``id`` is a hash of this definition."""

    windows: tuple[WindowSpec, ...] = DEFAULT_WINDOWS
    assays: tuple[str, ...] = ASSAYS
    use_bigwig: bool = True
    use_bed: bool = True
    derived: bool = True
    version: int = FEATURE_SET_VERSION
    extra: dict[str, str] = field(default_factory=dict)
    neighbourhood: bool = True  # the regulatory-neighbourhood family (:mod:`ingest.neighbourhood`)

    def __post_init__(self) -> None:
        names = [w.name for w in self.windows]
        if len(set(names)) != len(names):
            raise InputError(f"window names must be unique, got {names}")
        for w in self.windows:
            if w.kind == "tss_onesided" and not 50 <= w.size <= 5000:
                raise InputError(f"window {w.name}: a one-sided TSS window must be 50-5000 bp, got {w.size}")
            if w.kind != "body" and not 1 <= w.size <= 100_000:
                raise InputError(f"window {w.name}: size must be 1-100000 bp, got {w.size}")
            if "_" in w.name:
                raise InputError(f"window name {w.name!r} must not contain '_'")
        unknown = set(self.assays) - set(ASSAYS)
        if unknown:
            raise InputError(f"unknown assays {sorted(unknown)}; known: {', '.join(ASSAYS)}")
        if not (self.use_bigwig or self.use_bed):
            raise InputError("a feature set needs bigWig features, BED features or both")

    def to_json(self) -> str:
        """Canonical JSON of the definition (sorted keys, no whitespace).

        A definition without the neighbourhood family is written without its key, exactly as definitions were
        written before the family existed, so stores made then keep their feature-set ids.
        """
        raw = asdict(self)
        if not self.neighbourhood:
            del raw["neighbourhood"]
        return json.dumps(raw, sort_keys=True, separators=(",", ":"))

    @property
    def id(self) -> str:
        """A 16-hex-digit hash of the canonical definition."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @classmethod
    def from_json(cls, text: str) -> FeatureSetDef:
        """Read a definition written by :meth:`to_json`."""
        raw = json.loads(text)
        raw["windows"] = tuple(WindowSpec(**w) for w in raw["windows"])
        raw["assays"] = tuple(raw["assays"])
        raw.setdefault("neighbourhood", False)  # written before the family existed
        return cls(**raw)

    def kinds(self) -> tuple[str, ...]:
        """Track kinds the definition reads: ``bigwig`` and/or ``bed``."""
        return tuple(k for k, on in (("bigwig", self.use_bigwig), ("bed", self.use_bed)) if on)


def default_feature_set() -> FeatureSetDef:
    """The default feature set: six windows, both track kinds, every derived family, the neighbourhood."""
    return FeatureSetDef()
