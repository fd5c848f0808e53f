"""Bad pages and images are logged and counted, never fatal; a crawl that cannot work fails
with a message and a non-zero exit; usage errors exit 2."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from crawler.command import crawl
from crawler.site_server import SiteServer
from tests.crawl_helpers import FAST, SAMPLE_SITE, run_crawl, sightings

PROFILES = {  # page -> image (or None: the page itself is bad)
    "good": "good.jpg", "huge": "huge.jpg", "slow-image": "slow.jpg", "empty": "empty.jpg",
    "html-image": "html.jpg", "bomb": "bomb.png", "missing-image": "missing.jpg",
    "stalled": None, "gone": None,
}


def bad_site(root: Path) -> None:
    (root / "p").mkdir(parents=True)
    (root / "img").mkdir()
    links = "".join(f'<a href="/p/{name}.html">{name}</a> ' for name in PROFILES)
    (root / "index.html").write_text(f"<html><body>{links}</body></html>")
    for name, image in PROFILES.items():
        if name != "gone":
            person = {"@context": "https://schema.org", "@type": "Person", "name": name,
                      "image": f"/img/{image}"}
            (root / "p" / f"{name}.html").write_text(
                f'<script type="application/ld+json">{json.dumps(person)}</script>')
    (root / "img" / "good.jpg").write_bytes((SAMPLE_SITE / "img/avatars/tom-becker.jpg")
                                            .read_bytes())
    (root / "img" / "huge.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(3_000_000))
    (root / "img" / "slow.jpg").write_bytes((root / "img" / "good.jpg").read_bytes())
    (root / "img" / "empty.jpg").write_bytes(b"")
    (root / "img" / "html.jpg").write_text("<html><body>Not found</body></html>")
    # 100 megapixels in a few kilobytes: refused before decoding.
    Image.new("1", (10_000, 10_000)).save(root / "img" / "bomb.png")


def test_bad_pages_and_images_are_counted_not_fatal(tmp_path: Path) -> None:
    bad_site(tmp_path / "site")
    stalled = {"/img/slow.jpg": 4.0, "/p/stalled.html": 4.0}
    with SiteServer(tmp_path / "site", stalled=stalled) as server:
        result = run_crawl(
            [server.url("/"), "--db", str(tmp_path / "store.db"), *FAST,
             "-s", "DOWNLOAD_TIMEOUT=1", "-s", "RETRY_TIMES=0", "-s", "DOWNLOAD_MAXSIZE=1000000"],
            tmp_path / "stats.json")
    assert result.returncode == 0, result.stderr
    rows = sightings(tmp_path / "store.db")
    assert [(r["page_url"], r["profile_name"]) for r in rows] == [
        (server.url("/p/good.html"), "good")]
    # Too large, too slow, empty, missing (404): not downloaded. Not an image, a
    # decompression bomb: refused by the analyser. A page that stalls and one that is gone.
    assert result.count("errors/image_download") == 4
    assert result.count("errors/image_invalid") == 2
    assert result.count("errors/page") == 2
    assert result.count("profiles") == 7
    assert "not an image" in result.stderr and "too many pixels" in result.stderr


def test_a_crawl_that_reads_nothing_fails(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_crawl([f"http://127.0.0.1:{port}/", "--db", str(tmp_path / "store.db"), *FAST,
                        "-s", "RETRY_TIMES=0"], tmp_path / "stats.json")
    assert result.returncode == 1
    assert "no page could be read" in result.stderr
    assert result.count("errors/page") == 1


def test_an_unusable_store_fails_before_crawling(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    r = CliRunner().invoke(crawl, ["https://a.example/", "--db", str(tmp_path / "file" / "x.db")])
    assert r.exit_code == 1 and "cannot use" in r.output


@pytest.mark.parametrize("args, message", [
    ([], "nothing to crawl"),
    (["--sample", "https://a.example/"], "give no SEEDS"),
    (["ftp://a.example/"], "http(s) URLs"),
    (["https://a.example/", "-s", "NO_EQUALS"], "NAME=VALUE"),
])
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    r = CliRunner().invoke(crawl, [*args, "--db", str(tmp_path / "x.db")])
    assert r.exit_code == 2 and message in r.output


def test_seeds_file(tmp_path: Path) -> None:
    from crawler.command import read_seeds

    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# our sites\nhttps://a.example/team\n\n  https://b.example/  \n"
                     "https://a.example/team\n")
    assert read_seeds(("https://c.example/",), str(seeds)) == [
        "https://c.example/", "https://a.example/team", "https://b.example/"]
