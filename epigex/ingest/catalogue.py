"""The feature catalogue, generated from the definitions in code: name, family, assay, window, statistic, formula."""

from __future__ import annotations

from dataclasses import dataclass

from epigex.ingest.derived import DERIVED, GEOMETRY
from epigex.ingest.featureset import FeatureSetDef
from epigex.ingest.neighbourhood import DOMAIN_WINDOW, NEIGHBOUR_ASSAYS, NEIGHBOUR_WINDOW, RINGS
from epigex.ingest.peak_stats import NEAREST_STATS, PEAK_STATS
from epigex.ingest.signal_stats import SIGNAL_STATS
from epigex.ingest.tracks import bed_column, bigwig_column, neighbourhood_columns
from epigex.store.tracksets import track_key

SIGNAL_FORMULAS = {
    "mean": "mean of z over covered bases, z = (log1p(max(v,0)) - μ_track) / σ_track",
    "std": "std of log1p(v) over covered bases / σ_track",
    "min": "min of z over covered bases",
    "max": "max of z over covered bases",
    "cov": "covered bases / window bases",
    "slope": "mean z of the downstream half - mean z of the upstream half (transcription direction)",
    "entropy": "normalised entropy of the log1p signal mass over 10 equal sub-bins",
}
PEAK_FORMULAS = {
    "has_peak": "1 if any peak overlaps the window",
    "n_peaks": "number of peaks overlapping the window",
    "density": "n_peaks per kb of window",
    "cov": "fraction of window bases inside a peak",
    "max_signal": "max signalValue of overlapping peaks",
    "max_q": "max qValue (-log10) of overlapping peaks",
    "nearest_dist": "signed distance from the TSS to the nearest peak (+ downstream, 0 inside)",
    "nearest_width": "width of the nearest (merged) peak region",
}
RING_TEXT = {
    f"r{side}{name}": f"{lo // 1000}–{hi // 1000} kb {word} of the TSS (strand-aware)"
    for side, word in (("up", "upstream"), ("dn", "downstream"))
    for name, lo, hi in RINGS
}
NEIGHBOURHOOD_FORMULAS = {
    ("bigwig", "mean"): "mean z over covered bases",
    ("bigwig", "abc"): "Σ over sub-rings 5–100 kb (both sides) of z summed over covered bases (z·kb) × contact, "
    "contact = 5 kb / the sub-ring's geometric mid-distance",
    ("bigwig", "assigned"): "excess of log1p over the chromosome's mean + 2 sd, in sd·kb, over the gene's own distal "
    "domain (bases 2–100 kb from its TSS and nearer to it than to any other gene's TSS)",
    ("bed", "assigned"): "summed signalValue of the peaks centred in the gene's own distal domain (2–100 kb from its "
    "TSS, nearer to it than to any other gene's TSS)",
    ("bed", "assigned_n"): "number of peaks centred in the gene's own distal domain",
    ("bed", "n_peaks"): "number of peak centres",
    ("bed", "abc"): "Σ over sub-rings 5–100 kb (both sides) of the peaks' summed signalValue × contact "
    "(5 kb / the sub-ring's geometric mid-distance; a peak without signalValue counts 1)",
    ("bed", "top_score"): "max over peaks centred 5–100 kb from the TSS of signalValue × 5 kb / distance (0 if none)",
    ("bed", "top_dist"): "signed distance of that strongest distal peak (+ downstream; NaN if none)",
    ("bed", "cov"): "fraction of bases inside a peak",
}


@dataclass(frozen=True)
class FeatureInfo:
    """One row of the catalogue."""

    name: str
    family: str
    assay: str
    window: str
    stat: str
    formula: str
    requires: tuple[str, ...] = ()  # the tracks (``assay:kind``) the feature is computed from; none for geometry


def catalogue(fs: FeatureSetDef) -> list[FeatureInfo]:
    """Every feature a table of ``fs`` holds, in column order."""
    rows: list[FeatureInfo] = [FeatureInfo(n, "geometry", "", "", n, f) for n, f in GEOMETRY]
    for a in fs.assays:
        if fs.use_bigwig:
            for w in fs.windows:
                for s in SIGNAL_STATS:
                    rows.append(
                        FeatureInfo(
                            bigwig_column(a, w.name, s),
                            "bigwig_window",
                            a,
                            w.name,
                            s,
                            f"{SIGNAL_FORMULAS[s]}; window: {w.describe()}",
                            (track_key(a, "bigwig"),),
                        )
                    )
        if fs.use_bed:
            for w in fs.windows:
                for s in PEAK_STATS:
                    rows.append(
                        FeatureInfo(
                            bed_column(a, w.name, s),
                            "bed_window",
                            a,
                            w.name,
                            s,
                            f"{PEAK_FORMULAS[s]}; window: {w.describe()}",
                            (track_key(a, "bed"),),
                        )
                    )
            for s in NEAREST_STATS:
                rows.append(
                    FeatureInfo(bed_column(a, None, s), "bed_gene", a, "", s, PEAK_FORMULAS[s], (track_key(a, "bed"),))
                )
    if fs.neighbourhood:
        rows += neighbourhood_catalogue(fs)
    primary = {r.name: r.requires for r in rows}
    if fs.derived:
        for d in DERIVED:
            if all(i in primary for i in d.inputs):
                needs = tuple(sorted({t for i in d.inputs for t in primary[i]}))
                rows.append(FeatureInfo(d.name, d.family, "", "", d.name, d.formula, needs))
    return rows


def neighbourhood_catalogue(fs: FeatureSetDef) -> list[FeatureInfo]:
    """The regulatory-neighbourhood family's rows (:mod:`ingest.neighbourhood`)."""
    rows: list[FeatureInfo] = []
    for a in fs.assays:
        for kind in fs.kinds():
            for name, window, stat in neighbourhood_columns(a, kind, fs):
                if window in RING_TEXT:
                    family, where = "distal_rings", RING_TEXT[window]
                elif window == DOMAIN_WINDOW:
                    family, where = "repressive_domain", "TSS ± 50 kb"
                elif stat in ("assigned", "assigned_n"):
                    family, where = "distal_assigned", "the gene's own distal domain"
                else:
                    family, where = "distal_contact", "5–100 kb around the TSS"
                text = f"{NEIGHBOURHOOD_FORMULAS[(kind, stat)]}; window: {where}"
                rows.append(FeatureInfo(name, family, a, window, stat, text, (track_key(a, kind),)))
    rows.append(
        FeatureInfo(
            "nb_tss_density", "neighbour_promoters", "", "", "nb_tss_density", "other genes' TSSs within ± 100 kb"
        )
    )
    if fs.use_bigwig and any(w.name == NEIGHBOUR_WINDOW for w in fs.windows):
        for a in NEIGHBOUR_ASSAYS:
            if a in fs.assays:
                rows.append(
                    FeatureInfo(
                        f"nb_prom_{a}",
                        "neighbour_promoters",
                        a,
                        NEIGHBOUR_WINDOW,
                        "nb_prom",
                        f"mean {bigwig_column(a, NEIGHBOUR_WINDOW, 'mean')} of the 2 nearest other genes on each side "
                        "within 500 kb (same chromosome)",
                        (track_key(a, "bigwig"),),
                    )
                )
    return rows


def markdown(fs: FeatureSetDef) -> str:
    """The catalogue as a Markdown page (``docs/FEATURES.md``)."""
    rows = catalogue(fs)
    lines = [
        "# Feature catalogue",
        "",
        f"Generated by `epigex features --markdown` from the code; feature set `{fs.id}` "
        f"({len(rows)} features). Do not edit by hand.",
        "",
        "Windows:",
        "",
        *[f"- `{w.name}`: {w.describe()}" for w in fs.windows],
        "",
        "| name | family | assay | window | formula |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| `{r.name}` | {r.family} | {r.assay} | {r.window} | {r.formula.replace('|', '/')} |" for r in rows]
    return "\n".join(lines) + "\n"
