"""The worker's spider: the single-machine spider, with its seeds and sites kept in Redis.

Seeds are queued once, by whoever pushes them (``push_seeds``), not by every worker at start. The
sites whose links are followed are the seeds' hosts: a worker reads them from Redis again every
few seconds, and at once when a page or request is on none of the sites it knows. Without that
a worker that read the sites before a seed was pushed parsed the seed's page with no site to
follow, and its links were lost for good (the page was done, its fingerprint taken).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.http import Response
from scrapy_redis import connection

from ..fingerprint import AcceptAwareFingerprinter
from ..items import PageError
from ..links import on_site
from ..spider import HeadshotSpider
from .frontier import ENQUEUE
from .keys import Keys

SITES_REFRESH = 5.0  # seconds


class ClusterSpider(HeadshotSpider):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(seeds=[], **kwargs)
        self._sites: list[str] = []
        self._sites_read = 0.0

    @property
    def allowed_domains(self) -> list[str]:  # type: ignore[override]
        if time.monotonic() - self._sites_read > SITES_REFRESH:
            self.read_sites()
        return self._sites

    @allowed_domains.setter
    def allowed_domains(self, value: list[str]) -> None:
        pass  # HeadshotSpider sets them from its seeds; here they come from Redis

    def read_sites(self) -> None:
        if not hasattr(self, "crawler"):  # not running (push_seeds' spider)
            return
        s = self.settings
        server = connection.get_redis_from_settings(s)
        sites = server.smembers(Keys(s["HEADCHECK_CLUSTER_PREFIX"]).sites)
        self._sites = sorted(x.decode() for x in sites)
        self._sites_read = time.monotonic()

    def knows_site_of(self, url: str) -> bool:
        """Whether ``url`` is on a known site, reading the sites again before saying no."""
        if on_site(url, self.allowed_domains):
            return True
        self.read_sites()
        return on_site(url, self._sites)

    def parse(self, response: Response) -> Iterator[Any]:
        # A page is crawled because it is on a seed's site (or is a seed): make sure that site
        # is known before its links are judged on- or off-site.
        self.knows_site_of(response.url)
        yield from super().parse(response)

    def parse_sitemap(self, response: Response) -> Iterator[Request | PageError]:
        self.knows_site_of(response.url)
        yield from super().parse_sitemap(response)

    async def start(self) -> AsyncIterator[Any]:
        return
        yield  # an async generator that yields nothing: the seeds are in the shared queue


def push_seeds(server: Any, keys: Keys, seeds: list[str], max_documents: int = 0) -> int:
    """Queue the seeds (and their sites' robots.txt) for the cluster; returns how many were new.
    The same script and encoding as the workers' scheduler, so a seed already crawled in this job
    is not queued again."""
    spider = ClusterSpider()
    script = server.register_script(ENQUEUE)
    fingerprinter = AcceptAwareFingerprinter()
    hosts = sorted({urlsplit(u).hostname or "" for u in seeds} - {""})
    if hosts:
        server.sadd(keys.sites, *hosts)
    server.sadd(keys.seeds, *seeds)
    added = 0
    for request in spider.seed_requests(seeds):
        data = pickle.dumps(request.to_dict(spider=spider), protocol=-1)  # as scrapy-redis
        added += int(script(keys=[keys.dupefilter, keys.queue, keys.documents],
                            args=[fingerprinter.fingerprint(request), -request.priority, data,
                                  0, max_documents])) == 1
    return added


class ClusterOffsiteMiddleware(OffsiteMiddleware):
    """Scrapy's offsite rule, asking the worker's spider to read the sites again before it drops
    a request: a seed pushed for a new site reaches workers that know only the older sites."""

    def should_follow(self, request: Request, spider: Spider) -> bool:
        if super().should_follow(request, spider):
            return True
        if not isinstance(spider, ClusterSpider):
            return False
        return spider.knows_site_of(request.url) and super().should_follow(request, spider)
