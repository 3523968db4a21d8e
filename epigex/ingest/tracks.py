"""Per-track feature extraction: one decode of a bigWig or BED file → every window statistic of every gene."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from epigex.ingest.bed import read_peaks
from epigex.ingest.bigwig import BigWigReader
from epigex.ingest.chrom_signal import ChromResult, SignalQC, chrom_pass
from epigex.ingest.featureset import FeatureSetDef, bed_column, bigwig_column
from epigex.ingest.genes import gene_coords
from epigex.ingest.limits import DEFAULT_LIMITS, ReadLimits
from epigex.ingest.neighbourhood import (
    DISTAL_ASSAYS,
    DOMAIN_ASSAYS,
    DOMAIN_WINDOW,
    RING_WINDOWS,
    domain_mean,
    peak_domain_cov,
    peak_features,
    signal_features,
)
from epigex.ingest.peak_stats import NEAREST_STATS, PEAK_STATS, nearest_peak, window_peak_stats
from epigex.ingest.signal_stats import SIGNAL_STATS
from epigex.ingest.signal_type import classify, shape_summary
from epigex.ingest.windows import window_bounds
from epigex.store.errors import InputError
from epigex.store.genome import (
    HG38_SIZES,
    build_mismatches,
    guess_build,
    is_standard_chrom,
    naming_style,
    normalize_chrom,
)
from epigex.store.types import F64, I64, FractionFn


@dataclass
class TrackResult:
    """Features of one track for one cell's genes, plus what the ingest report says about the track."""

    columns: dict[str, F64]
    qc: dict[str, Any] = field(default_factory=dict)


DISTAL_WINDOW = "distal"
BIGWIG_DISTAL_STATS = ("abc", "assigned")
BED_DISTAL_STATS = ("abc", "top_score", "top_dist", "assigned", "assigned_n")


def neighbourhood_columns(assay: str, kind: str, fs: FeatureSetDef) -> list[tuple[str, str, str]]:
    """``(column, window, statistic)`` of the neighbourhood features a track of ``assay`` and ``kind`` gives."""
    if not fs.neighbourhood:
        return []
    out: list[tuple[str, str, str]] = []
    if assay in DISTAL_ASSAYS:
        if kind == "bigwig":
            out += [(bigwig_column(assay, w, "mean"), w, "mean") for w in RING_WINDOWS]
            out += [(bigwig_column(assay, DISTAL_WINDOW, s), DISTAL_WINDOW, s) for s in BIGWIG_DISTAL_STATS]
        else:
            out += [(bed_column(assay, w, "n_peaks"), w, "n_peaks") for w in RING_WINDOWS]
            out += [(bed_column(assay, DISTAL_WINDOW, s), DISTAL_WINDOW, s) for s in BED_DISTAL_STATS]
    if assay in DOMAIN_ASSAYS:
        if kind == "bigwig":
            out.append((bigwig_column(assay, DOMAIN_WINDOW, "mean"), DOMAIN_WINDOW, "mean"))
        else:
            out.append((bed_column(assay, DOMAIN_WINDOW, "cov"), DOMAIN_WINDOW, "cov"))
    return out


def _chrom_groups(genes: pl.DataFrame) -> dict[str, I64]:
    """Row positions of each chromosome's genes, ordered by TSS (nearby windows make cache-friendly searches)."""
    if genes.height == 0:
        return {}
    chrom = genes["chrom"].cast(pl.Categorical)
    codes = chrom.to_physical().to_numpy()
    order = np.lexsort((genes["tss_start"].to_numpy(), codes)).astype(np.int64)
    firsts = np.flatnonzero(np.diff(codes[order], prepend=-1))
    names = chrom.gather(order[firsts]).cast(pl.String).to_list()
    bounds = [*firsts.tolist(), order.size]
    return {str(c): order[bounds[i] : bounds[i + 1]] for i, c in enumerate(names)}


def normalised_chroms(raw: dict[str, int], path: str) -> dict[str, str]:
    """Map each normalised chromosome name to the file's spelling; refuse two spellings of one chromosome."""
    out: dict[str, str] = {}
    for name in raw:
        norm = normalize_chrom(name)
        if norm in out:
            raise InputError(f"{path}: chromosome {norm} appears twice (as {out[norm]!r} and {name!r})")
        out[norm] = name
    return out


def check_build(sizes: dict[str, int], path: str, force: bool) -> str | None:
    """Refuse a track whose chromosome lengths are not hg38's (unless forced); return the build's name."""
    if not any(c in HG38_SIZES for c in sizes):
        if force:
            return None
        raise InputError(
            f"{path}: none of its chromosomes ({', '.join(sorted(sizes)[:5])}) is an hg38 chromosome; "
            "the genes are hg38 — give an hg38 track"
        )
    bad = build_mismatches(sizes)
    build = guess_build(sizes)
    if bad and not force:
        c, got, want = bad[0]
        named = f" — this looks like {build}" if build and build != "hg38" else ""
        raise InputError(
            f"{path}: {c} is {got:,} bp in the file but {want:,} bp in hg38{named}; the genes are hg38, so lift "
            "the track over to hg38 (or force it if you know better)"
        )
    return build


def bigwig_features(
    path: Path,
    assay: str,
    genes: pl.DataFrame,
    fs: FeatureSetDef,
    *,
    force_build: bool = False,
    progress: FractionFn | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> TrackResult:
    """Every bigWig window statistic of every gene, in log1p → z-score space, from one decode of ``path``.

    Values are clipped at 0 and log1p-transformed; the genome-wide mean and std of log1p over all covered bases
    of the file give the z-score. ``mean, min, max`` are z-scores; ``std, slope`` are in units of the genome-wide
    std; ``cov`` and ``entropy`` are scale-free. A track without data reads as NaN everywhere (its QC says so).
    """
    # long by design: one pass over each chromosome feeds every window family; the steps share a dozen arrays
    n = genes.height
    cols = {bigwig_column(assay, w.name, s): np.full(n, np.nan) for w in fs.windows for s in SIGNAL_STATS}
    nb_cols = neighbourhood_columns(assay, "bigwig", fs)
    cols.update({c: np.full(n, np.nan) for c, _, _ in nb_cols})
    distal = any(w in RING_WINDOWS for _, w, _ in nb_cols)
    domain = any(w == DOMAIN_WINDOW for _, w, _ in nb_cols)
    groups = _chrom_groups(genes)
    all_coords = gene_coords(genes)
    done_idx: list[I64] = []
    done_stats: list[F64] = []  # per chromosome: (statistic, window, gene)
    done_rings: list[F64] = []  # per chromosome: (side, sum, gene, sub-ring)
    done_assigned: list[F64] = []  # per chromosome: (gene,)
    done_domain: list[F64] = []  # per chromosome: (sum, gene)
    with BigWigReader(path, limits) as reader:
        sizes_raw = {name: size for name, (_cid, size) in reader.chroms.items()}
        norm_to_raw = normalised_chroms(sizes_raw, str(path))
        sizes = {norm: sizes_raw[raw] for norm, raw in norm_to_raw.items()}
        build = check_build(sizes, str(path), force_build)
        total = SignalQC()
        # Contigs without genes (chrUn_*, *_random, chrEBV, alts) are read past: never decoded, only counted, so
        # the genome-wide statistics do not depend on which of them a file carries.
        past = [(norm, raw) for norm, raw in norm_to_raw.items() if norm not in groups and not is_standard_chrom(norm)]
        todo = [(norm, raw) for norm, raw in norm_to_raw.items() if norm in groups or is_standard_chrom(norm)]
        read_past = contigs_read_past([(norm, *reader.stored(raw)) for norm, raw in past])

        def collect(i: int, norm: str, job: Future[ChromResult]) -> None:
            nonlocal total
            r = job.result()
            total = total + r.qc
            if r.sums is not None:
                done_idx.append(groups[norm])
                done_stats.append(r.sums.stats)
                if r.sums.rings is not None and r.sums.assigned is not None:
                    done_rings.append(r.sums.rings)
                    done_assigned.append(r.sums.assigned)
                if r.sums.domain is not None:
                    done_domain.append(r.sums.domain)
            reader.clock.check()
            if progress is not None:
                progress((i + 1) / len(todo))

        # One chromosome's arithmetic runs while the next one's blocks inflate: two chromosomes held at most.
        with ThreadPoolExecutor(1) as compute:
            pending: tuple[int, str, Future[ChromResult]] | None = None
            for i, (norm, raw) in enumerate(todo):
                chunks = reader.chunks(raw)
                idx = groups.get(norm)
                coords = all_coords.take(idx) if idx is not None and idx.size else None
                job = compute.submit(chrom_pass, chunks, coords, fs.windows, sizes[norm], distal=distal, domain=domain)
                del chunks
                if pending is not None:
                    collect(*pending)
                pending = (i, norm, job)
            if pending is not None:
                collect(*pending)
    if progress is not None and not todo:
        progress(1.0)  # nothing was read (a file of contigs without genes): done all the same
    if done_idx:
        rows = np.concatenate(done_idx)
        table = np.concatenate(done_stats, axis=2)
        for a, stat in enumerate(SIGNAL_STATS):
            for j, w in enumerate(fs.windows):
                cols[bigwig_column(assay, w.name, stat)][rows] = table[a, j]
    log_sums, lin_sums = total.log_sums, total.lin_sums
    mu, sd = log_sums.mean, log_sums.std
    if not np.isfinite(sd) or sd <= 0:
        sd = 1.0
    for w in fs.windows:
        for s in ("mean", "min", "max"):
            c = cols[bigwig_column(assay, w.name, s)]
            c -= mu
            c /= sd
        for s in ("std", "slope"):
            cols[bigwig_column(assay, w.name, s)] /= sd
    if done_idx and distal:
        ring = signal_features(np.concatenate(done_rings, axis=2), mu, sd)
        for rw in RING_WINDOWS:
            cols[bigwig_column(assay, rw, "mean")][rows] = ring[rw]
        cols[bigwig_column(assay, DISTAL_WINDOW, "abc")][rows] = ring["abc"]
        cols[bigwig_column(assay, DISTAL_WINDOW, "assigned")][rows] = np.concatenate(done_assigned)
    if done_idx and domain:
        cols[bigwig_column(assay, DOMAIN_WINDOW, "mean")][rows] = domain_mean(
            np.concatenate(done_domain, axis=1), mu, sd
        )
    missing_chroms = sorted(set(groups) - set(norm_to_raw))
    genes_on_missing = int(sum(groups[c].size for c in missing_chroms))
    cov_cols = [cols[bigwig_column(assay, w.name, "cov")] for w in fs.windows]
    no_signal = int(np.all(np.stack([np.nan_to_num(c) == 0 for c in cov_cols]), axis=0).sum())
    return TrackResult(
        cols,
        {
            "kind": "bigwig",
            "naming": naming_style(sizes_raw),
            "build": build,
            "chroms": len(sizes_raw),
            "n_items": total.n_intervals,
            "n_bases": log_sums.n_bases,
            "log1p_mean": mu,
            "log1p_std": log_sums.std,
            "linear_mean": lin_sums.mean,
            "linear_std": lin_sums.std,
            "negative_bases_clipped": total.negative_bases,
            "nan_bases_dropped": total.nan_bases,
            "no_signal": log_sums.n_bases == 0,
            "genes_on_missing_chrom": genes_on_missing,
            "missing_chroms": missing_chroms,
            "genes_without_signal": no_signal,
            "contigs_read_past": read_past,
            "signal_type": classify(total.shape),
            "signal_shape": shape_summary(total.shape),
        },
    )


def contigs_read_past(stored: list[tuple[str, int, int]]) -> dict[str, object]:
    """What a bigWig holds on contigs not read: how many contigs with data, their blocks and bytes, a few named."""
    with_data = sorted((x for x in stored if x[1] > 0), key=lambda x: -x[2])
    return {
        "contigs": len(with_data),
        "blocks": sum(b for _, b, _ in with_data),
        "compressed_bytes": sum(n for _, _, n in with_data),
        "named": [c for c, _, _ in with_data[:8]],
    }


def bed_features(
    path: Path,
    assay: str,
    genes: pl.DataFrame,
    fs: FeatureSetDef,
    *,
    force_build: bool = False,
    progress: FractionFn | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> TrackResult:
    """Every peak statistic of every gene from one read of a BED/narrowPeak file."""
    # long by design: one pass per chromosome for every peak family, like bigwig_features
    n = genes.height
    cols = {bed_column(assay, w.name, s): np.full(n, np.nan) for w in fs.windows for s in PEAK_STATS}
    cols.update({bed_column(assay, None, s): np.full(n, np.nan) for s in NEAREST_STATS})
    nb_cols = neighbourhood_columns(assay, "bed", fs)
    cols.update({c: np.full(n, np.nan) for c, _, _ in nb_cols})
    distal = any(w in RING_WINDOWS for _, w, _ in nb_cols)
    domain = any(w == DOMAIN_WINDOW for _, w, _ in nb_cols)
    clock = limits.clock(str(path))
    peaks = read_peaks(path, check_build=not force_build, limits=limits)
    groups = _chrom_groups(genes)
    all_coords = gene_coords(genes)
    by_chrom = peaks.by_chrom()
    empty = np.zeros(0, dtype=np.int64)
    for i, (chrom, idx) in enumerate(sorted(groups.items())):
        sel = by_chrom.get(chrom, empty)
        coords = all_coords.take(idx)
        ps, pe = peaks.start[sel], peaks.end[sel]
        for w in fs.windows:
            ws, we = window_bounds(coords, w, HG38_SIZES.get(chrom))
            stats = window_peak_stats(ps, pe, peaks.signal[sel], peaks.qvalue[sel], ws, we)
            for s in PEAK_STATS:
                cols[bed_column(assay, w.name, s)][idx] = stats[s]
        near = nearest_peak(ps, pe, coords.tss_point, coords.minus)
        for s in NEAREST_STATS:
            cols[bed_column(assay, None, s)][idx] = near[s]
        if distal:
            far = peak_features(ps, pe, peaks.signal[sel], coords.tss_point, coords.minus)
            for rw in RING_WINDOWS:
                cols[bed_column(assay, rw, "n_peaks")][idx] = far[rw]
            for s in BED_DISTAL_STATS:
                cols[bed_column(assay, DISTAL_WINDOW, s)][idx] = far[s]
        if domain:
            cols[bed_column(assay, DOMAIN_WINDOW, "cov")][idx] = peak_domain_cov(
                ps, pe, coords.tss_point, HG38_SIZES.get(chrom)
            )
        clock.check()
        if progress is not None:
            progress((i + 1) / len(groups))
    peak_chroms = set(by_chrom)
    missing = sorted(set(groups) - peak_chroms)
    has_any = np.zeros(n, dtype=bool)
    for w in fs.windows:
        has_any |= np.nan_to_num(cols[bed_column(assay, w.name, "has_peak")]) > 0
    return TrackResult(
        cols,
        {
            "kind": "bed",
            "format": peaks.format,
            "naming": peaks.naming,
            "n_items": len(peaks),
            "n_columns": peaks.n_columns,
            "n_bases": int((peaks.end - peaks.start).sum()),
            "genes_on_chrom_without_peaks": int(sum(groups[c].size for c in missing)),
            "chroms_without_peaks": missing,
            "outside_genome": peaks.outside_genome(),
            "genes_without_signal": int((~has_any).sum()),
        },
    )
