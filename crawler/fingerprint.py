"""Request fingerprints that tell content-negotiated documents apart.

A Mastodon-style profile URL serves HTML to browsers and the ActivityPub actor to
``Accept: application/activity+json``: the same URL, two documents. Scrapy's default fingerprint
ignores headers, so the actor request would be dropped as a duplicate of the page.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.utils.request import fingerprint


class AcceptAwareFingerprinter:
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AcceptAwareFingerprinter:
        return cls()

    def fingerprint(self, request: Request) -> bytes:
        return fingerprint(request, include_headers=["Accept"])
