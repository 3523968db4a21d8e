"""The web UI in a real headless Chromium that can reach nothing but the server: every page, an upload through the
page, the genome view with its tracks, keyboard and labels, and the track bytes served with HTTP Range."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.api.conftest import TOKEN, cell_files
from tests.app.api.serverproc import running_server
from tests.app.api.test_browser import ARTIFACTS, CHROMIUM, DRIVER

pytestmark = pytest.mark.slow
PAGES = ("/ui", "/ui/upload", "/ui/cells/X3", "/ui/cells/X3/genes/CAPN9", "/ui/models")


@pytest.fixture
def chrome(tmp_path: Path) -> Iterator[Any]:
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("no Chromium here: install Debian's chromium and chromium-driver")
    selenium = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = selenium.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,2200",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = selenium.Chrome(options=opts, service=Service(DRIVER))
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def requested_urls(driver: Any) -> list[str]:
    out = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            out.append(msg["params"]["request"]["url"])
    return out


def problems(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def wait_for(driver: Any, script: str, timeout: float = 120) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def test_every_page_the_upload_and_the_genome_view(
    chrome: Any, trained_copy: Path, demo_dir: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    ARTIFACTS.mkdir(exist_ok=True)
    with running_server(trained_copy, tmp_path / "s.log", env={"EPIGEX_API_TOKEN": TOKEN}) as s:
        seen: list[str] = []
        for page in PAGES:
            chrome.get(s.url + page)
            wait_for(chrome, "return document.readyState === 'complete'")
            if page == "/ui/cells/X3":
                wait_for(chrome, "return document.getElementById('predictions').dataset.ready === 'true'")
                assert len(chrome.find_elements(By.CSS_SELECTOR, "#predictions tbody tr")) == 200  # a page of rows
                search = chrome.find_element(By.ID, "search")
                search.send_keys("CAPN9")
                rows = chrome.find_elements(By.CSS_SELECTOR, "#predictions tbody tr")
                assert [r.text.split()[0] for r in rows] == ["CAPN9"]
                search.clear()
                search.send_keys(Keys.BACKSPACE)
                chrome.find_element(By.CSS_SELECTOR, "button[data-col=p_expressed]").click()
                first = chrome.find_elements(By.CSS_SELECTOR, "#predictions tbody tr td")[2].text
                assert float(first) >= 0.0
            if page == "/ui/cells/X3/genes/CAPN9":
                wait_for(chrome, "return document.getElementById('igv').dataset.ready === 'true'")
                n = chrome.execute_script("return window.epigexBrowser.trackViews.length")
                assert n >= 7, n
                assert len(chrome.find_elements(By.CSS_SELECTOR, ".waterfalls svg")) == 2
                names = chrome.execute_script("return window.epigexBrowser.trackViews.map(v => v.track.name)")
                assert "feature windows" in names
                assert any("X1" in str(x) for x in names)  # a training cell's same track beside
                # peak files come region by region, never whole
                seen += requested_urls(chrome)  # reading the log empties it: keep what it held for the end
                beds = [u for u in seen if "/tracks/" in u and "/bed" in u]
                assert beds
                assert all("/bed?region=chr" in u for u in beds), beds
            # forms have labels; nothing interactive is kept from the keyboard
            unlabelled = chrome.execute_script(
                "return [...document.querySelectorAll('input,select,textarea')]"
                ".filter(e => e.type !== 'hidden' && e.labels.length === 0).map(e => e.id || e.name)"
            )
            assert unlabelled == [], (page, unlabelled)
            assert chrome.execute_script(
                "return document.querySelectorAll('[tabindex=\"-1\"]:not(canvas)').length"
            ) in (
                0,
                None,
            ) or page.endswith("CAPN9")
            chrome.save_screenshot(str(ARTIFACTS / f"ui{page.replace('/', '_')}.png"))
            assert problems(chrome) == [], (page, problems(chrome))
        # the keyboard reaches the token form and the navigation
        chrome.get(s.url + "/ui")
        chrome.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        assert chrome.execute_script("return document.activeElement.tagName") in ("A", "INPUT", "BUTTON")

        # an upload through the page: the token typed once, files chosen, progress, then the new cell's page
        chrome.get(s.url + "/ui/upload")
        chrome.find_element(By.ID, "token").send_keys(TOKEN)
        chrome.find_element(By.CSS_SELECTOR, "#token-form button").click()
        chrome.find_element(By.ID, "name").send_keys("U1")
        files = cell_files(demo_dir)
        for field in (
            "DNase_bigwig",
            "DNase_bed",
            "H3K4me3_bigwig",
            "H3K4me3_bed",
            "H3K27ac_bigwig",
            "H3K36me3_bigwig",
        ):
            chrome.find_element(By.ID, field).send_keys(str(files[field]))
        chrome.find_element(By.ID, "genes").send_keys(str(demo_dir / "CAGE-train" / "X3_test_info.tsv"))
        chrome.find_element(By.ID, "send").click()
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(chrome, 600).until(lambda d: d.current_url.endswith("/ui/cells/U1"))
        wait_for(chrome, "return document.readyState === 'complete'")
        assert "U1" in chrome.find_element(By.TAG_NAME, "h1").text
        chrome.save_screenshot(str(ARTIFACTS / "ui_uploaded.png"))
        # an error from the API lands beside the file at fault
        chrome.get(s.url + "/ui/upload")
        chrome.find_element(By.ID, "name").send_keys("U2")
        bad = tmp_path / "not_a_bigwig.bw"
        bad.write_bytes(b"chr1\t1\t2\n" * 10)
        chrome.find_element(By.ID, "DNase_bigwig").send_keys(str(bad))
        chrome.find_element(By.ID, "send").click()
        wait_for(chrome, "return document.getElementById('DNase_bigwig-err').textContent.length > 0", 60)
        assert "not a bigWig" in chrome.find_element(By.ID, "DNase_bigwig-err").text
        assert all("status of 415" in p for p in problems(chrome))  # the refused upload itself, nothing else
        local = (
            "http://127.0.0.1",
            "data:",
            "blob:",
            "chrome://",
            "chrome-untrusted://",
            "chrome-extension://",
            "about:",
        )
        outside = [u for u in seen + requested_urls(chrome) if not u.startswith(local)]
        assert outside == []


def test_track_bytes_with_range(trained_copy: Path, demo_dir: Path, tmp_path: Path) -> None:
    with running_server(trained_copy, tmp_path / "s.log", env={"EPIGEX_API_TOKEN": TOKEN}) as s:
        data = (demo_dir / "DNase-bigwig" / "X3.bw").read_bytes()
        r = httpx.get(f"{s.url}/cell-lines/X3/tracks/DNase/bigwig", headers={"Range": "bytes=100-1123"})
        assert r.status_code == 206
        assert r.headers["content-range"] == f"bytes 100-1123/{len(data)}"
        assert r.content == data[100:1124]
        whole = httpx.get(f"{s.url}/cell-lines/X3/tracks/DNase/bigwig")
        assert whole.status_code == 200
        assert whole.content == data
        assert (
            httpx.get(
                f"{s.url}/cell-lines/X3/tracks/DNase/bigwig", headers={"Range": f"bytes={len(data) + 5}-"}
            ).status_code
            == 416
        )
        assert httpx.get(f"{s.url}/cell-lines/NOPE/tracks/DNase/bigwig").status_code == 404
        assert httpx.get(f"{s.url}/cell-lines/X3/tracks/DNase/bigbed").status_code == 422
        peaks = httpx.get(f"{s.url}/cell-lines/X3/tracks/H3K4me3/bed")
        assert peaks.content == (demo_dir / "H3K4me3-bed" / "X3.bed").read_bytes()


def test_the_ui_shows_each_user_what_it_may_read(chrome: Any, trained_copy: Path, tmp_path: Path) -> None:
    """With users: anonymous pages list no private cell; the token typed into the page (kept as a SameSite=Strict
    cookie for page loads) shows its project's cells, their predictions and genome view."""
    from selenium.webdriver.common.by import By

    from epigex.store.access import Owner, add_user, set_owner
    from epigex.store.catalog import Store

    store = Store(trained_copy)
    set_owner(store, "cell", "X3", Owner("labA", False))
    ana = add_user(store, "ana", "labA", "reader")
    store.close()
    with running_server(trained_copy, tmp_path / "s.log", env={"EPIGEX_API_TOKEN": TOKEN}) as s:
        chrome.get(s.url + "/ui")
        wait_for(chrome, "return document.readyState === 'complete'")
        links = [a.text for a in chrome.find_elements(By.CSS_SELECTOR, "section a[href^='/ui/cells/']")]
        assert links == ["X1", "X2"]
        chrome.get(s.url + "/ui/cells/X3")
        assert "unknown cell line 'X3'" in chrome.find_element(By.TAG_NAME, "body").text
        assert [p for p in problems(chrome) if "status of 404" not in p] == []  # the refused page, nothing else
        chrome.get(s.url + "/ui")
        chrome.find_element(By.ID, "token").send_keys(ana)
        chrome.find_element(By.CSS_SELECTOR, "#token-form button").click()
        wait_for(chrome, "return document.querySelector(\"a[href='/ui/cells/X3']\") !== null", 30)
        cookie = chrome.get_cookie("epigex_token")
        assert cookie["value"] == ana
        assert cookie["sameSite"] == "Strict"
        chrome.get(s.url + "/ui/cells/X3")
        wait_for(chrome, "return document.getElementById('predictions').dataset.ready === 'true'")
        assert len(chrome.find_elements(By.CSS_SELECTOR, "#predictions tbody tr")) == 200
        chrome.get(s.url + "/ui/cells/X3/genes/CAPN9")
        wait_for(chrome, "return document.getElementById('igv').dataset.ready === 'true'")
        assert chrome.execute_script("return window.epigexBrowser.trackViews.length") >= 7
        assert problems(chrome) == [], problems(chrome)
