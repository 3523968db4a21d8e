"""One track, one type: every spelling of a track printed and parsed in one place."""

from __future__ import annotations

import pytest

from epigex.store.errors import InputError
from epigex.store.tracksets import TrackKey, describe, track_key


def test_every_spelling_of_a_track() -> None:
    key = TrackKey("H3K4me3", "bed")
    assert str(key) == "H3K4me3:bed" == track_key("H3K4me3", "bed")
    assert key.field == "H3K4me3_bed"  # the upload form field
    assert key.role == "bed:H3K4me3"  # the stored input digests' role (unchanged since the first store)
    assert key.path == "H3K4me3/bed"  # stored QC summaries, lineages, kept files
    assert TrackKey.parse("H3K4me3:bed") == key
    assert TrackKey.from_field("H3K4me3_bed") == key
    assert TrackKey.parse("weird:name:bigwig") == TrackKey("weird:name", "bigwig")  # the kind is the last part


@pytest.mark.parametrize("text", ["DNase", "DNase:bw", ":bigwig", "DNase:", ""])
def test_a_bad_track_name_is_named(text: str) -> None:
    with pytest.raises(InputError, match="is not a track"):
        TrackKey.parse(text)


def test_a_bad_field_is_named() -> None:
    with pytest.raises(InputError, match="'DNase_bw' is not a track field"):
        TrackKey.from_field("DNase_bw")


def test_describe() -> None:
    assert describe(["DNase:bigwig", "DNase:bed", "H3K4me3:bed"]) == "DNase, H3K4me3 (bed)"
    assert describe(None) == "all"
