"""The one process that writes the store: reads the results stream, matches and stores each photo.

A Redis stream with a consumer group: an entry read stays pending (in the group's list of
unacknowledged entries) until XACK, which comes only after the store committed it. A writer killed
mid-batch leaves its entries pending; the next writer takes them over with XAUTOCLAIM and stores
them again. Storing again is harmless: the store keeps one photo per sha256, and a sighting whose
``last_seen`` is already at or after this entry's time was stored by this very entry, so it is
skipped (not counted twice).

One writer per store: SQLite has one writer anyway, and matching each new photo against all
photos stored before it needs them in order.
"""

from __future__ import annotations

import logging
import signal
import socket
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis

from headcheck import __version__
from headcheck.engine import Headcheck

from .keys import WRITERS, Keys
from .results import Result

logger = logging.getLogger(__name__)


@dataclass
class WriterStats:
    stored: int = 0  # entries committed to the store
    repeated: int = 0  # entries found already stored (redelivered after a crash)
    bad: int = 0  # entries that could not be read or stored (moved to the bad-results stream)
    photos_new: int = 0
    photos_known: int = 0
    labels: Counter[str] = field(default_factory=Counter)


def already_stored(hc: Headcheck, r: Result) -> bool:
    """This sighting was committed by this entry before (a redelivery after a crash)."""
    pid = hc.store.photo_id(r.analysis.sha256)
    if pid is None:
        return False
    s = r.sighting
    last = hc.store.last_seen(pid, s.page_url, s.image_url or "")
    return last is not None and s.seen_at is not None and last >= s.seen_at


class Writer:
    def __init__(self, server: redis.Redis, db: str, keys: Keys, consumer: str | None = None,
                 batch: int = 50, claim_idle: float = 60.0) -> None:
        self.server = server
        self.keys = keys
        self.consumer = consumer or f"writer@{socket.gethostname()}"
        self.batch = batch
        self.claim_idle_ms = int(claim_idle * 1000)
        self.stats = WriterStats()
        self.stopping = False
        self.hc = Headcheck(db)
        try:
            server.xgroup_create(keys.results, WRITERS, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def close(self) -> None:
        self.hc.close()

    def stop(self, *_: Any) -> None:
        self.stopping = True  # finish the batch in hand, then stop

    # -- reading -------------------------------------------------------------------------------
    def claim(self, min_idle_ms: int) -> list[tuple[bytes, dict]]:
        """Take over pending entries idle for ``min_idle_ms`` (0 at start: whatever a killed
        writer left, under any consumer name)."""
        out: list[tuple[bytes, dict]] = []
        start = "0-0"
        while True:
            reply = self.server.xautoclaim(self.keys.results, WRITERS, self.consumer,
                                           min_idle_ms, start_id=start, count=self.batch)
            start, entries = reply[0], reply[1]
            out += [e for e in entries if e[1] is not None]
            if start in (b"0-0", "0-0"):
                return out

    def read(self, block_ms: int) -> list[tuple[bytes, dict]]:
        reply = self.server.xreadgroup(WRITERS, self.consumer, {self.keys.results: ">"},
                                       count=self.batch, block=block_ms)
        return reply[0][1] if reply else []

    # -- writing -------------------------------------------------------------------------------
    def store(self, entries: list[tuple[bytes, dict]]) -> None:
        """Commit each entry, then acknowledge the batch (after every commit)."""
        self.acknowledge(self.commit(entries))

    def commit(self, entries: list[tuple[bytes, dict]]) -> list[bytes]:
        done: list[bytes] = []
        for entry_id, fields in entries:
            try:
                result = Result.loads(fields[b"r"])
            except Exception as exc:  # noqa: BLE001 - any unreadable entry is set aside
                logger.error("result %s unreadable (%s); kept in %s", entry_id, exc,
                             self.keys.bad_results)
                self.server.xadd(self.keys.bad_results, fields)
                self.stats.bad += 1
                done.append(entry_id)
                continue
            if already_stored(self.hc, result):
                self.stats.repeated += 1
                self.server.hincrby(self.keys.stats, "redelivered", 1)  # seen in crawl-status
                done.append(entry_id)
                continue
            try:
                added = self.hc.add_analysis(result.analysis, result.sighting)
            except sqlite3.OperationalError:
                raise  # the store cannot be written (locked, disk full): stop, retry later
            except Exception as exc:  # noqa: BLE001 - one bad result must not stop the rest
                logger.exception("result %s not stored; kept in %s", entry_id,
                                 self.keys.bad_results)
                self.server.xadd(self.keys.bad_results, {**fields, b"error": str(exc)[:500]})
                self.stats.bad += 1
                done.append(entry_id)
                continue
            self.stats.stored += 1
            if added.added.new_photo:
                self.stats.photos_new += 1
            else:
                self.stats.photos_known += 1
            done.append(entry_id)
        return done

    def acknowledge(self, done: list[bytes]) -> None:
        if done:
            # Acknowledged entries are deleted too: a stream keeps them otherwise, ~40 KB each.
            pipe = self.server.pipeline()
            pipe.xack(self.keys.results, WRITERS, *done)
            pipe.xdel(self.keys.results, *done)
            pipe.hincrby(self.keys.stats, "stored", len(done))
            pipe.execute()

    def crawl_over(self) -> bool:
        """No worker registered, nothing queued, and no result left unstored (a stored result is
        deleted from the stream, so its length is what is left)."""
        k = self.keys
        return not (self.server.scard(k.workers) or self.server.zcard(k.queue)
                    or self.server.xlen(k.results))

    def run(self, *, exit_when_idle: bool = False, block_ms: int = 1000) -> WriterStats:
        seeds = sorted(x.decode() for x in self.server.smembers(self.keys.seeds))
        crawl_id = self.hc.store.start_crawl(seeds, {"writer": self.consumer,
                                                     "redis_prefix": self.keys.prefix},
                                             __version__)
        last_claim = time.monotonic()
        self.store(self.claim(0))
        while not self.stopping:
            entries = self.read(block_ms)
            if time.monotonic() - last_claim > self.claim_idle_ms / 1000:
                entries += self.claim(self.claim_idle_ms)  # another writer's, dead or stuck
                last_claim = time.monotonic()
            self.store(entries)
            if not entries and exit_when_idle and self.crawl_over():
                break
        counts = self._redis_counts()
        self.hc.store.finish_crawl(crawl_id, "finished" if not self.stopping else "shutdown",
                                   pages=counts.get("pages", 0),
                                   profiles=counts.get("profiles", 0),
                                   photos_new=self.stats.photos_new,
                                   photos_known=self.stats.photos_known,
                                   errors=counts.get("errors", 0))
        return self.stats

    def _redis_counts(self) -> dict[str, int]:
        raw = {k.decode(): int(v) for k, v in self.server.hgetall(self.keys.stats).items()}
        raw["errors"] = sum(v for k, v in raw.items() if k.startswith("errors/"))
        return raw


def run_writer(server: redis.Redis, db: str, keys: Keys, *, exit_when_idle: bool,
               consumer: str | None = None, batch: int = 50) -> WriterStats:
    writer = Writer(server, db, keys, consumer=consumer, batch=batch)
    # Stop after the batch in hand; the caller's handlers come back afterwards (the command may
    # run inside another program, a test runner for one).
    before = {sig: signal.signal(sig, writer.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return writer.run(exit_when_idle=exit_when_idle)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        writer.close()
