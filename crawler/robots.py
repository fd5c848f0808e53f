"""Scrapy's RobotsTxtMiddleware, with every request that waits for robots.txt checked against it.

In Scrapy 2.19 the requests that arrive while a site's robots.txt is still downloading all await
the same Deferred as an asyncio future; converting a Deferred to a future consumes its result, so
only the first of them gets the parser and the others get None, which the middleware reads as
"no robots.txt": they are fetched even when disallowed. It happens whenever a crawl starts with
several requests to one site, e.g. a resumed job. Here each waiter gets its own copy of the result.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxt
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class RobotsTxtMiddleware(ScrapyRobotsTxt):
    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        mine: Deferred[RobotParser | None] = Deferred()

        def share(parser: RobotParser | None) -> RobotParser | None:
            mine.callback(parser)
            return parser  # left for the next waiter

        pending.addCallback(share)
        return await maybe_deferred_to_future(mine)
