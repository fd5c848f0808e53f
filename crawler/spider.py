"""The spider: parses pages and yields headshots and the next requests; nothing else.

Seeds are its start; each seed's site is the only site it follows links on (images may come from
anywhere). robots.txt is read for sitemaps, whose entries count as links one hop from a seed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gzip_magic_number
from twisted.python.failure import Failure

from .budget import OverPageLimit
from .extract import (
    ACTIVITY_JSON,
    activitypub_actor_url,
    actor_headshot,
    fallback_headshot,
    page_headshot,
)
from .items import Headshot, PageError
from .links import BadSitemap, on_site, page_links, robots_sitemaps, sitemap_entries

ACTOR_PRIORITY = 10  # finish a profile before opening more pages
# IgnoreRequest messages of decisions, not errors (Scrapy's robots.txt and offsite middlewares).
# Every other IgnoreRequest (a redirect loop, a Content-Encoding bomb) is a page error.
DECIDED = ("Forbidden by robots.txt", "Filtered offsite request")


def site_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HeadshotSpider(Spider):
    name = "headshots"

    def __init__(self, seeds: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seeds = list(dict.fromkeys(seeds))
        self.allowed_domains = sorted({urlsplit(u).hostname or "" for u in self.seeds} - {""})

    @property
    def max_depth(self) -> int:
        return self.settings.getint("HEADCHECK_DEPTH")

    async def start(self) -> AsyncIterator[Any]:
        for request in self.seed_requests(self.seeds):
            yield request

    def seed_requests(self, seeds: list[str]) -> list[Request]:
        """Each seed, then each seed site's robots.txt (for its sitemaps)."""
        pages = [Request(url, callback=self.parse, errback=self.failed) for url in seeds]
        return pages + [Request(f"{site}/robots.txt", callback=self.parse_robots,
                                errback=self.no_sitemaps)
                        for site in dict.fromkeys(map(site_of, seeds))]

    def parse(self, response: Response) -> Iterator[Any]:
        if isinstance(response, XmlResponse) or gzip_magic_number(response):
            yield from self.parse_sitemap(response)  # a seed may be a sitemap
            return
        if not isinstance(response, HtmlResponse):
            return
        found = page_headshot(response)
        actor = None if found else activitypub_actor_url(response)
        if actor:
            # Part of the profile, wherever it is hosted (like the images).
            yield Request(actor, headers={"Accept": ACTIVITY_JSON}, callback=self.parse_actor,
                          errback=self.failed, cb_kwargs={"page_url": response.url},
                          meta={"allow_offsite": True}, priority=ACTOR_PRIORITY)
        elif not found:
            found = fallback_headshot(response)
        if found:
            yield Headshot(page_url=response.url, image_url=found.image_url, how=found.how,
                           profile_name=found.name)
        if response.meta.get("depth", 0) < self.max_depth:
            for url in page_links(response, tuple(self.allowed_domains)):
                yield Request(url, callback=self.parse, errback=self.failed)

    def parse_actor(self, response: Response, page_url: str) -> Iterator[Any]:
        try:
            actor = json.loads(response.body)
        except (ValueError, RecursionError):  # nesting deeper than the parser's stack
            yield PageError(response.url, "the ActivityPub actor is not JSON")
            return
        found = actor_headshot(actor, response.url)
        if found:
            yield Headshot(page_url=page_url, image_url=found.image_url, how=found.how,
                           profile_name=found.name)

    def parse_robots(self, response: Response) -> Iterator[Request]:
        if isinstance(response, TextResponse):
            for url in robots_sitemaps(response):
                yield Request(url, callback=self.parse_sitemap, errback=self.failed,
                              meta={"depth_reset": True})

    def parse_sitemap(self, response: Response) -> Iterator[Request | PageError]:
        try:
            kind, urls = sitemap_entries(response, self.settings.getint("DOWNLOAD_MAXSIZE"))
        except BadSitemap as exc:
            yield PageError(response.url, str(exc))
            return
        for url in urls:
            if kind == "sitemapindex":
                yield Request(url, callback=self.parse_sitemap, errback=self.failed,
                              meta={"depth_reset": True})
            elif on_site(url, self.allowed_domains):
                yield Request(url, callback=self.parse, errback=self.failed)

    def no_sitemaps(self, failure: Failure) -> Iterator[PageError]:
        return iter(())  # no robots.txt is normal; a site that is down shows in its pages

    def failed(self, failure: Failure) -> Iterator[PageError]:
        if failure.check(IgnoreRequest) and not failure.check(HttpError) and (
                failure.check(OverPageLimit) or str(failure.value).startswith(DECIDED)):
            return  # robots.txt, the offsite rule or --max-pages said no; each is counted
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(HttpError):
            reason = f"HTTP {failure.value.response.status}"
        else:
            reason = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        yield PageError(request.url, reason)

