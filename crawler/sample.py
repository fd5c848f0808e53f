"""The bundled sample site (``data/sample-site/``), served on 127.0.0.1 for a crawl.

Its pages live on the made-up host ``sample.headcheck.test`` (a reserved TLD that never resolves):
the server also acts as an HTTP proxy for that host, so page URLs in the store are the same on
every run, whatever port the server got, and a crawl that somehow bypassed the proxy could reach
nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .site_server import SiteServer

SAMPLE_SITE = Path(__file__).resolve().parent.parent / "data" / "sample-site"
SAMPLE_HOST = "sample.headcheck.test"
# Loopback is no one's server to be polite to; the rest of the defaults stay. The site (and its
# proxy) is on loopback, which the crawler refuses unless allowed: the sample opts in.
SAMPLE_SETTINGS = {"AUTOTHROTTLE_START_DELAY": 0.0, "DOWNLOAD_DELAY": 0.0,
                   "HEADCHECK_ALLOW_NETWORKS": ["127.0.0.1/32"]}


@contextmanager
def proxy_env(proxy_url: str) -> Iterator[None]:
    """Route this process's http:// requests through ``proxy_url`` (Scrapy reads the standard
    variables when a crawl starts)."""
    saved = {k: os.environ.get(k) for k in ("http_proxy", "no_proxy", "NO_PROXY")}
    os.environ.update({"http_proxy": proxy_url, "no_proxy": "", "NO_PROXY": ""})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def serve_sample(root: Path = SAMPLE_SITE, delay: float = 0.0) -> Iterator[SiteServer]:
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"no sample site in {root}: run data/sample-site/make_site.py")
    with SiteServer(root, host_alias=SAMPLE_HOST, delay=delay) as server, \
            proxy_env(server.address):
        yield server
