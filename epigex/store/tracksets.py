"""Track sets: which (assay, kind) tracks a cell line has, which a feature needs, which a model was trained on.

A track is a :class:`TrackKey` — an assay and a kind (``bigwig`` or ``bed``) — and this module is the one place
its spellings are printed and parsed: ``DNase:bigwig`` names it in track sets, QC verdicts and the API; the
upload form field is ``DNase_bigwig``; stored input digests (since the first store) call it ``bigwig:DNase`` and
stored QC summaries and lineages ``DNase/bigwig`` — kept as they are, so that existing stores stay valid. A cell
line may bring any subset of the assays, each as a bigWig, a BED file or both; a feature can be computed when every
track it needs is present, and a model trained on a track set predicts any cell that has those tracks.
"""

from __future__ import annotations

from typing import NamedTuple

from epigex.store.catalog import Store
from epigex.store.errors import InputError

KINDS = ("bigwig", "bed")


class TrackKey(NamedTuple):
    """One track of a cell line: an assay and a kind (``bigwig`` or ``bed``)."""

    assay: str
    kind: str

    def __str__(self) -> str:
        return f"{self.assay}:{self.kind}"

    @property
    def field(self) -> str:
        """The upload form field that carries this track's file (``DNase_bigwig``)."""
        return f"{self.assay}_{self.kind}"

    @property
    def role(self) -> str:
        """This track's role in a cell's stored input digest (``bigwig:DNase``)."""
        return f"{self.kind}:{self.assay}"

    @property
    def path(self) -> str:
        """This track's key in stored QC summaries, lineages and kept files (``DNase/bigwig``)."""
        return f"{self.assay}/{self.kind}"

    @classmethod
    def parse(cls, text: str) -> TrackKey:
        """A track from ``assay:kind``; an input error naming the text otherwise."""
        assay, sep, kind = text.rpartition(":")
        if not sep or not assay or kind not in KINDS:
            raise InputError(f"{text!r} is not a track: expected assay:kind, kind one of {', '.join(KINDS)}")
        return cls(assay, kind)

    @classmethod
    def from_field(cls, field: str) -> TrackKey:
        """A track from its upload form field (``DNase_bigwig``)."""
        assay, sep, kind = field.rpartition("_")
        if not sep or not assay or kind not in KINDS:
            raise InputError(f"{field!r} is not a track field: expected {{assay}}_bigwig or {{assay}}_bed")
        return cls(assay, kind)


def track_key(assay: str, kind: str) -> str:
    """The name of one track: ``assay:kind``."""
    return str(TrackKey(assay, kind))


def describe(tracks: list[str] | None, universe: list[str] | None = None) -> str:
    """A short label of a track set: ``all`` when it is the whole universe, else assays with ``(bw)``/``(bed)``
    where only one kind of an assay is in the set."""
    if tracks is None or (universe is not None and set(tracks) >= set(universe)):
        return "all"
    kinds: dict[str, list[str]] = {}
    for t in sorted(tracks):
        key = TrackKey.parse(t)
        kinds.setdefault(key.assay, []).append(key.kind)
    return ", ".join(a if len(k) == 2 else f"{a} ({'bw' if k[0] == 'bigwig' else 'bed'})" for a, k in kinds.items())


def cell_track_keys(store: Store, cell: str) -> list[str]:
    """The tracks a cell line was ingested with, sorted."""
    rows = store.query("SELECT assay, kind FROM tracks WHERE cell_line = ? ORDER BY assay, kind", [cell])
    return [track_key(a, k) for a, k in rows]


def feature_requirements(store: Store, feature_set_id: str) -> dict[str, set[str] | None]:
    """Per feature of a feature set, the tracks it is computed from (None: not recorded, assume every track).

    Stores written before track sets existed did not record it: a window statistic still names its assay and
    kind in its family, so only their derived features come back as None.
    """
    rows = store.query(
        "SELECT name, family, assay, requires FROM features WHERE feature_set = ? ORDER BY position", [feature_set_id]
    )
    out: dict[str, set[str] | None] = {}
    for name, family, assay, requires in rows:
        if requires is not None:
            out[name] = {t for t in requires.split(",") if t}
        elif family == "geometry":
            out[name] = set()
        elif family == "bigwig_window":
            out[name] = {track_key(assay, "bigwig")}
        elif family in ("bed_window", "bed_gene"):
            out[name] = {track_key(assay, "bed")}
        else:
            out[name] = None
    return out


def usable_features(store: Store, feature_set_id: str, tracks: list[str]) -> list[str]:
    """The features of a feature set that a cell with ``tracks`` has, in catalogue order."""
    have = set(tracks)
    return [n for n, req in feature_requirements(store, feature_set_id).items() if req is not None and req <= have]
