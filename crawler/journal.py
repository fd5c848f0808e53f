"""The crawl job's journal: every page request and headshot the job found, and which are done.

Why not only Scrapy's JOBDIR: it is written consistently only on a clean stop (the disk queue's
pointers and the scheduler state are saved in ``close()``, ``requests.seen`` is buffered), and the
requests and items in flight are never saved (scrapy/scrapy#7978). A crawl killed with SIGKILL
would resume with pages and photos missing. The journal is SQLite (WAL, one commit per change, so
it survives the process being killed) and follows the order that makes resuming exact:

1. a page's outputs (links, headshots) are recorded before Scrapy sees them;
2. the page is marked done only after all its outputs were recorded;
3. a headshot is marked done only after the store committed its sighting.

On start, pages not done are requested again, and so are the pages whose headshots are not done
(work in flight is recovered as input: the page is parsed again and the headshot goes through the
pipelines again). A page's outputs that the journal already has are dropped, except those
unfinished headshots, so nothing is stored twice. (Replaying the items themselves from the
spider's start would be shorter, but then a graceful stop hangs: Scrapy closes its downloader
without waiting for start items, whose images may still be downloading.)
"""

from __future__ import annotations

import json
import logging
import pickle
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Response
from scrapy.utils.request import request_from_dict

from .items import Headshot

logger = logging.getLogger(__name__)
PENDING, STORING, DONE = 0, 1, 2
KEY = "journal_key"  # request.meta: the journal row a response completes

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY, url TEXT NOT NULL, request BLOB NOT NULL,
    state INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, found TEXT NOT NULL,
    state INTEGER NOT NULL DEFAULT 0, run INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS job (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Journal:
    """SQLite file of one crawl job; one connection per thread (the store writer marks items)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.run = 0  # set by begin()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._db.executescript(SCHEMA)

    @property
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode = WAL")
            # A commit reaches the OS before returning: safe from a killed process (not from a
            # power cut, which would need FULL and an fsync a row).
            db.execute("PRAGMA synchronous = NORMAL")
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- the job ---------------------------------------------------------------------------------
    def begin(self) -> dict[str, int]:
        """Start a job, or resume the unfinished one; a finished job's journal is cleared."""
        if self._job_state() == "finished":
            self._db.executescript("DELETE FROM requests; DELETE FROM items; DELETE FROM job;")
        # Headshots in flight when the last run stopped: parse their page again.
        self._db.execute("UPDATE requests SET state = 0 WHERE key IN "
                         "(SELECT source FROM items WHERE state != 2)")
        row = self._db.execute("SELECT value FROM job WHERE name = 'run'").fetchone()
        self.run = int(row[0]) + 1 if row else 1
        self._db.executemany("INSERT OR REPLACE INTO job VALUES (?, ?)",
                             [("state", "running"), ("run", str(self.run))])
        return self.counts()

    def finish(self) -> None:
        self._db.execute("INSERT OR REPLACE INTO job VALUES ('state', 'finished')")

    def _job_state(self) -> str | None:
        row = self._db.execute("SELECT value FROM job WHERE name = 'state'").fetchone()
        return row[0] if row else None

    def counts(self) -> dict[str, int]:
        q = "SELECT count(*), coalesce(sum(state != 2), 0) FROM {}"
        pages, pending_pages = self._db.execute(q.format("requests")).fetchone()
        items, pending_items = self._db.execute(q.format("items")).fetchone()
        return {"pages": pages, "pending_pages": pending_pages, "items": items,
                "pending_items": pending_items}

    # -- page requests ---------------------------------------------------------------------------
    def add_request(self, key: str, url: str, request: dict[str, Any]) -> bool:
        """Record a request the spider wants; False if the job already knows it."""
        cur = self._db.execute(
            "INSERT OR IGNORE INTO requests (key, url, request) VALUES (?, ?, ?)",
            [key, url, pickle.dumps(request, protocol=4)])
        return cur.rowcount == 1

    def request_done(self, key: str) -> None:
        self._db.execute("UPDATE requests SET state = 2 WHERE key = ?", [key])

    def pending_requests(self, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Requests not done when this run began, oldest first, read in batches (a large
        frontier is not loaded at once; rows this run adds are not replayed)."""
        last = 0
        (end,) = self._db.execute("SELECT coalesce(max(rowid), 0) FROM requests").fetchone()
        while last < end:
            rows = self._db.execute(
                "SELECT rowid, request FROM requests WHERE state != 2 AND rowid > ? "
                "AND rowid <= ? ORDER BY rowid LIMIT ?", [last, end, batch]).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for _, blob in rows:
                yield pickle.loads(blob)  # noqa: S301 - our own file, written above

    def has_request(self, key: str) -> bool:
        row = self._db.execute("SELECT 1 FROM requests WHERE key = ?", [key]).fetchone()
        return row is not None

    def request_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM requests").fetchone()[0]

    # -- headshots -------------------------------------------------------------------------------
    def add_item(self, item: Headshot, source: str) -> str:
        """Record a headshot found on the page ``source``: "new", "known" (done, or already
        found in this run), or "unfinished" (found by an earlier run and not stored yet)."""
        row = self._db.execute("SELECT state, run FROM items WHERE key = ?",
                               [item.key]).fetchone()
        if row is None:
            self._db.execute("INSERT INTO items (key, source, found, run) VALUES (?, ?, ?, ?)",
                             [item.key, source, json.dumps(item.found()), self.run])
            return "new"
        if row[0] == DONE or row[1] == self.run:
            return "known"
        self._db.execute("UPDATE items SET run = ? WHERE key = ?", [self.run, item.key])
        return "unfinished"

    def item_state(self, key: str) -> int | None:
        row = self._db.execute("SELECT state FROM items WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_item_state(self, key: str, state: int) -> None:
        self._db.execute("UPDATE items SET state = ? WHERE key = ?", [state, key])


class CrawlJournal:
    """Extension owning the job's journal (``HEADCHECK_JOURNAL``); other components get it with
    ``crawler.get_extension(CrawlJournal)``."""

    def __init__(self, crawler: Crawler, path: str) -> None:
        self.journal = Journal(path)
        counts = self.journal.begin()
        if counts["pending_pages"]:
            logger.info("resuming the job in %s: %d of %d pages to do", path,
                        counts["pending_pages"], counts["pages"])
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlJournal:
        return cls(crawler, crawler.settings["HEADCHECK_JOURNAL"])

    def spider_closed(self, spider: Spider, reason: str) -> None:
        # Only a crawl that ran out of work is finished; shutdowns and failures resume.
        if reason == "finished":
            self.journal.finish()
        self.journal.close()


class JournalMiddleware:
    """Spider middleware: records what each page yields, drops what the job already has, marks
    the page done, and requests unfinished pages again when a job resumes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.journal = crawler.get_extension(CrawlJournal).journal
        self.max_pages = crawler.settings.getint("HEADCHECK_MAX_PAGES")
        self.page_count = self.journal.request_count()
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JournalMiddleware:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        spider = self.crawler.spider
        for d in self.journal.pending_requests():
            self.stats.inc_value("headcheck/resumed/pages")
            yield request_from_dict(d, spider=spider)
        async for o in start:
            if self._record(o, None):
                yield o

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]
                                    ) -> AsyncIterator[Any]:
        key = response.request.meta.get(KEY) if response.request else None
        try:
            async for o in result:
                if self._record(o, key):
                    yield o
        except Exception:
            # A page the spider cannot parse is not retried on resume: it would fail again.
            if key:
                self.journal.request_done(key)
            raise
        if key:
            self.journal.request_done(key)
        if isinstance(response, HtmlResponse) and 200 <= response.status < 300:
            self.stats.inc_value("headcheck/pages")

    def _record(self, o: Any, source: str | None) -> bool:
        if isinstance(o, Request):
            key = self.crawler.request_fingerprinter.fingerprint(o).hex()
            if self.journal.has_request(key):
                return False
            if self.max_pages and self.page_count >= self.max_pages:
                self.stats.inc_value("headcheck/pages_over_limit")
                return False
            o.meta[KEY] = key
            if not self.journal.add_request(key, o.url, o.to_dict(spider=self.crawler.spider)):
                return False
            self.page_count += 1
            return True
        if isinstance(o, Headshot) and source:
            found = self.journal.add_item(o, source)
            if found == "known":
                return False
            if found == "new":
                self.stats.inc_value("headcheck/profiles")
                self.stats.inc_value(f"headcheck/found/{o.how}")
            else:
                self.stats.inc_value("headcheck/resumed/items")
        return True
