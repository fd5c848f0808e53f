"""The main job end to end: crawl the bundled sample site over real HTTP on 127.0.0.1 and check
the store row by row; then crawl it again (nothing downloaded, every sighting seen again), and
once more after an avatar changed at the same URL (a new photo on that profile)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from crawler.site_server import SiteServer
from headcheck.analyze import Analyzer
from headcheck.engine import Headcheck
from tests.crawl_helpers import (
    FAST,
    SAMPLE_HOST,
    SAMPLE_SITE,
    Crawl,
    expected_rows,
    keep_main_job_store,
    photo_count,
    run_crawl,
    sightings,
)

LABELS = ("synthetic", "composited", "reused", "none")
CHANGED = "/img/avatars/maria-santos.jpg"
NEW_PHOTO = SAMPLE_SITE.parent / "faces" / "real" / "images" / "large_2369151434@2x.jpg"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def expected_sightings(site: Path) -> list[tuple[str, str, str, str]]:
    return sorted((SAMPLE_HOST + r["page_path"], SAMPLE_HOST + r["image_path"],
                   r["profile_name"], sha(site / r["image_path"].lstrip("/")))
                  for r in expected_rows() if r["expect"] in LABELS)


def assert_sample_stored(db: Path, analyzer: Analyzer) -> None:
    """The sample site crawled into ``db``: every sighting once, every photo once (17
    sightings: one file is shown on two profiles), every verdict as expected."""
    rows = sightings(db)
    got = sorted((r["page_url"], r["image_url"], r["profile_name"], r["sha256"]) for r in rows)
    assert got == expected_sightings(SAMPLE_SITE)
    assert {(r["source"], r["times_seen"]) for r in rows} == {("crawl", 1)}
    assert photo_count(db) == 16
    hc = Headcheck(db, analyzer=analyzer)
    try:
        for r in expected_rows():
            if r["expect"] in LABELS:
                pid = hc.store.photo_id(sha(SAMPLE_SITE / r["image_path"].lstrip("/")))
                assert pid is not None and hc.stored_verdict(pid).label == r["expect"], r
    finally:
        hc.close()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sample-crawl")


@pytest.fixture(scope="module")
def first(work: Path) -> Crawl:
    """``headcheck crawl --sample``, the README's main job, exactly as a user runs it."""
    crawl = run_crawl(["--sample", "--db", str(work / "store.db")], work / "first.json")
    keep_main_job_store(work / "store.db", work / "main-job.db")  # before any recrawl here
    return crawl


@pytest.fixture(scope="module")
def site(work: Path) -> Path:
    copy = work / "site"
    shutil.copytree(SAMPLE_SITE, copy)  # keeps mtimes: the same Last-Modified as the original
    return copy


def recrawl(work: Path, site: Path, name: str, *extra: str) -> tuple[Crawl, list[str]]:
    with SiteServer(site, host_alias="sample.headcheck.test") as server:
        crawl = run_crawl([f"{SAMPLE_HOST}/", "--db", str(work / "store.db"), *FAST, *extra],
                          work / f"{name}.json", proxy=server.address)
        return crawl, server.paths()


def test_main_job_finds_every_profile_and_verdict(first: Crawl, work: Path,
                                                  analyzer: Analyzer) -> None:
    assert first.returncode == 0, first.stderr
    db = work / "store.db"
    assert_sample_stored(db, analyzer)

    expect = [r["expect"] for r in expected_rows()]
    for how in ("jsonld", "opengraph", "hcard", "activitypub", "img"):
        assert first.count(f"found/{how}") == sum(
            r["how"] == how and r["expect"] != "robots" for r in expected_rows()), how
    assert first.count("errors/image_invalid") == expect.count("error:image_invalid") == 2
    assert first.count("errors/image_download") == expect.count("error:image_download") == 1
    assert first.count("errors/page") == expect.count("error:page") == 1
    assert first.stats["robotstxt/forbidden"] == 1  # the /private/ profile was never fetched
    assert first.stats["finish_reason"] == "finished"
    assert ("16 new photos, 1 known (already stored, or met again in this crawl), 17 new "
            "sightings; errors: 3 images, 1 page; 1 disallowed by robots.txt; flagged among the "
            "16 photos seen: 4 synthetic, 4 composited, 4 reused") in first.stdout
    # Then what it found, as a finding: one entry per cluster, the names first.
    assert "6 findings (12 of 16 photos flagged), strongest first:" in first.stdout
    entries = {line.split(". ", 1)[1].split(" (")[0] + ":" + line.split("): ", 1)[1]
               for line in first.stdout.splitlines() if re.match(r"^\d+\. \w+ \(\d+%\): ", line)}
    names = {e.split(":")[0] + ":" + ", ".join(sorted(e.split(":", 1)[1].split(", ")))
             for e in entries}
    assert "Composited:Dana Whitfield, Ellis Grant, Lena Brandt, Marc Oyelaran" in names
    assert "Reused:Keller Sam, S Keller Consulting, Sam Keller, Samuel K" in names
    assert first.stdout.count("Composited (") == 1  # the cluster once, not once per photo
    # one photo under two names is reuse; Nina Park's own photo on her two pages is not
    assert "Nina Park" not in "".join(entries)
    assert "deliberately broken images" in first.stderr


def test_recrawl_downloads_no_image_and_updates_last_seen(first: Crawl, work: Path,
                                                          site: Path) -> None:
    before = {(r["page_url"], r["image_url"]): r for r in sightings(work / "store.db")}
    time.sleep(1.1)  # last_seen has one-second resolution
    again, paths = recrawl(work, site, "again")
    assert again.returncode == 0, again.stderr
    images = [p for p in paths if p.startswith("/img/avatars/")]
    assert images == ["/img/avatars/lee-vance.jpg"]  # only the one that is missing
    assert again.stats["file_status_count/uptodate"] == 18
    assert "file_status_count/downloaded" not in again.stats
    assert (again.count("photos_new"), again.count("photos_known"),
            again.count("sightings_new")) == (0, 17, 0)
    assert again.count("analyses_skipped") == 17  # stored photos: sighted, not analysed again
    after = sightings(work / "store.db")
    assert len(after) == len(before) == 17
    for r in after:
        old = before[(r["page_url"], r["image_url"])]
        assert r["times_seen"] == 2 and r["first_seen"] == old["first_seen"]
        assert r["last_seen"] > old["last_seen"]


def test_changed_avatar_at_the_same_url_is_a_new_photo(first: Crawl, work: Path,
                                                       site: Path) -> None:
    page = f"{SAMPLE_HOST}/people/maria-santos.html"
    avatar = site / CHANGED.lstrip("/")
    old_sha = sha(avatar)
    seen_before = {r["sha256"]: r["times_seen"] for r in sightings(work / "store.db")
                   if r["page_url"] == page}
    assert list(seen_before) == [old_sha]
    shutil.copyfile(NEW_PHOTO, avatar)
    later = time.time() + 120  # newer than the copy's Last-Modified, whatever the clock says
    os.utime(avatar, (later, later))
    changed, paths = recrawl(work, site, "changed", "--image-max-age", "0")
    assert changed.returncode == 0, changed.stderr
    # Every stored image was revalidated (304, no body) and only the changed one came back.
    assert changed.stats["file_status_count/revalidated"] == 17
    assert changed.stats["file_status_count/downloaded"] == 1
    assert (changed.count("photos_new"), changed.count("sightings_new")) == (1, 1)
    on_page = {r["sha256"]: r["times_seen"] for r in sightings(work / "store.db")
               if r["page_url"] == page}
    # The old photo keeps its history (last seen before the change); the new one is added.
    assert on_page == {old_sha: seen_before[old_sha], sha(avatar): 1}
    assert photo_count(work / "store.db") == 17
