"""The shared frontier: scrapy-redis's scheduler and dupe filter, with leases so nothing is lost.

scrapy-redis pops a request from Redis and forgets it: a worker killed while fetching or parsing a
page loses that page and everything it would have led to. Here a pop moves the request into the
worker's in-flight hash (one Lua script, so it is in exactly one place at any time). It leaves that
hash only when Scrapy has finished with it: its links are queued and its headshots are in the
results stream (the engine removes a request from its in-progress set only after its callback's
output went through the item pipelines). A worker refreshes a heartbeat key; any worker that sees
a worker without one puts that worker's in-flight requests back at the head of the queue.

Queueing is one script too (fingerprint added, document counted and request queued together), so
a worker killed between the dupe filter and the queue cannot drop a link.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.misc import load_object
from scrapy_redis import connection
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from .keys import Keys

logger = logging.getLogger(__name__)

RECOVERED_SCORE = -1000  # put-back requests go first (the queue pops the lowest score)

# KEYS: dupefilter, queue, documents. ARGV: fingerprint, score, request, dont_filter, max docs.
ENQUEUE = """
if ARGV[4] == '0' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
local limit = tonumber(ARGV[5])
if limit > 0 and redis.call('INCR', KEYS[3]) > limit then return -1 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

# KEYS: queue, this worker's in-flight hash. ARGV: lease id.
POP = """
local top = redis.call('ZRANGE', KEYS[1], 0, 0)
if #top == 0 then return false end
redis.call('ZREM', KEYS[1], top[1])
redis.call('HSET', KEYS[2], ARGV[1], top[1])
return top[1]
"""

# KEYS: workers, queue. ARGV: key prefix, score. Reads keys it derives from worker ids, which
# is fine on one Redis server (not on Redis Cluster).
RECOVER = """
local moved = 0
for _, w in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. ':heartbeat:' .. w) == 0 then
    local inflight = ARGV[1] .. ':inflight:' .. w
    for _, req in ipairs(redis.call('HVALS', inflight)) do
      redis.call('ZADD', KEYS[2], ARGV[2], req)
      moved = moved + 1
    end
    redis.call('DEL', inflight)
    redis.call('SREM', KEYS[1], w)
  end
end
return moved
"""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class ClusterDupeFilter(RFPDupeFilter):
    """scrapy-redis's Redis set of fingerprints, with two changes: the fingerprint is the
    crawler's own (``REQUEST_FINGERPRINTER_CLASS``: Accept-aware, so a profile's ActivityPub
    actor is not a duplicate of its page; upstream hashes method, URL and body only), kept as 20
    raw bytes instead of 40 hex characters; and the set outlives the worker (upstream deletes it
    on close, which would let the next worker fetch everything again)."""

    def __init__(self, server: Any, key: str, fingerprinter: Any, debug: bool = False) -> None:
        super().__init__(server, key, debug)
        self.fingerprinter = fingerprinter

    @classmethod
    def from_spider(cls, spider: Spider) -> ClusterDupeFilter:
        s = spider.settings
        return cls(connection.get_redis_from_settings(s),
                   Keys(s["HEADCHECK_CLUSTER_PREFIX"]).dupefilter,
                   spider.crawler.request_fingerprinter, s.getbool("DUPEFILTER_DEBUG"))

    def request_fingerprint(self, request: Request) -> bytes:  # type: ignore[override]
        return self.fingerprinter.fingerprint(request)

    def close(self, reason: str = "") -> None:
        pass


class ClusterScheduler(Scheduler):
    """scrapy-redis's scheduler (priority queue in a sorted set) with leases and heartbeats."""

    def __init__(self, server: Any, crawler: Crawler, **kwargs: Any) -> None:
        s = crawler.settings
        self.keys = Keys(s["HEADCHECK_CLUSTER_PREFIX"])
        super().__init__(server, persist=True, queue_key=self.keys.queue,
                         queue_cls="scrapy_redis.queue.PriorityQueue",
                         dupefilter_key=self.keys.dupefilter,
                         dupefilter_cls="crawler.cluster.frontier.ClusterDupeFilter", **kwargs)
        self.crawler = crawler
        self.stats = crawler.stats
        self.worker = s.get("HEADCHECK_CLUSTER_WORKER") or worker_id()
        self.max_documents = s.getint("HEADCHECK_MAX_PAGES")
        self.idle_exit = s.getfloat("HEADCHECK_CLUSTER_IDLE_EXIT")
        # Seconds without a beat before a worker's leases are put back.
        self.heartbeat_ttl = s.getfloat("HEADCHECK_CLUSTER_HEARTBEAT", 10.0)
        self.leases: dict[str, Request] = {}
        self._next_lease = 0
        self._idle_since: float | None = None
        self._enqueue = server.register_script(ENQUEUE)
        self._pop = server.register_script(POP)
        self._recover = server.register_script(RECOVER)
        self._beat = LoopingCall(self._heartbeat)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterScheduler:
        server = connection.from_settings(crawler.settings)
        server.ping()
        # An idle engine asks the scheduler again every 5 s; a worker waiting for its peers'
        # links should look sooner. (Scrapy 2.19 reads this when the spider opens, after the
        # scheduler is made; there is no setting for it.)
        assert crawler.engine is not None
        crawler.engine._SLOT_HEARTBEAT_INTERVAL = crawler.settings.getfloat(
            "HEADCHECK_CLUSTER_POLL", 1.0)
        return cls(server, crawler)

    @property
    def inflight_key(self) -> str:
        return self.keys.inflight(self.worker)

    def open(self, spider: Spider) -> None:
        # scrapy-redis's open() without its Spider.log call (deprecated in Scrapy 2.19).
        self.spider = spider
        self.queue = load_object(self.queue_cls)(server=self.server, spider=spider,
                                                 key=self.queue_key, serializer=self.serializer)
        self.df = load_object(self.dupefilter_cls).from_spider(spider)
        self._heartbeat()  # registers this worker, its heartbeat already set
        self._beat.start(self.heartbeat_ttl / 5, now=False)
        self.crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        logger.info("cluster worker %s: %d requests queued", self.worker, len(self.queue))

    def close(self, reason: str) -> None:
        """A worker that stops (Ctrl-C, finished, failed) hands back what it has not finished."""
        if self._beat.running:
            self._beat.stop()
        self._release_done()
        self.server.delete(self.keys.heartbeat(self.worker))
        self.recover()
        self.server.srem(self.keys.workers, self.worker)

    def _heartbeat(self) -> None:
        # Beat and register in one transaction: registered first, a peer's recover() could see
        # this worker without a heartbeat and drop it, and its leases would be nobody's to put
        # back (seen when two workers started at once on a loaded machine). Registering at every
        # beat also takes back a worker that stalled past the TTL (its leases went back then).
        pipe = self.server.pipeline()
        pipe.set(self.keys.heartbeat(self.worker), 1, px=int(self.heartbeat_ttl * 1000))
        pipe.sadd(self.keys.workers, self.worker)
        pipe.execute()
        self._release_done()
        self.recover()

    def recover(self) -> int:
        """Put back the in-flight requests of workers whose heartbeat expired."""
        moved = int(self._recover(keys=[self.keys.workers, self.keys.queue],
                                  args=[self.keys.prefix, RECOVERED_SCORE]))
        if moved:
            logger.warning("put back %d requests of a worker that stopped beating", moved)
            self.stats.inc_value("headcheck/cluster/recovered", moved)
        return moved

    def enqueue_request(self, request: Request) -> bool:
        added = int(self._enqueue(
            keys=[self.df.key, self.queue.key, self.keys.documents],
            args=[self.df.request_fingerprint(request), -request.priority,
                  self.queue._encode_request(request), int(request.dont_filter),
                  self.max_documents]))
        if added == 0:
            self.df.log(request, self.spider)
        elif added < 0:
            self.stats.inc_value("headcheck/pages_over_limit")
        else:
            self.stats.inc_value("scheduler/enqueued/redis")
        return added == 1

    def next_request(self) -> Request | None:
        self._release_done()
        lease = f"{self._next_lease}"
        data = self._pop(keys=[self.queue.key, self.inflight_key], args=[lease])
        if data is None:
            return None
        self._next_lease += 1
        request = self.queue._decode_request(data)
        self.leases[lease] = request
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return len(self) > 0

    def _release_done(self) -> None:
        """Drop the leases of requests the engine has finished with. The engine keeps a request
        in its slot's ``inprogress`` set until the request's output has gone through the item
        pipelines (Scrapy 2.19; no public hook says when a request is done)."""
        if not self.leases:
            return
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is None:
            return
        done = [k for k, r in self.leases.items() if r not in slot.inprogress]
        if done:
            self.server.hdel(self.inflight_key, *done)
            for k in done:
                del self.leases[k]

    def job_done(self) -> bool:
        """Nothing queued and nothing in flight on any worker."""
        if self.server.zcard(self.keys.queue):
            return False
        workers = self.server.smembers(self.keys.workers)
        return not any(self.server.hlen(self.keys.inflight(w.decode())) for w in workers)

    def spider_idle(self, spider: Spider) -> None:
        """Keep waiting for work while others may still add some; stop after ``idle_exit``
        seconds with the whole job done (0: never, a worker that waits for new seeds)."""
        self._release_done()
        self.recover()
        if self.idle_exit <= 0 or not self.job_done():
            self._idle_since = None
            raise DontCloseSpider
        now = time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < self.idle_exit:
            raise DontCloseSpider
