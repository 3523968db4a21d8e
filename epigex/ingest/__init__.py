"""Ingest: BED + bigWig tracks and gene tables into per-gene, per-cell-line feature tables."""
