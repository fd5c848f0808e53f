"""Crawler error paths: hostile pages end as counted errors or a clean fallback, never an
exception that loses the page silently; --max-pages bounds what is actually fetched."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from twisted.python.failure import Failure

from crawler.budget import OverPageLimit
from crawler.extract import jsonld_nodes, page_headshot
from crawler.items import PageError
from crawler.spider import HeadshotSpider
from tests.crawl_helpers import SAMPLE_SITE, http_server, profile, run_crawl

QUICK = ["-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "DOWNLOAD_DELAY=0", "-s", "DOWNLOAD_TIMEOUT=5",
         "--workers", "1", "--allow-network", "127.0.0.1/32"]
AVATAR = (SAMPLE_SITE / "img/avatars/tom-becker.jpg").read_bytes()
DEEP = "[" * 100_000 + "]" * 100_000  # deeper than json's recursion limit


def spider(**settings: object) -> HeadshotSpider:
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(HeadshotSpider, {"DOWNLOAD_MAXSIZE": 1_000_000, **settings})
    return HeadshotSpider.from_crawler(crawler, seeds=["http://site.example/"])


def test_deeply_nested_json_ld_is_skipped_and_the_page_still_read() -> None:
    page = (f'<script type="application/ld+json">{DEEP}</script>'
            '<meta property="og:type" content="profile">'
            '<meta property="og:image" content="https://site.example/a.jpg">').encode()
    resp = HtmlResponse("https://site.example/u/a", body=page, encoding="utf-8")
    assert jsonld_nodes(resp) == []
    found = page_headshot(resp)
    assert found is not None and found.image_url == "https://site.example/a.jpg"


def test_deeply_nested_actor_is_a_page_error() -> None:
    resp = TextResponse("https://site.example/actor", body=DEEP.encode())
    out = list(spider().parse_actor(resp, page_url="https://site.example/u/a"))
    assert [type(o) for o in out] == [PageError]


def test_a_gzip_sitemap_bomb_is_a_page_error() -> None:
    bomb = gzip.compress(b"<" * 5_000_000)  # 5 MB of nothing in ~5 KB
    resp = Response("https://site.example/sitemap.xml.gz", body=bomb)
    out = list(spider().parse_sitemap(resp))
    assert len(out) == 1 and isinstance(out[0], PageError)
    assert "DOWNLOAD_MAXSIZE" in out[0].reason
    broken = Response("https://site.example/s.xml.gz", body=b"\x1f\x8b\x08" + bytes(30))
    assert [type(o) for o in spider().parse_sitemap(broken)] == [PageError]


def failure(exc: Exception) -> Failure:
    f = Failure(exc)
    f.request = Request("https://site.example/p")  # type: ignore[attr-defined]
    return f


def test_ignored_requests_are_errors_unless_a_rule_decided() -> None:
    s = spider()
    assert list(s.failed(failure(IgnoreRequest("Forbidden by robots.txt")))) == []
    assert list(s.failed(failure(IgnoreRequest("Filtered offsite request to 'x'")))) == []
    assert list(s.failed(failure(OverPageLimit("--max-pages 3 reached")))) == []
    for exc in (IgnoreRequest("max redirections reached"),
                IgnoreRequest("Ignored response <200 x> because its body exceeded "
                              "DOWNLOAD_MAXSIZE during decompression.")):
        assert [type(o) for o in s.failed(failure(exc))] == [PageError]


def test_hostile_pages_are_counted(tmp_path: Path) -> None:
    bomb = zlib.compress(b" " * 3_000_000, 9)
    routes = {
        "/p/good": profile("/img/good.jpg"),
        # a new URL every hop, past REDIRECT_MAX_TIMES (a 2-cycle would be a duplicate request)
        **{f"/p/loop{i}": (302, {"Location": f"/p/loop{i + 1}"}, b"") for i in range(25)},
        "/p/bomb": (200, {"Content-Type": "text/html", "Content-Encoding": "deflate"}, bomb),
        "/p/deep": (200, {"Content-Type": "text/html"},
                    f'<script type="application/ld+json">{DEEP}</script>'.encode()
                    + b'<img class="avatar" src="/img/good.jpg" width="200" height="200">'),
        "/img/good.jpg": (200, {"Content-Type": "image/jpeg"}, AVATAR),
    }
    links = "".join(f'<a href="{p}">x</a>' for p in ("/p/good", "/p/loop0", "/p/bomb",
                                                      "/p/deep"))
    routes["/"] = (200, {"Content-Type": "text/html"}, links.encode())
    with http_server("127.0.0.1", routes) as (port, _):
        result = run_crawl([f"http://127.0.0.1:{port}/", "--db", str(tmp_path / "s.db"), *QUICK,
                            "-s", "DOWNLOAD_MAXSIZE=1000000", "-s", "REDIRECT_MAX_TIMES=5"],
                           tmp_path / "stats.json")
    assert result.returncode == 0, result.stderr
    assert result.count("errors/page") == 2  # the redirect loop and the compression bomb
    assert result.count("photos_new") + result.count("photos_known") == 2  # good and deep
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr


def test_max_pages_counts_retries_and_redirects(tmp_path: Path) -> None:
    routes = {f"/p/{i}": (503, {}, b"busy") for i in range(10)}
    routes.update({f"/r/{i}": (302, {"Location": f"/p/{i}"}, b"") for i in range(10)})
    links = "".join(f'<a href="/r/{i}">x</a>' for i in range(10))
    routes["/"] = (200, {"Content-Type": "text/html"}, links.encode())
    with http_server("127.0.0.1", routes) as (port, asked):
        result = run_crawl([f"http://127.0.0.1:{port}/", "--db", str(tmp_path / "s.db"), *QUICK,
                            "--max-pages", "6", "-s", "RETRY_TIMES=2"],
                           tmp_path / "stats.json")
    assert result.returncode == 0, result.stderr
    assert len(asked) <= 6, asked
    assert result.count("pages_over_limit") > 0
    assert json.loads((tmp_path / "stats.json").read_text())["stats"][
        "headcheck/fetches/documents"] == len(asked)


def test_photos_a_detector_could_not_check_are_named_after_the_summary() -> None:
    from crawler.command import not_checked
    from crawler.runner import CrawlResult

    stats = {"headcheck/pages": 3, "headcheck/not_checked/diffusion.clip_probe": 2,
             "finish_reason": "finished"}
    assert not_checked(CrawlResult(stats, started=True)) == [
        "note: 2 photos not checked by the diffusion.clip_probe detector: it cannot run on "
        "this machine (see the log)"]
    assert not_checked(CrawlResult({"headcheck/pages": 3}, started=True)) == []
