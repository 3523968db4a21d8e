"""Track QC on hand-made feature tables: a clean cell passes, a swap is named, a background-only track fails."""

from __future__ import annotations

import numpy as np
import polars as pl

from epigex.ingest.qc import drift, ks_distance, references, track_verdicts
from epigex.ingest.qc_profile import BW_WINDOWS, FeatureView, agreement_auc, cell_profile

# three made-up assays with distinct profiles over the windows (TSS-centred, body-wide, flank-heavy)
PROFILES = {
    "Atss": [3.0, 2.5, 1.0, 0.2, 0.3, 0.3],
    "Bbody": [0.1, 0.2, 0.3, 2.5, 0.2, 0.4],
    "Cflank": [0.5, 1.2, 1.5, 0.4, 1.3, 1.2],
}
TRACKS = [(a, k) for a in PROFILES for k in ("bigwig", "bed")]


def table(
    rng: np.random.Generator, n: int = 3000, swap: tuple[str, str] | None = None, flat: str | None = None
) -> pl.DataFrame:
    activity = rng.random(n)
    cols: dict[str, np.ndarray] = {"gene_name": np.array([f"g{i}" for i in range(n)])}
    for assay in PROFILES:
        source = assay
        if swap and assay in swap:
            source = swap[1] if assay == swap[0] else swap[0]
        for w, level in zip(BW_WINDOWS, PROFILES[source], strict=True):
            signal = level * activity + rng.normal(0, 0.3, n)
            if flat == assay:
                signal = rng.normal(0, 0.05, n)
            cols[f"{assay}_bw_{w}_mean"] = signal
            cols[f"{assay}_bed_{w}_has_peak"] = (signal > level * 0.5 + 0.5).astype(float)
            cols[f"{assay}_bed_{w}_cov"] = np.clip(signal / 4, 0, 1)
        cols[f"{assay}_bed_nearest_width"] = np.full(n, 300.0 if source == "Atss" else 2000.0)
    return pl.DataFrame(cols)


def verdicts(new: pl.DataFrame, rng: np.random.Generator) -> dict[tuple[str, str], dict]:
    ref = references({"R1": table(rng), "R2": table(rng)}, TRACKS)
    return {(r["assay"], r["kind"]): r for r in track_verdicts(new, TRACKS, ref, {})}


def test_clean_cell_passes(rng: np.random.Generator) -> None:
    v = verdicts(table(rng), rng)
    assert {r["verdict"] for r in v.values()} == {"pass"}
    assert all(r["looks_like"] == a for (a, _), r in v.items())


def test_swapped_bigwigs_fail_and_are_named(rng: np.random.Generator) -> None:
    v = verdicts(table(rng, swap=("Atss", "Bbody")), rng)
    for a, other in (("Atss", "Bbody"), ("Bbody", "Atss")):
        r = v[(a, "bigwig")]
        assert r["verdict"] == "fail"
        assert r["looks_like"] == other
        assert "Atss and Bbody look swapped (bigwig files)" in r["reasons"][0]
    assert v[("Cflank", "bigwig")]["verdict"] == "pass"


def test_background_only_track_fails(rng: np.random.Generator) -> None:
    v = verdicts(table(rng, flat="Cflank"), rng)
    r = v[("Cflank", "bigwig")]
    assert r["verdict"] == "fail"
    assert any("background only" in x for x in r["reasons"])


def test_missing_data_and_unknown_tracks(rng: np.random.Generator) -> None:
    ref = references({"R1": table(rng), "R2": table(rng)}, TRACKS)
    rows = track_verdicts(table(rng), [*TRACKS, ("Dnew", "bigwig")], ref, {("Atss", "bigwig"): 0.6})
    by = {(r["assay"], r["kind"]): r for r in rows}
    assert by[("Atss", "bigwig")]["verdict"] == "fail"
    assert "no data for 60 % of the genes" in by[("Atss", "bigwig")]["reasons"]
    assert by[("Dnew", "bigwig")]["verdict"] == "warn"


def test_ks_distance_and_auc_by_hand() -> None:
    assert ks_distance(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == 0.0
    assert ks_distance(np.array([0.0, 0.0]), np.array([1.0, 1.0])) == 1.0
    t = pl.DataFrame({"A_bw_prom1k_mean": [0.1, 0.2, 0.9, 1.0], "A_bed_prom1k_has_peak": [0.0, 0.0, 1.0, 1.0]})
    assert agreement_auc(FeatureView(t), "A") == 1.0


def test_a_profile_survives_json_and_gives_the_same_verdicts(rng: np.random.Generator) -> None:
    import json

    ref_tables = {"R1": table(rng), "R2": table(rng)}
    kept = {c: json.loads(json.dumps(cell_profile(t, TRACKS))) for c, t in ref_tables.items()}
    new = table(rng, swap=("Atss", "Bbody"))
    from_tables = track_verdicts(new, TRACKS, references(ref_tables, TRACKS), {})
    from_profiles = track_verdicts(
        json.loads(json.dumps(cell_profile(new, TRACKS))), TRACKS, references(kept, TRACKS), {}
    )
    assert from_profiles == from_tables


def test_drift_is_calibrated_on_the_training_cells(rng: np.random.Generator) -> None:
    refs = {"R1": table(rng), "R2": table(rng)}
    feats = ["Atss_bw_tss_mean", "Bbody_bw_body_mean"]
    same = drift(table(rng), refs, feats, [1.0, 1.0])
    assert same["verdict"] == "pass"
    shifted = table(rng).with_columns(pl.col("Atss_bw_tss_mean") + 3, pl.col("Bbody_bw_body_mean") * 4)
    moved = drift(shifted, refs, feats, [1.0, 1.0])
    assert moved["verdict"] == "fail"
    assert moved["top_features"][0]["feature"] in feats
