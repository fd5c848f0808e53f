"""The crawler's Scrapy components on a real crawler object (``get_crawler``), real files, a real
store and real worker processes: no network, no reactor."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse, Response
from scrapy.pipelines.media import MediaPipeline
from scrapy.utils.test import get_crawler
from twisted.internet.defer import Deferred

from crawler import settings as crawler_settings
from crawler.files import HeadshotFilesPipeline
from crawler.items import Headshot, PageError
from crawler.journal import DONE, STORING, CrawlJournal, Journal, JournalMiddleware
from crawler.robots import RobotsTxtMiddleware
from crawler.spider import HeadshotSpider
from crawler.store_pipeline import StorePipeline
from tests.crawl_helpers import SAMPLE_SITE

SITE = "https://people.example"
AVATARS = SAMPLE_SITE / "img" / "avatars"


def make_crawler(tmp: Path, **settings: Any) -> Crawler:
    base = {k: v for k, v in vars(crawler_settings).items() if k.isupper()}
    base.update(HEADCHECK_DB=str(tmp / "store.db"), HEADCHECK_JOURNAL=str(tmp / "journal.sqlite"),
                FILES_STORE=str(tmp / "files"), HEADCHECK_ANALYSIS_WORKERS=1)
    base.update(settings)
    crawler = get_crawler(HeadshotSpider, base)
    crawler.spider = HeadshotSpider.from_crawler(crawler, seeds=[f"{SITE}/team"])
    return crawler


def fired(d: Deferred) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "the deferred should have fired synchronously (local files)"
    return out[0]


# -- FilesPipeline with revalidation ---------------------------------------------------------
def files_pipeline(tmp: Path, expires: int) -> tuple[HeadshotFilesPipeline, Any]:
    crawler = make_crawler(tmp, FILES_EXPIRES=expires)
    pipe = HeadshotFilesPipeline.from_crawler(crawler)
    return pipe, MediaPipeline.SpiderInfo(crawler.spider)


def test_expired_images_are_revalidated_and_changes_replace_the_copy(tmp_path: Path) -> None:
    url = f"{SITE}/img/avatar.jpg"
    old = (AVATARS / "maria-santos.jpg").read_bytes()
    new = (AVATARS / "tom-becker.jpg").read_bytes()
    pipe, info = files_pipeline(tmp_path, expires=0)
    first = Request(url)
    assert fired(pipe.media_to_download(first, info)) is None  # nothing stored: download
    assert b"If-None-Match" not in first.headers
    validators = {"ETag": '"v1"', "Last-Modified": "Tue, 01 Oct 2024 10:00:00 GMT"}
    got = asyncio.run(pipe.media_downloaded(
        Response(url, status=200, body=old, headers=validators), first, info))
    stored = tmp_path / "files" / got["path"]
    assert got["status"] == "downloaded" and stored.read_bytes() == old

    again = Request(url)  # a later crawl, the copy expired: ask whether it changed
    assert fired(pipe.media_to_download(again, info)) is None
    assert again.headers["If-None-Match"] == b'"v1"'
    assert again.headers["If-Modified-Since"] == b"Tue, 01 Oct 2024 10:00:00 GMT"
    os.utime(stored, (time.time() - 3600, time.time() - 3600))
    got = asyncio.run(pipe.media_downloaded(Response(url, status=304), again, info))
    assert got == {"url": url, "path": got["path"], "checksum": None, "status": "revalidated"}
    assert stored.read_bytes() == old and time.time() - stored.stat().st_mtime < 60
    assert pipe.crawler.stats.get_value("file_status_count/revalidated") == 1

    changed = Request(url)  # the site put a new avatar at the same URL
    fired(pipe.media_to_download(changed, info))
    got = asyncio.run(pipe.media_downloaded(
        Response(url, status=200, body=new, headers={"ETag": '"v2"'}), changed, info))
    assert got["status"] == "downloaded" and stored.read_bytes() == new

    fresh_pipe, info = files_pipeline(tmp_path, expires=7)  # within FILES_EXPIRES: no request
    third = Request(url)
    assert fired(fresh_pipe.media_to_download(third, info))["status"] == "uptodate"


def test_images_may_come_from_another_site(tmp_path: Path) -> None:
    pipe, info = files_pipeline(tmp_path, expires=7)
    item = Headshot(f"{SITE}/p/a", "https://cdn.example/a.jpg", "jsonld")
    (request,) = pipe.get_media_requests(item, info)
    assert request.meta["allow_offsite"] and request.url == "https://cdn.example/a.jpg"


def test_files_store_must_be_local(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path, FILES_STORE="ftp://files.example:21/headshots")
    with pytest.raises(ValueError, match="local folder"):
        HeadshotFilesPipeline.from_crawler(crawler)


# -- the store pipeline ------------------------------------------------------------------------
def stored_item(tmp: Path, name: str, page: str, data: bytes | None = None) -> Headshot:
    """An item as FilesPipeline passes it on: the image saved under FILES_STORE."""
    rel = f"full/{name}.jpg"
    (tmp / "files" / "full").mkdir(parents=True, exist_ok=True)
    (tmp / "files" / rel).write_bytes(data if data is not None else (AVATARS / name).read_bytes())
    item = Headshot(f"{SITE}/{page}", f"{SITE}/img/{name}", "jsonld", page.title())
    item.files = [{"url": item.image_url, "path": rel, "checksum": None, "status": "downloaded"}]
    return item


def test_store_pipeline_analyses_off_the_loop_and_stores(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path)
    journal = crawler.get_extension(CrawlJournal).journal
    pipe = StorePipeline.from_crawler(crawler)
    maria = stored_item(tmp_path, "maria-santos.jpg", "maria")
    copy = stored_item(tmp_path, "maria-santos.jpg", "lena-vogt")  # the photo, another name
    jordan = stored_item(tmp_path, "jordan-hale.jpg", "jordan")
    junk = stored_item(tmp_path, "junk", "junk", b"<html>not an image</html>")
    lost = Headshot(f"{SITE}/lost", f"{SITE}/img/lost.jpg", "img")  # download failed: no files
    for item in (maria, copy, jordan, junk, lost):
        journal.add_item(item, source="a page key")

    async def run() -> list[Any]:
        await pipe.open_spider()
        try:
            out = list(await asyncio.gather(
                *(pipe.process_item(i) for i in (maria, copy, jordan, junk, lost)),
                return_exceptions=True))
            out.append(await pipe.process_item(PageError(f"{SITE}/gone", "HTTP 404")))
            # Resuming after a kill between the store's commit and the journal's: no re-add.
            journal.set_item_state(jordan.key, STORING)
            out.append(await pipe.process_item(jordan))
            return out
        finally:
            await pipe.close_spider()

    results = asyncio.run(run())
    assert results[:3] == [maria, copy, jordan]
    assert isinstance(results[3], DropItem) and "not an image" in str(results[3])
    assert isinstance(results[4], DropItem) and "could not be downloaded" in str(results[4])
    assert maria.sha256 == copy.sha256 and maria.sha256 != jordan.sha256
    assert len(pipe.analyses) == 3  # the copy reused maria's analysis (by sha256)
    # The verdict when each was stored: whichever came second was seen on two pages.
    assert jordan.label == "synthetic" and sorted([maria.label, copy.label]) == ["none", "reused"]
    stats = crawler.stats.get_stats()
    assert {k: v for k, v in stats.items() if k.startswith("headcheck/")} == {
        "headcheck/photos_new": 2, "headcheck/photos_known": 1, "headcheck/sightings_new": 3,
        "headcheck/errors/image_invalid": 1, "headcheck/errors/image_download": 1,
        "headcheck/errors/page": 1, "headcheck/flagged/reused": 1,
        "headcheck/flagged/synthetic": 1, "headcheck/photos_seen": 2,
        "headcheck/analyses_skipped": 1}  # jordan again: stored, so not analysed again
    con = sqlite3.connect(tmp_path / "store.db")
    rows = con.execute("SELECT page_url, profile_name, source, times_seen FROM sightings "
                       "ORDER BY page_url").fetchall()
    assert rows == [(f"{SITE}/jordan", "Jordan", "crawl", 1),
                    (f"{SITE}/lena-vogt", "Lena-Vogt", "crawl", 1),
                    (f"{SITE}/maria", "Maria", "crawl", 1)]
    assert all(journal.item_state(i.key) == DONE for i in (maria, copy, jordan, junk, lost))


# -- robots.txt --------------------------------------------------------------------------------
def test_robots_txt_applies_to_every_request_that_waited_for_it(tmp_path: Path) -> None:
    mw = RobotsTxtMiddleware.from_crawler(make_crawler(tmp_path))

    async def run() -> list[Any]:
        # robots.txt is being downloaded (the first request to the site started it) while
        # more requests arrive, as when a resumed job replays its pending pages at once.
        mw._parsers["people.example"] = Deferred()
        waiting = [asyncio.ensure_future(mw.process_request(Request(url))) for url in (
            f"{SITE}/private/a", f"{SITE}/private/b", f"{SITE}/team", f"{SITE}/private/c")]
        await asyncio.sleep(0)
        robots = Response(f"{SITE}/robots.txt", body=b"User-agent: *\nDisallow: /private/\n")
        await mw._parse_robots(robots, "people.example", Request(f"{SITE}/private/a"))
        return await asyncio.gather(*waiting, return_exceptions=True)

    results = asyncio.run(run())
    assert [type(r).__name__ for r in results] == [
        "IgnoreRequest", "IgnoreRequest", "NoneType", "IgnoreRequest"]


# -- the journal ---------------------------------------------------------------------------------
async def collect(agen: AsyncIterator[Any]) -> list[Any]:
    return [x async for x in agen]


async def aiter_of(*items: Any) -> AsyncIterator[Any]:
    for x in items:
        yield x


def test_journal_records_drops_known_and_replays(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path, HEADCHECK_MAX_PAGES=4)
    mw = JournalMiddleware.from_crawler(crawler)
    seeds = asyncio.run(collect(mw.process_start(crawler.spider.start())))
    assert [r.url for r in seeds] == [f"{SITE}/team", f"{SITE}/robots.txt"]
    team = seeds[0]
    page = HtmlResponse(team.url, body=b"<html></html>", request=team)
    a = Headshot(f"{SITE}/team", f"{SITE}/img/a.jpg", "hcard")
    link = Request(f"{SITE}/p/a", callback=crawler.spider.parse)
    actor = Request(f"{SITE}/p/a", headers={"Accept": "application/activity+json"},
                    callback=crawler.spider.parse_actor, cb_kwargs={"page_url": f"{SITE}/p/a"})
    over = Request(f"{SITE}/p/b")
    out = asyncio.run(collect(mw.process_spider_output(
        page, aiter_of(a, link, actor, Request(f"{SITE}/p/a"), a, over))))
    # The actor is the same URL as the page but another document (Accept); the duplicate link,
    # the duplicate headshot and the fifth page (over --max-pages 4) are dropped.
    assert out == [a, link, actor]
    assert crawler.stats.get_value("headcheck/pages_over_limit") == 1
    assert crawler.stats.get_value("headcheck/pages") == 1
    journal = crawler.get_extension(CrawlJournal).journal
    assert journal.counts() == {"pages": 4, "pending_pages": 3, "items": 1, "pending_items": 1}

    # A new process on the same journal (the crawl was killed before the headshot was stored):
    # the unfinished pages come first, with the page of the unfinished headshot, then the
    # spider's own start, whose seeds the job already has.
    journal.close()
    resumed = make_crawler(tmp_path, HEADCHECK_MAX_PAGES=4)
    mw2 = JournalMiddleware.from_crawler(resumed)
    replay = asyncio.run(collect(mw2.process_start(resumed.spider.start())))
    assert [(r.url, r.callback.__name__, r.headers.get("Accept")) for r in replay] == [
        (f"{SITE}/team", "parse", None),
        (f"{SITE}/robots.txt", "parse_robots", None),
        (f"{SITE}/p/a", "parse", None),
        (f"{SITE}/p/a", "parse_actor", b"application/activity+json")]
    again = HtmlResponse(team.url, body=b"<html></html>", request=replay[0])
    out = asyncio.run(collect(mw2.process_spider_output(again, aiter_of(a, link, a))))
    assert out == [a]  # the unfinished headshot once more; the known link is not
    assert resumed.stats.get_value("headcheck/resumed/items") == 1
    assert resumed.stats.get_value("headcheck/resumed/pages") == 4
    journal = resumed.get_extension(CrawlJournal).journal
    journal.set_item_state(a.key, DONE)
    assert journal.counts()["pending_pages"] == 3  # the team page is done again


def test_a_finished_job_starts_over(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.begin()
    journal.add_item(Headshot(f"{SITE}/p", f"{SITE}/i.jpg", "img"), source="page")
    assert journal.begin()["pending_items"] == 1  # resuming keeps the work
    journal.finish()
    assert journal.begin() == {"pages": 0, "pending_pages": 0, "items": 0, "pending_items": 0}


def test_known_bytes_stored_by_another_detector_version_are_analysed_again(
        tmp_path: Path) -> None:
    """The known-sha256 shortcut records a sighting only where the stored signals are the
    installed detectors' own; a photo a changed detector analysed is analysed again, once."""
    from headcheck.analyze import Analyzer
    from headcheck.detectors.registry import versions
    from headcheck.detectors.stylegan import StyleGanGeometry
    from headcheck.engine import Headcheck
    from headcheck.store import Sighting

    old = StyleGanGeometry()
    old.version = "0"  # the store was filled by an older version of this detector
    hc = Headcheck(tmp_path / "store.db", analyzer=Analyzer(detectors=[old]), index_file=None)
    hc.add((AVATARS / "jordan-hale.jpg").read_bytes(), Sighting(f"{SITE}/before"))
    hc.close()

    crawler = make_crawler(tmp_path)
    journal = crawler.get_extension(CrawlJournal).journal
    pipe = StorePipeline.from_crawler(crawler)
    first = stored_item(tmp_path, "jordan-hale.jpg", "jordan")
    second = Headshot(f"{SITE}/jordan-2", first.image_url, "jsonld", "Jordan")
    second.files = first.files
    for item in (first, second):
        journal.add_item(item, source="a page key")

    async def run() -> None:
        await pipe.open_spider()
        try:
            for item in (first, second):  # in turn: the second finds the first's analysis
                await pipe.process_item(item)
        finally:
            await pipe.close_spider()

    asyncio.run(run())
    stats = crawler.stats.get_stats()
    assert stats["headcheck/photos_reanalysed"] == 1 and stats["headcheck/photos_known"] == 2
    assert stats["headcheck/analyses_skipped"] == 1  # the second: current now, a sighting only
    con = sqlite3.connect(tmp_path / "store.db")
    (detectors,) = con.execute("SELECT detectors FROM photos").fetchone()
    made_by = con.execute("SELECT DISTINCT detector_version FROM signals "
                          "WHERE detector = 'geometry.stylegan'").fetchall()
    assert json.loads(detectors)["geometry.stylegan"] == versions()["geometry.stylegan"]
    assert made_by in ([], [(StyleGanGeometry.version,)])
