"""The crawler's SSRF guard: the core's rules (``headcheck.netguard``) in Scrapy's two places.

A page names URLs (links, JSON-LD images, sitemap entries, ActivityPub actors) and the crawler
fetches them, so a page must not make it reach a loopback or private service. Two parts:

- ``GuardMiddleware`` sees every request, each redirect hop included (a redirect is a new
  request): http(s) only (no ``file:``, ``data:``, ``s3:``, ``ftp:``), no credentials, and an
  address given literally in the URL (``http://127.0.0.2/``) vetted, since Twisted connects to a
  literal without asking the resolver. Through an HTTP proxy the proxy's own address is vetted
  too; the proxy then resolves names itself, so it must apply its own rules.
- ``GuardedResolver`` is the reactor's resolver: a name's address is vetted before Twisted
  connects to that very address, so there is no second lookup to rebind.

Non-public networks are reachable only when listed in ``HEADCHECK_ALLOW_NETWORKS``
(``headcheck crawl --allow-network CIDR``); the bundled sample site opts in to its loopback host.
"""

from __future__ import annotations

from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.resolver import CachingThreadedResolver
from scrapy.settings import BaseSettings
from twisted.internet.defer import Deferred

from headcheck.netguard import Network, Refused, check_url, ip_literal, parse_networks, vet

SETTING = "HEADCHECK_ALLOW_NETWORKS"


def allowed_networks(settings: BaseSettings) -> list[Network]:
    return parse_networks(settings.getlist(SETTING), SETTING)


def _vet_literal(url: str, allow: list[Network]) -> None:
    host = urlsplit(url).hostname or ""
    ip = ip_literal(host)
    if ip is not None:
        vet(host, [str(ip)], allow)


class GuardMiddleware:
    """Refuses (an error the crawl counts, never a silent skip) what the rules forbid."""

    def __init__(self, allow: list[Network]) -> None:
        self.allow = allow

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(allowed_networks(crawler.settings))

    def process_request(self, request: Request) -> None:
        check_url(request.url)
        _vet_literal(request.url, self.allow)
        proxy = request.meta.get("proxy")
        if proxy:
            _vet_literal(proxy if "://" in proxy else f"http://{proxy}", self.allow)


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver (IPv4, ``DNS_TIMEOUT``) whose answers are vetted."""

    allow: list[Network] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> Self:
        resolver = super().from_crawler(crawler, reactor)
        resolver.allow = allowed_networks(crawler.settings)
        return resolver

    def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:  # noqa: N802
        def checked(address: str) -> str:
            vet(name, [address], self.allow)
            return address

        return super().getHostByName(name, timeout).addCallback(checked)


__all__ = ["GuardMiddleware", "GuardedResolver", "Refused", "allowed_networks"]
