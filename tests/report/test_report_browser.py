"""The report opened from disk in headless Chromium: every image loads, every link resolves,
nothing is fetched from the network, and the gallery shows the composite cluster. A full-page
screenshot is saved to test-artifacts/ for a person to look at.

The store is the crawled sample site when the crawler and its site are present, else the
indexed sample photos (the same photos; sightings come from the CSV instead of a crawl).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright import sync_api

from headcheck.report.build import ReportOptions, build_report
from tests.conftest import ROOT
from tests.crawl_helpers import main_job_store
from tests.report.test_report_support import indexed_sample

CHROMIUM = os.environ.get("HEADCHECK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
SAMPLE_SITE = ROOT / "data" / "sample-site" / "index.html"

# `make setup` installs Debian's Chromium; a missing browser is a failure, not a skip.
assert Path(CHROMIUM).is_file(), f"no Chromium at {CHROMIUM} (apt-get install chromium)"


def crawled_sample(dest: Path) -> Path:
    """The sample site crawled into ``dest`` (in a child process: Scrapy's reactor runs once a
    process), or a copy of the store the crawl tests' run of the same command left."""
    if main_job_store(dest) is not None:
        return dest
    r = subprocess.run([sys.executable, "-m", "crawler", "--sample", "--db", str(dest)],
                       cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    return dest


@pytest.fixture(scope="module", params=["indexed", "crawled"])
def report_dir(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp(request.param)
    if request.param == "indexed":
        db = indexed_sample(base / "headcheck.db")
    else:
        db = crawled_sample(base / "headcheck.db")
    out = base / "report"
    build_report(db, out, ReportOptions(progress=False))
    return out, request.param


@pytest.fixture(scope="module")
def chromium():  # noqa: ANN201 - a Playwright Browser
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


# Runs in the page: the state of every image and link once everything has loaded.
_AUDIT = """() => ({
  images: [...document.images].map(i => ({src: i.getAttribute('src'), ok: i.complete &&
           i.naturalWidth > 0, shown: i.getBoundingClientRect().width > 0})),
  links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  gallery: [...document.querySelectorAll('section.cluster')].map(s => ({
      id: s.id, cards: s.querySelectorAll('.card').length,
      imgs: [...s.querySelectorAll('img')].filter(i => i.naturalWidth > 0).length,
      linked: [...s.querySelectorAll('.card')].filter(c => c.querySelector('a[href^="http"]'))
              .length,
      names: [...s.querySelectorAll('.name')].map(n => n.textContent.trim())})),
})"""


def test_report_in_headless_chromium(report_dir: tuple[Path, str], chromium) -> None:  # noqa: ANN001
    out, source = report_dir
    fetched: list[str] = []
    errors: list[str] = []
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))

    def only_local(route) -> None:  # noqa: ANN001 - a Playwright Route
        fetched.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_local)
    page.goto((out / "index.html").as_uri(), wait_until="load")
    state = page.evaluate(_AUDIT)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-{source}.png"), full_page=True)
    page.close()

    assert not errors, errors
    assert all(u.startswith("file://") for u in fetched), "the report reached for the network"
    broken = [i["src"] for i in state["images"] if not i["ok"] or not i["shown"]]
    assert state["images"] and not broken, broken  # the plots at least
    for href in state["links"]:
        if href.startswith("#"):
            assert href[1:] in state["ids"], href
        elif "://" not in href:
            assert (out / href).is_file(), href
        else:
            assert href.split("://")[0] in ("http", "https", "file"), href
    # The composite cluster: photos of one template side by side, each linked to its profile
    # (as thumbnails when the store kept them, else as hashes).
    largest = state["gallery"][0]
    assert largest["cards"] >= 3 and largest["linked"] == largest["cards"], state["gallery"]
    if source == "indexed":
        assert largest["imgs"] == 4
        assert set(largest["names"]) == {"Stock Photo 4452457288", "Dana Whitfield",
                                         "Marc Oyelaran", "Lena Brandt"}
