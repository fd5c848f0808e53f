"""The worker's spider: the single-machine spider, with its seeds and sites kept in Redis.

Seeds are queued once, by whoever pushes them (``push_seeds``), not by every worker at start. The
sites whose links are followed are the seeds' hosts: a worker reads them from Redis (again every
few seconds, so seeds pushed while it runs are followed too).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from scrapy_redis import connection

from ..fingerprint import AcceptAwareFingerprinter
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
        if time.monotonic() - self._sites_read > SITES_REFRESH and hasattr(self, "crawler"):
            s = self.settings
            server = connection.get_redis_from_settings(s)
            sites = server.smembers(Keys(s["HEADCHECK_CLUSTER_PREFIX"]).sites)
            self._sites = sorted(x.decode() for x in sites)
            self._sites_read = time.monotonic()
        return self._sites

    @allowed_domains.setter
    def allowed_domains(self, value: list[str]) -> None:
        pass  # HeadshotSpider sets them from its seeds; here they come from Redis

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
