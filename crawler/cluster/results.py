"""Worker side of the one store: analyse each headshot here, send the result to the writer.

A result is the photo's ``Analysis`` and the sighting (page, image, name, when), pickled into one
entry of a Redis stream. Sending is one script: the headshot's key joins the job's set of sent
headshots and the entry is added, or neither. So a page fetched again after its worker died sends
only what the dead worker had not sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import pickle
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse, Response
from scrapy_redis import connection

from headcheck.analyze import Analysis
from headcheck.store import Sighting, now_iso

from ..analysis_pool import AnalysisPool, default_workers
from ..items import Headshot
from ..store_pipeline import StorePipeline
from .keys import Keys

logger = logging.getLogger(__name__)

# KEYS: sent headshots, results stream, stats. ARGV: headshot key, payload.
SEND = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'r', ARGV[2])
redis.call('HINCRBY', KEYS[3], 'profiles', 1)
return 1
"""


@dataclass
class Result:
    analysis: Analysis
    sighting: Sighting
    how: str
    worker: str

    def dumps(self) -> bytes:
        return pickle.dumps(self, protocol=5)

    @staticmethod
    def loads(data: bytes) -> Result:
        result = pickle.loads(data)  # noqa: S301 - the cluster's own private Redis
        if not isinstance(result, Result):
            raise ValueError(f"not a result: {type(result).__name__}")
        return result


def headshot_key(item: Headshot) -> bytes:
    return hashlib.sha1(item.key.encode()).digest()  # 20 bytes, like a fingerprint


class ResultsPipeline(StorePipeline):
    """The store pipeline's analysis (worker processes, a cache by sha256, a retry when a worker
    crashes), ending in the results stream instead of the store."""

    def __init__(self, crawler: Crawler) -> None:  # no store and no journal here
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.files_dir = Path(s["FILES_STORE"])
        self.workers = s.getint("HEADCHECK_ANALYSIS_WORKERS") or default_workers()
        self.cache_size = s.getint("HEADCHECK_ANALYSIS_CACHE")
        self.thumbnails = s.getbool("HEADCHECK_THUMBNAILS")
        self.analyses: OrderedDict[str, asyncio.Future[Analysis]] = OrderedDict()
        self.keys = Keys(s["HEADCHECK_CLUSTER_PREFIX"])
        self.server = connection.from_settings(s)
        self.worker = s.get("HEADCHECK_CLUSTER_WORKER") or ""
        self.max_backlog = s.getint("HEADCHECK_CLUSTER_MAX_BACKLOG", 10_000)
        self._send = self.server.register_script(SEND)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResultsPipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        self.pool = AnalysisPool(self.workers, self.thumbnails)

    async def close_spider(self) -> None:
        await asyncio.to_thread(self.pool.shutdown)

    def _count(self, key: str) -> None:  # this worker's stats and the cluster's
        super()._count(key)
        self.server.hincrby(self.keys.stats, key, 1)

    async def process_item(self, item: Any) -> Any:
        analysis = await self._analysed(item)
        if analysis is None:
            return item
        result = Result(analysis, Sighting(page_url=item.page_url, image_url=item.image_url,
                                           profile_name=item.profile_name, source="crawl",
                                           seen_at=now_iso()), item.how, self.worker)
        await self._wait_for_writer()
        sent = self._send(keys=[self.keys.items, self.keys.results, self.keys.stats],
                          args=[headshot_key(item), result.dumps()])
        self.stats.inc_value("headcheck/profiles" if sent else "headcheck/resent_skipped")
        item.sha256 = analysis.sha256
        return item

    async def _wait_for_writer(self) -> None:
        """Hold results while the writer is far behind: Redis keeps every unstored result in
        memory (~40 KB each), so the backlog is capped (``HEADCHECK_CLUSTER_MAX_BACKLOG``)."""
        waited = 0.0
        while self.max_backlog and self.server.xlen(self.keys.results) >= self.max_backlog:
            if not waited:
                logger.info("the writer is %d results behind; waiting", self.max_backlog)
            await asyncio.sleep(0.5)
            waited += 0.5
        if waited:
            self.stats.inc_value("headcheck/cluster/backlog_wait_ms", int(waited * 1000))

    def _drop(self, item: Headshot, kind: str, reason: str) -> DropItem:
        self._count(f"errors/{kind}")  # no journal: a page fetched again sends what it lacks
        return DropItem(f"{item.image_url} (on {item.page_url}): {reason}")


class PagesMiddleware:
    """Spider middleware counting the pages read (the single-machine crawl's journal does it)."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.server = connection.from_settings(crawler.settings)
        self.key = Keys(crawler.settings["HEADCHECK_CLUSTER_PREFIX"]).stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PagesMiddleware:
        return cls(crawler)

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]
                                    ) -> AsyncIterator[Any]:
        async for o in result:
            yield o
        if isinstance(response, HtmlResponse) and 200 <= response.status < 300:
            self.stats.inc_value("headcheck/pages")
            self.server.hincrby(self.key, "pages", 1)
