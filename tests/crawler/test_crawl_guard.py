"""SSRF: a page cannot make the crawler reach a loopback or private service. The site under test
is on 127.0.0.2 (allowed with --allow-network); "internal services" listen on 127.0.0.1 and
127.0.0.3 and must never see a request, whether the page names them by address, by a name that
resolves to them, or through a redirect."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.command import crawl
from crawler.guard import GuardMiddleware
from headcheck.netguard import Refused
from tests.crawl_helpers import SAMPLE_SITE, http_server, profile, run_crawl

QUICK = ["-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "DOWNLOAD_DELAY=0", "-s", "DOWNLOAD_TIMEOUT=5",
         "-s", "RETRY_TIMES=0", "--workers", "1"]
AVATAR = (SAMPLE_SITE / "img/avatars/tom-becker.jpg").read_bytes()


def test_pages_cannot_point_the_crawler_at_internal_services(tmp_path: Path) -> None:
    secret = {"/admin/delete": (200, {"Content-Type": "image/jpeg"}, AVATAR),
              "/actor": (200, {"Content-Type": "application/activity+json"}, b"{}")}
    with http_server("127.0.0.1", secret) as (named_port, named_asked), \
            http_server("127.0.0.3", secret) as (port3, literal_asked):
        pages = {
            "/p/good": profile("/img/good.jpg"),
            # the case: a JSON-LD image naming an internal address
            "/p/literal": profile(f"http://127.0.0.3:{port3}/admin/delete?all=1"),
            "/p/named": profile(f"http://localhost:{named_port}/admin/delete?all=1"),
            "/p/actor": (200, {"Content-Type": "text/html"},
                         b'<link rel="alternate" type="application/activity+json" '
                         b'href="/actor-moved">'),
            "/actor-moved": (302, {"Location": f"http://127.0.0.3:{port3}/actor"}, b""),
            "/img/good.jpg": (200, {"Content-Type": "image/jpeg"}, AVATAR),
        }
        links = "".join(f'<a href="{p}">x</a>' for p in pages if p.startswith("/p/"))
        pages["/"] = (200, {"Content-Type": "text/html"}, links.encode())
        with http_server("127.0.0.2", pages) as (port, site_asked):
            result = run_crawl([f"http://127.0.0.2:{port}/", "--db", str(tmp_path / "s.db"),
                                *QUICK, "--allow-network", "127.0.0.2/32"],
                               tmp_path / "stats.json")
    assert result.returncode == 0, result.stderr
    assert named_asked == [] and literal_asked == []
    assert "/actor-moved" in site_asked  # the hop on the site is fine; the next one is refused
    assert result.count("photos_new") == 1
    assert result.count("errors/image_download") == 2
    assert result.count("errors/page") == 1
    assert "127.0.0.3 is a loopback address" in result.stderr
    assert "resolves to 127.0.0.1, which is a loopback address" in result.stderr


def test_a_loopback_site_is_refused_unless_allowed(tmp_path: Path) -> None:
    with http_server("127.0.0.2", {"/": profile("/img/good.jpg")}) as (port, asked):
        result = run_crawl([f"http://127.0.0.2:{port}/", "--db", str(tmp_path / "s.db"),
                            *QUICK], tmp_path / "stats.json")
    assert asked == []
    assert result.returncode == 1  # nothing could be read
    assert "loopback" in result.stderr


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "data:image/png;base64,AAAA", "ftp://127.0.0.1/x", "s3://bucket/x",
    "http://user:pw@example.com/x", "http://[::1]:8080/", "http://[::ffff:7f00:1]/",
    "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0/", "http://10.0.0.1/"])
def test_the_middleware_refuses_what_the_rules_forbid(url: str) -> None:
    from scrapy import Request

    with pytest.raises(Refused):
        GuardMiddleware([]).process_request(Request(url))


def test_a_proxy_on_loopback_needs_the_opt_in_too() -> None:
    from scrapy import Request

    req = Request("http://example.com/", meta={"proxy": "http://127.0.0.1:3128"})
    with pytest.raises(Refused):
        GuardMiddleware([]).process_request(req)


def test_allow_network_must_be_a_cidr(tmp_path: Path) -> None:
    out = CliRunner().invoke(crawl, ["http://example.com/", "--db", str(tmp_path / "s.db"),
                                     "--allow-network", "localhost"])
    assert out.exit_code == 2 and "CIDR" in out.output
