"""Shared helpers for the crawler tests: saved pages, a crawl in a subprocess, the store's rows."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

from scrapy.http import HtmlResponse

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "crawl_fixtures"
SAMPLE_SITE = ROOT / "data" / "sample-site"
SAMPLE_HOST = "http://sample.headcheck.test"
# Loopback crawls: no politeness delays, fail fast, and the test site's loopback address allowed
# (the crawler refuses non-public addresses unless told).
FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "DOWNLOAD_DELAY=0", "-s", "DOWNLOAD_TIMEOUT=10",
        "--allow-network", "127.0.0.1/32"]


# A copy of the store the README's main job (tests/crawler/test_crawl_site.py) left, kept for
# the rest of the session: a module that only reads such a store copies it instead of crawling
# the sample site again (the report's browser test).
_MAIN_JOB_STORE: list[Path] = []


def copy_store(src: Path, dest: Path) -> Path:
    """A consistent copy of a SQLite store (the backup API: committed pages, WAL included)."""
    a, b = sqlite3.connect(src), sqlite3.connect(dest)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()
    return dest


def keep_main_job_store(db: Path, keep: Path) -> None:
    _MAIN_JOB_STORE[:] = [copy_store(db, keep)]


def main_job_store(dest: Path) -> Path | None:
    """A copy of the main job's store at ``dest``; None if no test of this session ran it."""
    return copy_store(_MAIN_JOB_STORE[0], dest) if _MAIN_JOB_STORE else None


def saved_page(name: str, url: str) -> HtmlResponse:
    return HtmlResponse(url, body=(FIXTURES / name).read_bytes(), encoding="utf-8")


@dataclass
class Crawl:
    returncode: int
    stdout: str
    stderr: str
    stats: dict[str, Any]

    def count(self, key: str) -> int:
        return int(self.stats.get(f"headcheck/{key}", 0))


def crawl_env(proxy: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "no_proxy")}
    if proxy:
        env.update(http_proxy=proxy, no_proxy="")
    return env


def start_crawl(args: list[str], stats: Path, proxy: str | None = None) -> subprocess.Popen:
    """``headcheck crawl ARGS`` in a subprocess (a reactor runs once per process). Its output
    goes to files next to ``stats`` (a pipe nobody reads while it runs would fill and block)."""
    with stats.with_suffix(".out").open("w") as out, stats.with_suffix(".err").open("w") as err:
        return subprocess.Popen([sys.executable, "-m", "crawler", *args, "--stats", str(stats)],
                                cwd=ROOT, env=crawl_env(proxy), stdout=out, stderr=err)


# A hang guard, not a time bound: a crawl of a hundred photos takes minutes on a loaded machine.
CRAWL_TIMEOUT = 600


def finish_crawl(proc: subprocess.Popen, stats: Path, timeout: float = CRAWL_TIMEOUT) -> Crawl:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()  # never leave a crawler running behind a failed test
        proc.wait()
        raise
    data = json.loads(stats.read_text())["stats"] if stats.exists() else {}
    return Crawl(proc.returncode, stats.with_suffix(".out").read_text(),
                 stats.with_suffix(".err").read_text(), data)


def run_crawl(args: list[str], stats: Path, proxy: str | None = None) -> Crawl:
    return finish_crawl(start_crawl(args, stats, proxy), stats)


def expected_rows() -> list[dict[str, str]]:
    with (SAMPLE_SITE / "expected.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def sightings(db: Path) -> list[dict[str, Any]]:
    """The store's sightings with their photo's sha256 (read-only: the crawl is the writer)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    rows = con.execute(
        "SELECT p.sha256, s.page_url, s.image_url, s.profile_name, s.source, s.first_seen, "
        "s.last_seen, s.times_seen FROM sightings s JOIN photos p ON p.id = s.photo_id "
        "ORDER BY s.page_url, s.image_url").fetchall()
    con.close()
    return [dict(r) for r in rows]


def photo_count(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    n = con.execute("SELECT count(*) FROM photos").fetchone()[0]
    con.close()
    return n


@contextmanager
def http_server(host: str, routes: dict[str, tuple[int, dict[str, str], bytes]]
                ) -> Iterator[tuple[int, list[str]]]:
    """A server on ``host`` answering ``routes`` (404 elsewhere); yields (port, paths asked)."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            asked.append(self.path)
            status, headers, body = routes.get(self.path.split("?")[0], (404, {}, b""))
            self.send_response(status)
            for k, v in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], asked
    finally:
        server.shutdown()
        server.server_close()


def profile(image_url: str) -> tuple[int, dict[str, str], bytes]:
    person = {"@context": "https://schema.org", "@type": "Person", "name": "x",
              "image": image_url}
    return 200, {"Content-Type": "text/html"}, (
        f'<script type="application/ld+json">{json.dumps(person)}</script>').encode()
