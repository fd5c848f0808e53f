"""Where to go next: on-site links of an HTML page, sitemap entries, robots.txt sitemaps."""

from __future__ import annotations

import struct
import zlib
from urllib.parse import urlsplit

from lxml.etree import LxmlError
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

# The default deny_extensions already skip images, archives and documents.
_LINKS = LinkExtractor(unique=True)


def on_site(url: str, domains: tuple[str, ...] | list[str]) -> bool:
    """The host is one of ``domains`` or under one, whatever the port (LinkExtractor's
    allow_domains compares host:port, so a site on a non-default port would match nothing)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith(f".{d}") for d in domains)


def page_links(response: TextResponse, allowed_domains: tuple[str, ...]) -> list[str]:
    """Followable on-site links: ``<a>``/``<area>`` without rel=nofollow, plus ``<link rel=next>``
    (pagination often lives only in the head)."""
    urls = [link.url for link in _LINKS.extract_links(response) if not link.nofollow]
    for link in response.xpath("//link[@href]"):
        if "next" in (link.attrib.get("rel") or "").lower().split():
            urls.append(response.urljoin(link.attrib["href"]))
    return [u for u in dict.fromkeys(urls) if on_site(u, allowed_domains)]


class BadSitemap(ValueError):
    """A gzipped sitemap that does not decompress, or decompresses past the size limit."""


def sitemap_entries(response: Response, max_size: int) -> tuple[str, list[str]]:
    """(``urlset`` or ``sitemapindex``, the ``<loc>`` URLs); ("", []) for anything else;
    BadSitemap for a gzip bomb or broken gzip."""
    body = response.body
    if gzip_magic_number(response):
        try:
            body = gunzip(body, max_size=max_size)
        except (OSError, EOFError, struct.error, zlib.error) as exc:
            raise BadSitemap(f"the gzipped sitemap does not decompress: {exc}") from None
        except Exception as exc:  # Scrapy's private _DecompressionMaxSizeExceeded
            if type(exc).__name__ != "_DecompressionMaxSizeExceeded":
                raise
            raise BadSitemap(f"the gzipped sitemap decompresses past DOWNLOAD_MAXSIZE "
                             f"({max_size} bytes)") from None
    try:
        sitemap = Sitemap(body)
    except (StopIteration, ValueError, LxmlError):  # empty or not XML
        return "", []
    if sitemap.type not in ("urlset", "sitemapindex"):
        return "", []
    return sitemap.type, [e["loc"] for e in sitemap if e.get("loc")]


def robots_sitemaps(response: TextResponse) -> list[str]:
    return list(sitemap_urls_from_robots(response.body, base_url=response.url))
