"""Analyse each downloaded headshot and record it in the headcheck store.

Three places, three jobs: a short thread hop reads the bytes FilesPipeline saved and hashes them;
worker processes analyse them (the CPU-heavy part, on every core); one writer thread owns the store
(``Headcheck``, created in that thread because a sqlite3 connection belongs to the thread that made
it) and adds photo, sighting and verified matches. One writer keeps SQLite simple and lets each new
photo be matched against every photo stored before it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from headcheck.analyze import OFF_HERE, Analysis
from headcheck.engine import Headcheck, IndexResult, KnownResult
from headcheck.errors import HeadcheckError
from headcheck.store import Sighting, Store

from .analysis_pool import AnalysisPool, default_workers
from .items import Headshot, PageError
from .journal import DONE, STORING, CrawlJournal

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _read(path: Path) -> tuple[bytes, str]:
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()


UNKNOWN = object()  # _store without an analysis: the store does not hold these bytes


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        self.stats = crawler.stats
        self.db_path = s["HEADCHECK_DB"]
        self.files_dir = Path(s["FILES_STORE"])
        self.workers = s.getint("HEADCHECK_ANALYSIS_WORKERS") or default_workers()
        self.cache_size = s.getint("HEADCHECK_ANALYSIS_CACHE")
        self.thumbnails = s.getbool("HEADCHECK_THUMBNAILS")
        self.crawler = crawler
        self.crawl_id: int | None = None  # this run's row in the store's crawls table
        self.journal = crawler.get_extension(CrawlJournal).journal
        # Analyses by sha256: the same photo under many URLs is analysed once per crawl.
        self.analyses: OrderedDict[str, asyncio.Future[Analysis]] = OrderedDict()
        self.hc: Headcheck | None = None  # writer thread only
        self.photo_ids: set[int] = set()  # writer thread only

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    async def spider_closed(self, reason: str) -> None:
        """Record why the run ended ("finished", "shutdown", ...): Scrapy only knows it after
        the pipelines have closed, so this opens the store once more, off the reactor."""
        if self.crawl_id is not None:
            await asyncio.to_thread(self._record_reason, self.crawl_id, reason)

    def _record_reason(self, crawl_id: int, reason: str) -> None:
        store = Store(self.db_path)
        try:
            store.finish_crawl(crawl_id, reason)
        finally:
            store.close()

    async def open_spider(self) -> None:
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="headcheck-store")
        await self._in_writer(self._open_store)  # a store that cannot open stops the crawl here
        # Workers load their models while the first pages download (not competing with the
        # store's own model loading for the CPUs).
        self.pool = AnalysisPool(self.workers, self.thumbnails)

    async def close_spider(self) -> None:
        await asyncio.to_thread(self.pool.shutdown)
        await self._in_writer(self._finish_crawl)
        flagged = await self._in_writer(self._close_store)
        for label, n in flagged.items():
            self.stats.set_value(f"headcheck/flagged/{label}", n)
        self.stats.set_value("headcheck/photos_seen", sum(flagged.values()))
        self.writer.shutdown()

    async def process_item(self, item: Any) -> Any:
        got = await self._headshot_bytes(item)
        if got is None:
            return item
        data, sha = got
        # Bytes the store holds already (a re-crawl, the same avatar on many pages): a sighting,
        # no analysis.
        result = await self._in_writer(self._store, sha, None, item)
        if result is UNKNOWN:
            analysis = await self._analysis_of(item, data, sha)
            result = await self._in_writer(self._store, sha, analysis, item)
        else:
            self._count("analyses_skipped")
        item.sha256 = sha
        if isinstance(result, IndexResult | KnownResult):
            self.stats.inc_value("headcheck/photos_new" if result.added.new_photo
                                 else "headcheck/photos_known")
            self.stats.inc_value("headcheck/sightings_new", int(result.added.new_sighting))
            if result.added.reanalysed:
                self._count("photos_reanalysed")
            item.label = result.verdict.label
        return item

    async def _analysed(self, item: Any) -> Analysis | None:
        """A headshot's analysis; None for other items (a page that could not be read is
        counted). Raises DropItem for an image that was not downloaded or is not an image.
        Shared with the cluster's ResultsPipeline, which sends the analysis instead."""
        got = await self._headshot_bytes(item)
        return None if got is None else await self._analysis_of(item, *got)

    async def _headshot_bytes(self, item: Any) -> tuple[bytes, str] | None:
        """A headshot's downloaded bytes and their sha256; None for other items."""
        if isinstance(item, PageError):
            self._count("errors/page")
            logger.warning("page not read: %s: %s", item.url, item.reason)
            return None
        if not isinstance(item, Headshot):
            return None
        if not item.files:  # FilesPipeline logged why (HTTP status, size, timeout)
            raise self._drop(item, "image_download", "the image could not be downloaded")
        return await asyncio.to_thread(_read, self.files_dir / item.files[0]["path"])

    async def _analysis_of(self, item: Headshot, data: bytes, sha: str) -> Analysis:
        try:
            analysis = await self._analysis(data, sha)
        except HeadcheckError as exc:
            raise self._drop(item, "image_invalid", str(exc)) from None
        for e in analysis.detector_errors:  # a detector that cannot run on this machine
            if e["error"].startswith(OFF_HERE):
                self._count(f"not_checked/{e['detector']}")
        return analysis

    def _count(self, key: str) -> None:
        self.stats.inc_value(f"headcheck/{key}")

    def _drop(self, item: Headshot, kind: str, reason: str) -> DropItem:
        """Count a bad image; the journal marks it done, so a resumed crawl does not retry it."""
        self.journal.set_item_state(item.key, DONE)
        self._count(f"errors/{kind}")
        return DropItem(f"{item.image_url} (on {item.page_url}): {reason}")

    async def _analysis(self, data: bytes, sha: str) -> Analysis:
        fut = self.analyses.get(sha)
        if fut is None:
            fut = asyncio.ensure_future(self.pool.analyze(data))
            self.analyses[sha] = fut
            if len(self.analyses) > self.cache_size:
                self.analyses.popitem(last=False)
        else:
            self.analyses.move_to_end(sha)
        return await asyncio.shield(fut)

    # -- the writer thread ---------------------------------------------------------------------
    async def _in_writer(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.writer, fn, *args)

    def _open_store(self) -> None:
        self.hc = Headcheck(self.db_path)
        spider = self.crawler.spider
        s = self.crawler.settings
        from headcheck import __version__

        # How the data were gathered, for reports: one row per crawl run.
        self.crawl_id = self.hc.store.start_crawl(
            list(getattr(spider, "seeds", [])),
            {k: s.get(k) for k in ("HEADCHECK_DEPTH", "HEADCHECK_MAX_PAGES", "USER_AGENT",
                                   "ROBOTSTXT_OBEY", "AUTOTHROTTLE_ENABLED", "FILES_EXPIRES",
                                   "CONCURRENT_REQUESTS_PER_DOMAIN", "JOBDIR")},
            __version__)

    def _finish_crawl(self) -> None:
        if self.hc is None or self.crawl_id is None:
            return
        st = self.stats
        errors = sum(int(v) for k, v in st.get_stats().items()
                     if k.startswith("headcheck/errors/") and isinstance(v, int))
        self.hc.store.finish_crawl(
            self.crawl_id, "closing",
            pages=int(st.get_value("headcheck/pages", 0)),
            profiles=int(st.get_value("headcheck/profiles", 0)),
            photos_new=int(st.get_value("headcheck/photos_new", 0)),
            photos_known=int(st.get_value("headcheck/photos_known", 0)), errors=errors)

    def _close_store(self) -> Counter[str]:
        assert self.hc is not None
        labels = Counter(self.hc.stored_verdict(pid).label for pid in self.photo_ids)
        self.hc.close()
        self.journal.close()  # this thread's connection
        return labels

    def _store(self, sha: str, a: Analysis | None, item: Headshot
               ) -> IndexResult | KnownResult | object | None:
        """Store the sighting (and the photo, given its analysis); None when a resumed crawl
        finds it stored already. Without an analysis only a photo the store holds is sighted,
        else UNKNOWN: analyse it."""
        assert self.hc is not None
        known = self.hc.store.current_photo_id(sha)
        # Known bytes whose stored signals another version of a detector made: analyse them
        # again (storing the analysis replaces the signals).
        if a is None and (known is None or self.hc.stale(known)):
            return UNKNOWN
        # Resuming a crawl killed while this sighting was being written: did it commit?
        if (known is not None and self.journal.item_state(item.key) == STORING
                and item.page_url in self.hc.store.pages([known])[known]):
            self.journal.set_item_state(item.key, DONE)
            self.photo_ids.add(known)
            return None
        self.journal.set_item_state(item.key, STORING)
        sighting = Sighting(page_url=item.page_url, image_url=item.image_url,
                            profile_name=item.profile_name, source="crawl")
        result = (self.hc.add_analysis(a, sighting) if a is not None
                  else self.hc.add_known(sha, sighting))
        assert result is not None  # known, checked above, on this (the only writer) thread
        self.journal.set_item_state(item.key, DONE)
        self.photo_ids.add(result.added.photo_id)
        return result
