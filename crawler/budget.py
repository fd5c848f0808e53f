"""``--max-pages`` as a bound on what is sent: every document fetch counts, retries, redirect
hops and robots.txt included (the journal bounds what the spider schedules, which retries and
redirects bypass). Images are not documents and do not count."""

from __future__ import annotations

from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

IMAGE = "headcheck_image"  # request meta key: an image download (FilesPipeline)


class OverPageLimit(IgnoreRequest):
    """The run has fetched --max-pages documents."""


class PageBudgetMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.limit = crawler.settings.getint("HEADCHECK_MAX_PAGES")
        self.stats = crawler.stats
        self.sent = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not self.limit or request.meta.get(IMAGE):
            return
        if self.sent >= self.limit:
            self.stats.inc_value("headcheck/pages_over_limit")
            raise OverPageLimit(f"--max-pages {self.limit} reached")
        self.sent += 1
        self.stats.inc_value("headcheck/fetches/documents")
