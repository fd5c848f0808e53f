"""Per-host politeness across the whole cluster: one host never gets requests closer together than
the delay, however many workers run.

Scrapy's delays are per process: N workers would hit a site N times as often. Here the HTTP
download handler takes the host's slot in Redis right before it sends (``SET NX``: whoever sets it
sends, the others wait), holds it while the request is out, and when the response is in (or the
request failed) lets it expire after the delay. So the next request to that host, from any worker,
starts at least the delay after the previous one ended: the gap holds as the site sees it, whatever
a loaded machine adds between taking the slot and sending. The slot is taken in the handler, not a
downloader middleware, because a request still waits in Scrapy's downloader queue after the
middlewares. A worker killed mid-request holds the slot at most ``DOWNLOAD_TIMEOUT`` + the delay.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis import connection

from .keys import Keys

# KEYS: the slot. ARGV: our token, the delay in ms. Only the holder starts the countdown.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class HostSlots:
    def __init__(self, server: Any, keys: Keys, delay: float, hold: float) -> None:
        self.server = server
        self.keys = keys
        self.delay_ms = int(delay * 1000)
        self.hold_ms = int((hold + delay) * 1000)
        self._release = server.register_script(RELEASE)

    async def take(self, host: str) -> tuple[str, float]:
        """Wait until this process may send to ``host``; returns (token, seconds waited)."""
        token, waited = uuid.uuid4().hex, 0.0
        key = self.keys.host_slot(host)
        while not self.server.set(key, token, px=self.hold_ms, nx=True):
            pause = max(int(self.server.pttl(key)), 2) / 1000  # -2/-1: just expired, retry now
            await asyncio.sleep(min(pause, 0.5))  # a held slot's TTL is long: look again soon
            waited += min(pause, 0.5)
        return token, waited

    def release(self, host: str, token: str) -> None:
        self._release(keys=[self.keys.host_slot(host)], args=[token, max(self.delay_ms, 1)])


class PoliteDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, holding the host's cluster-wide slot around each request.
    The delay is ``HEADCHECK_CLUSTER_HOST_DELAY`` (default: ``DOWNLOAD_DELAY``)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        s = crawler.settings
        delay = s.getfloat("HEADCHECK_CLUSTER_HOST_DELAY", -1)
        self.slots = HostSlots(connection.from_settings(s), Keys(s["HEADCHECK_CLUSTER_PREFIX"]),
                               delay if delay >= 0 else s.getfloat("DOWNLOAD_DELAY"),
                               hold=s.getfloat("DOWNLOAD_TIMEOUT"))
        self.stats = crawler.stats

    async def download_request(self, request: Request) -> Response:
        if self.slots.delay_ms <= 0:  # no delay: no politeness (loopback tests, benchmarks)
            return await super().download_request(request)
        host = urlparse_cached(request).hostname or ""
        token, waited = await self.slots.take(host)
        if waited:
            self.stats.inc_value("headcheck/cluster/politeness_wait_ms", int(waited * 1000))
        try:
            return await super().download_request(request)
        finally:
            self.slots.release(host, token)
