"""The web UI's pages and assets (TestClient; the browser test is tests/app/web/test_ui.py, in the slow suite)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from fastapi.testclient import TestClient

from epigex.app.web.pages import STATIC
from tests.app.api.conftest import make_client


def test_vendored_assets_match_their_recorded_checksums() -> None:
    source = (STATIC / "vendor" / "igv" / "SOURCE.md").read_text()
    rows = re.findall(r"^\| (\S+) \| ([0-9a-f]{64}) \|$", source, re.M)
    assert {name for name, _ in rows} == {"igv.min.js", "LICENSE"}
    for name, digest in rows:
        assert hashlib.sha256((STATIC / "vendor" / "igv" / name).read_bytes()).hexdigest() == digest, name
    assert "igv 3.8.10" in source


def test_every_page_answers_from_the_package(trained_copy: Path) -> None:
    with make_client(trained_copy) as c:
        cells = c.get("/ui")
        assert cells.status_code == 200
        assert cells.text.count('href="/ui/cells/') == 3
        assert 'class="chip' in cells.text
        upload = c.get("/ui/upload").text
        assert upload.count('type="file"') == 16  # 14 tracks, genes, labels
        assert all(f'for="{f}"' in upload for f in ("name", "DNase_bigwig", "H3K9me3_bed", "genes", "labels"))
        gene = c.get("/ui/cells/X3/genes/CAPN9").text
        assert "/ui/static/vendor/igv/igv.min.js" in gene
        assert "/cell-lines/X3/tracks/DNase/bigwig" in gene
        assert "/cell-lines/X1/tracks/DNase/bigwig" in gene  # the training cells' same tracks beside
        windows = c.get("/ui/cells/X3/genes/CAPN9/windows.bed").text.splitlines()
        assert [w.split("\t")[3] for w in windows][:6] == ["tss", "prom1k", "prom5k", "body", "up5k", "down5k"]
        assert len(windows) == 12
        assert c.get("/ui/cells/NOPE").status_code == 404
        assert c.get("/ui/cells/X3/genes/NOT_A_GENE").status_code == 404
        sizes = c.get("/ui/genome/hg38.chrom.sizes").text.splitlines()
        assert sizes[0] == "chr1\t248956422"
        assert c.get("/ui/models").status_code == 200
        assert c.get("/ui/static/vendor/igv/igv.min.js").headers["content-length"] == str(
            (STATIC / "vendor" / "igv" / "igv.min.js").stat().st_size
        )


def test_the_api_schema_does_not_list_the_pages(trained_copy: Path) -> None:
    with make_client(trained_copy) as c:
        paths = TestClient.get(c, "/openapi.json").json()["paths"]
        assert not [p for p in paths if p.startswith("/ui")]
        assert "/cell-lines/{name}/tracks/{assay}/{kind}" in paths


def test_peak_tracks_are_served_region_by_region(trained_copy: Path, demo_dir: Path) -> None:
    whole = (demo_dir / "H3K4me3-bed" / "X3.bed").read_text().splitlines()
    expected = [
        line
        for line in whole
        if (f := line.split("\t"))[0] == "chr2" and int(f[1]) < 2_000_000 and int(f[2]) > 1_000_000
    ]
    assert expected  # the demo's peaks reach this window, so the comparison below means something
    with make_client(trained_copy) as c:
        gene = c.get("/ui/cells/X3/genes/CAPN9").text
        assert "/cell-lines/X3/tracks/H3K4me3/bed?region=$CHR:$START-$END" in gene
        r = c.get("/cell-lines/X3/tracks/H3K4me3/bed", params={"region": "chr2:1000000-2000000"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        assert r.text.splitlines() == expected
        bad = c.get("/cell-lines/X3/tracks/H3K4me3/bed", params={"region": "chr2:10-"})
        assert bad.status_code == 422
        assert "region" in bad.json()["detail"]
        signal = c.get("/cell-lines/X3/tracks/DNase/bigwig", params={"region": "chr2:1-2"})
        assert signal.status_code == 200  # ignored for a bigWig: the file, for HTTP Range
        assert signal.content[:4] == (demo_dir / "DNase-bigwig" / "X3.bw").read_bytes()[:4]
        assert c.get("/cell-lines/NOPE/tracks/H3K4me3/bed", params={"region": "chr2:1-2"}).status_code == 404
