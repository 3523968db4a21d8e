"""The pages people look at, in a real headless Chromium that can reach nothing but the server.

``/docs`` (Swagger UI, served from the package), ``/redoc`` and a model's HTML report: no console errors, every image
decoded, the operations listed. Screenshots go to ``test-artifacts/`` at the repository root. Chromium comes from
Debian's ``chromium`` and ``chromium-driver`` packages (``.ci/run`` installs them where it can); without them the
test is skipped with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.api.conftest import TOKEN
from tests.app.api.serverproc import running_server

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if CHROMIUM is None or DRIVER is None:
        pytest.skip(
            "no Chromium here: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        )
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
        "--window-size=1280,2000",
        # no internet: every host but this machine fails to resolve, so a page that needs a CDN shows errors
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = selenium.Chrome(options=opts, service=Service(DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def severe_console(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def all_images_decoded(driver: Any) -> tuple[int, bool]:
    n = driver.execute_script("return document.images.length")
    ok = driver.execute_script(
        "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0)"
    )
    return int(n), bool(ok)


def test_docs_and_report_render_offline(browser: Any, trained_copy: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(exist_ok=True)
    with running_server(trained_copy, tmp_path / "s.log", env={"EPIGEX_API_TOKEN": TOKEN}) as s:
        browser.get(f"{s.url}/docs")
        WebDriverWait(browser, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 15)
        ops = {
            e.text.split("\n")[0] + " " + e.text.split("\n")[1]
            for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary")
            if "\n" in e.text
        }
        assert any(o.startswith("POST /cell-lines") for o in ops), ops
        assert any(o.startswith("GET /predict/{cell_line}") for o in ops), ops
        assert browser.find_elements(By.CSS_SELECTOR, ".btn.authorize"), "no Authorize button (bearer scheme)"
        browser.save_screenshot(str(ARTIFACTS / "docs.png"))
        assert severe_console(browser) == []
        assert all_images_decoded(browser)[1]

        browser.get(f"{s.url}/redoc")
        WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".api-content h2"))
        WebDriverWait(browser, 30).until(lambda d: all_images_decoded(d)[0] >= 1)
        fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert fetched, "ReDoc fetched nothing (not even the schema)"
        assert all(u.startswith(s.url) for u in fetched), [u for u in fetched if not u.startswith(s.url)]
        assert all_images_decoded(browser)[1], "ReDoc's logo did not decode"
        browser.save_screenshot(str(ARTIFACTS / "redoc.png"))
        assert severe_console(browser) == []

        model = httpx.get(f"{s.url}/models").json()[0]["id"]
        browser.get(f"{s.url}/models/{model}/report")
        WebDriverWait(browser, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
        n, ok = all_images_decoded(browser)
        assert n >= 1
        assert ok, "an image of the report did not decode"
        browser.save_screenshot(str(ARTIFACTS / "report.png"))
        assert severe_console(browser) == []
