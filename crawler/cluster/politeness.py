"""Per-host politeness across the whole cluster: at most one request per delay to any host.

Scrapy's delays are per process: N workers would hit a site N times as often. Here the HTTP
download handler, right before it sends a request, takes the host's slot in Redis: a key set with
``SET NX PX delay`` (whoever sets it may send; the key expires after the delay). Taking it in the
handler rather than in a middleware matters: a request still waits in Scrapy's downloader queue
after the middlewares, and sending it later than the slot was taken would shorten the gap.
"""

from __future__ import annotations

import asyncio

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis import connection

from .keys import Keys


class HostSlots:
    def __init__(self, server: object, keys: Keys, delay: float) -> None:
        self.server = server
        self.keys = keys
        self.delay_ms = int(delay * 1000)

    async def take(self, host: str) -> float:
        """Wait until this process may send to ``host``; returns the seconds waited."""
        waited = 0.0
        key = self.keys.host_slot(host)
        while self.delay_ms > 0 and not self.server.set(key, 1, px=self.delay_ms, nx=True):
            pause = max(int(self.server.pttl(key)), 2) / 1000  # -2/-1: just expired, retry now
            await asyncio.sleep(pause)
            waited += pause
        return waited


class PoliteDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, waiting for the host's cluster-wide slot before each request.
    The delay is ``HEADCHECK_CLUSTER_HOST_DELAY`` (default: ``DOWNLOAD_DELAY``)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        s = crawler.settings
        delay = s.getfloat("HEADCHECK_CLUSTER_HOST_DELAY", -1)
        self.slots = HostSlots(connection.from_settings(s), Keys(s["HEADCHECK_CLUSTER_PREFIX"]),
                               delay if delay >= 0 else s.getfloat("DOWNLOAD_DELAY"))
        self.stats = crawler.stats

    async def download_request(self, request: Request) -> Response:
        waited = await self.slots.take(urlparse_cached(request).hostname or "")
        if waited:
            self.stats.inc_value("headcheck/cluster/politeness_wait_ms", int(waited * 1000))
        return await super().download_request(request)
