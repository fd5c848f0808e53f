"""Every Redis key the cluster uses, in one place (``headcheck crawl-status`` reads them too)."""

from __future__ import annotations

from dataclasses import dataclass

import redis

PREFIX = "headcheck"
WRITERS = "writers"  # the results stream's consumer group


@dataclass(frozen=True)
class Keys:
    prefix: str = PREFIX

    def _k(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    @property
    def queue(self) -> str:  # scrapy-redis priority queue (sorted set of pickled requests)
        return self._k("requests")

    @property
    def dupefilter(self) -> str:  # request fingerprints (a set of 20-byte digests)
        return self._k("dupefilter")

    @property
    def documents(self) -> str:  # how many documents the job has queued (HEADCHECK_MAX_PAGES)
        return self._k("documents")

    @property
    def sites(self) -> str:  # hosts of the seeds: the sites whose links are followed
        return self._k("sites")

    @property
    def seeds(self) -> str:
        return self._k("seeds")

    @property
    def workers(self) -> str:  # worker ids that may hold leases
        return self._k("workers")

    def heartbeat(self, worker: str) -> str:  # expires when the worker stops beating
        return self._k(f"heartbeat:{worker}")

    def inflight(self, worker: str) -> str:  # lease id -> pickled request
        return self._k(f"inflight:{worker}")

    def host_slot(self, host: str) -> str:  # exists while the host must not be hit again
        return self._k(f"slot:{host}")

    @property
    def items(self) -> str:  # headshots (page, image) already sent in this job
        return self._k("items")

    @property
    def results(self) -> str:  # the stream of analysed photos for the writer
        return self._k("results")

    @property
    def bad_results(self) -> str:  # results the writer could not read, kept for inspection
        return self._k("results:bad")

    @property
    def stats(self) -> str:  # counters summed over all workers and the writer
        return self._k("stats")

    def job(self) -> list[str]:
        """The keys a fresh job clears (the results stream is kept: it may hold unstored work)."""
        return [self.queue, self.dupefilter, self.documents, self.sites, self.seeds,
                self.items, self.stats]


def connect(url: str) -> redis.Redis:
    """A client for ``redis://HOST:PORT/DB``; fails here, with a plain message, if unreachable."""
    client = redis.Redis.from_url(url, socket_connect_timeout=10, health_check_interval=30)
    client.ping()
    return client
